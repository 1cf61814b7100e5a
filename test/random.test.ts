import { strict as assert } from 'assert';
import { Rng } from '../lib/random';

describe('Rng', () => {
  it('is reproducible from a seed and restores its state exactly', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    for (let i = 0; i < 10; i++) assert.equal(a.nextUint32(), b.nextUint32());
    const state = a.getState();
    const next = [a.uniform(), a.beta(2, 2), a.int(7)];
    const c = new Rng(state);
    assert.deepEqual([c.uniform(), c.beta(2, 2), c.int(7)], next);
  });

  it('gives different streams for different seeds and forks', () => {
    const a = new Rng(1);
    const b = new Rng(2);
    assert.notEqual(a.nextUint32(), b.nextUint32());
    const f1 = a.fork('data');
    const f2 = a.fork('mix');
    assert.notEqual(f1.nextUint32(), f2.nextUint32());
  });

  it('matches the moments of Beta(a, b) and Gamma(k)', () => {
    const rng = new Rng(7);
    const n = 40000;
    for (const [a, b] of [[2, 2], [0.4, 0.4], [1, 3]]) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const x = rng.beta(a, b);
        assert.ok(x >= 0 && x <= 1);
        s += x;
        s2 += x * x;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      const m = a / (a + b);
      const v = (a * b) / ((a + b) ** 2 * (a + b + 1));
      // 5 standard errors of the mean / variance estimates.
      assert.ok(Math.abs(mean - m) < 5 * Math.sqrt(v / n), `Beta(${a},${b}) mean ${mean} vs ${m}`);
      assert.ok(Math.abs(variance - v) < 0.05 * v + 1e-4, `Beta(${a},${b}) var ${variance} vs ${v}`);
    }
  });

  it('draws uniform permutations (chi-square over the 6 permutations of 3)', () => {
    const rng = new Rng(3);
    const counts = new Map<string, number>();
    const n = 6000;
    for (let i = 0; i < n; i++) {
      const k = rng.permutation(3).join('');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.equal(counts.size, 6);
    let chi2 = 0;
    for (const c of counts.values()) chi2 += (c - n / 6) ** 2 / (n / 6);
    assert.ok(chi2 < 20.5, `chi2 ${chi2} (df 5, p=0.001 critical value 20.5)`); // chi2_{5,0.999}
  });

  it('rejects bad arguments with a clear message', () => {
    const rng = new Rng(0);
    assert.throws(() => rng.int(0), /n must be an integer/);
    assert.throws(() => rng.gamma(-1), /shape must be > 0/);
    assert.throws(() => rng.categorical([0, 0]), /sum to 0/);
    assert.throws(() => new Rng([0, 0, 0, 0]), /all zero/);
  });
});
