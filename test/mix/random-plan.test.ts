import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { RANDOM_PLAN_KINDS, mixWithRandomPlan, randomPlan } from '../../lib/mix/random-plan';
import { Rng } from '../../lib/random';
import { flat, maxAbsDiff, randomFeatures } from '../ot/float64';

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const rows3 = (x: tf.Tensor) => (tf.reshape(x, [x.shape[0], -1, x.shape[x.rank - 1]]) as tf.Tensor3D).arraySync();
const colSums = (P: number[][]) => P[0].map((_, j) => sum(P.map((row) => row[j])));

describe('mix/random-plan: the random-plan controls', () => {
  it('random-plan: positive, marginals 1/r (the direction\'s side exact), and the Gibbs plan of the drawn uniform cost', () => {
    const r = 9;
    for (const direction of ['aToB', 'bToA'] as const) {
      const { plan, diagnostics } = randomPlan('random-plan', 3, r, new Rng(5), { direction, sinkhorn: { epsMode: 'absolute', eps: 0.2, tol: 1e-5, maxIter: 500, warn: false } });
      const P = plan.arraySync();
      plan.dispose();
      assert.ok(diagnostics && diagnostics.converged, `solver converged on the random cost (${direction})`);
      // The cost it was solved for: the same uniforms, drawn again from the same seed.
      const rng = new Rng(5);
      const C = P.map(() => Array.from({ length: r }, () => Array.from({ length: r }, () => rng.uniform())));
      P.forEach((Pk, k) => {
        const rows = Pk.map(sum);
        const cols = colSums(Pk);
        const exact = direction === 'aToB' ? rows : cols;
        const other = direction === 'aToB' ? cols : rows;
        exact.forEach((s) => assert.ok(Math.abs(r * s - 1) < 1e-5, `exact side: ${r * s}`));
        assert.ok(sum(other.map((s) => Math.abs(s - 1 / r))) <= 1e-5, 'other side within the tolerance');
        Pk.forEach((row) => row.forEach((p) => assert.ok(p > 0)));
        // Gibbs form P_ij = u_i exp(-C_ij / eps) v_j: the double difference of log P is that of -C / eps.
        const eps = diagnostics!.eps[k];
        for (let i = 1; i < r; i++) {
          for (let j = 1; j < r; j++) {
            const lhs = Math.log(Pk[i][j]) - Math.log(Pk[i][0]) - Math.log(Pk[0][j]) + Math.log(Pk[0][0]);
            const rhs = -(C[k][i][j] - C[k][i][0] - C[k][0][j] + C[k][0][0]) / eps;
            assert.ok(Math.abs(lhs - rhs) < 1e-3 * Math.max(1, Math.abs(rhs)), `(${i}, ${j}): ${lhs} vs ${rhs}`);
          }
        }
      });
    }
  });

  it('random-permutation: one entry 1/r per row and column; A~ is the partner\'s vectors permuted exactly', () => {
    const [B, h, w, c] = [2, 2, 3, 4];
    const r = h * w;
    const featRng = new Rng(1);
    const a = tf.tensor4d(flat(randomFeatures(featRng, B, r, c)), [B, h, w, c]);
    const b = tf.tensor4d(flat(randomFeatures(featRng, B, r, c)), [B, h, w, c]);
    const sigma = [new Rng(7).permutation(r)];
    const drawn = randomPlan('random-permutation', B, r, new Rng(7));
    const P = drawn.plan.arraySync();
    drawn.plan.dispose();
    // The plan's permutation of problem 0 is the first permutation the same seed gives.
    const entry = Math.fround(1 / r);
    P[0].forEach((row, i) => row.forEach((p, j) => assert.equal(p, j === sigma[0][i] ? entry : 0)));
    const perms = P.map((Pk) => Pk.map((row) => row.indexOf(entry)));
    perms.forEach((s) => assert.deepEqual([...s].sort((x, y) => x - y), [...Array(r).keys()]));
    // lambda = 0: the mix is A~ (aToB) = partner rows permuted: row i = b_{sigma(i)}, bit for bit.
    const aRows = rows3(a);
    const bRows = rows3(b);
    const fwd = mixWithRandomPlan(a, b, 0, 'random-permutation', new Rng(7), { direction: 'aToB' });
    assert.deepEqual(rows3(fwd.mixed), bRows.map((m, k) => perms[k].map((j) => m[j])));
    // lambda = 1 in bToA: A~' = A R, row j = a_i with sigma(i) = j.
    const bwd = mixWithRandomPlan(a, b, 1, 'random-permutation', new Rng(7), { direction: 'bToA' });
    const want = aRows.map((m, k) => m.map((_, j) => m[perms[k].indexOf(j)]));
    assert.deepEqual(rows3(bwd.mixed), want);
    tf.dispose([a, b, fwd.mixed, fwd.plan, bwd.mixed, bwd.plan]);
  });

  it('seeded: the same rng state gives the same plan, another seed a different one; the rng advances', () => {
    for (const kind of RANDOM_PLAN_KINDS) {
      const rng = new Rng(3);
      const p1 = randomPlan(kind, 2, 16, new Rng(3), { sinkhorn: { warn: false } }).plan;
      const p2 = randomPlan(kind, 2, 16, rng, { sinkhorn: { warn: false } }).plan;
      const p3 = randomPlan(kind, 2, 16, rng, { sinkhorn: { warn: false } }).plan;
      assert.deepEqual(p1.dataSync(), p2.dataSync(), `${kind}: same seed, same plan`);
      assert.ok(maxAbsDiff(p1.dataSync(), p3.dataSync()) > 1e-3, `${kind}: the next draw differs`);
      tf.dispose([p1, p2, p3]);
    }
  });

  it('no gradient through the plan: d mix / d(A, A\') is the constant-plan closed form', () => {
    const [B, h, w, c] = [2, 2, 2, 3];
    const r = h * w;
    const featRng = new Rng(11);
    const a = tf.tensor4d(flat(randomFeatures(featRng, B, r, c)), [B, h, w, c]);
    const b = tf.tensor4d(flat(randomFeatures(featRng, B, r, c)), [B, h, w, c]);
    const W = tf.tensor4d(flat(randomFeatures(featRng, B, r, c)), [B, h, w, c]);
    const lambda = 0.3;
    for (const kind of RANDOM_PLAN_KINDS) {
      let plan: tf.Tensor3D | undefined;
      const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => {
        const m = mixWithRandomPlan(x as tf.Tensor4D, y as tf.Tensor4D, lambda, kind, new Rng(2), { direction: 'aToB', sinkhorn: { warn: false } });
        plan = tf.keep(m.plan);
        return tf.sum(tf.mul(m.mixed, W));
      })([a, b]);
      // mixed rows = lambda A + (1 - lambda) R B  =>  dA = lambda W,  dB = (1 - lambda) R^T W  (R = r P, constant)
      const R = plan!.arraySync().map((Pk) => Pk.map((row) => row.map((p) => r * p)));
      const Wr = rows3(W);
      const wantB = R.map((Rk, k) => Rk[0].map((_, j) => Wr[k][0].map((__, ch) => (1 - lambda) * sum(Rk.map((row, i) => row[j] * Wr[k][i][ch])))));
      assert.ok(maxAbsDiff(ga.dataSync(), flat(Wr).map((v) => lambda * v)) < 1e-6, `${kind}: dA`);
      assert.ok(maxAbsDiff(gb.dataSync(), flat(wantB)) < 1e-5, `${kind}: dA'`);
      tf.dispose([ga, gb, plan!]);
    }
    tf.dispose([a, b, W]);
  });
});
