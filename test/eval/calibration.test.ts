import { strict as assert } from 'assert';
import { Rng } from '../../lib/random';
import { calibration, predictionCalibration } from '../../lib/eval/calibration';

const close = (a: number | null, b: number, tol = 1e-12) => assert.ok(a !== null && Math.abs(a - b) <= tol, `${a} != ${b}`);

describe('eval/calibration: ECE, OE, reliability bins', () => {
  // 4 bins: (0, .25], (.25, .5], (.5, .75], (.75, 1] (edges exact in binary).
  const confidence = [0.3, 0.4, 0.5, 0.6, 0.9, 1.0];
  const correct = [1, 0, 0, 1, 1, 1];

  it('ECE and OE equal the hand-computed values', () => {
    // bin 1 = {.3, .4, .5}: conf .4, acc 1/3;  bin 2 = {.6}: conf .6, acc 1;  bin 3 = {.9, 1}: conf .95, acc 1.
    // ECE = 3/6 |1/3 - .4| + 1/6 |1 - .6| + 2/6 |1 - .95| = 1/30 + 1/15 + 1/60 = 7/60
    // OE  = 3/6 * .4 * (.4 - 1/3) + 0 + 0 = 1/75
    const r = calibration(confidence, correct, { bins: 4 });
    close(r.ece, 7 / 60);
    close(r.oe, 1 / 75);
    assert.equal(r.n, 6);
  });

  it('a confidence on an inner edge goes to the bin below (right-closed bins)', () => {
    const r = calibration(confidence, correct, { bins: 4 });
    assert.deepEqual(r.reliability.map((b) => b.count), [0, 3, 1, 2]);
    close(r.reliability[1].meanConfidence, 0.4);
    close(r.reliability[1].accuracy, 1 / 3);
    close(r.reliability[1].gap, 0.4 - 1 / 3);
    // 0.25 -> bin 0, 0.75 -> bin 2, 1 -> bin 3, 0 -> bin 0; just above an edge -> the bin above.
    const edges = calibration([0, 0.25, 0.25 + 1e-12, 0.75, 1], [1, 1, 1, 1, 1], { bins: 4 });
    assert.deepEqual(edges.reliability.map((b) => b.count), [2, 1, 1, 1]);
    // 15 bins: c = 2/15 exactly is the upper edge of bin 1.
    const fifteen = calibration([2 / 15, 2 / 15 + 1e-9], [1, 1]);
    assert.equal(fifteen.reliability[1].count, 1);
    assert.equal(fifteen.reliability[2].count, 1);
    assert.equal(fifteen.reliability.length, 15);
  });

  it('bins are plot-ready: edges, empty bins null, gap = confidence - accuracy', () => {
    const r = calibration(confidence, correct, { bins: 4 });
    assert.deepEqual(r.reliability.map((b) => [b.index, b.lower, b.upper]), [[0, 0, 0.25], [1, 0.25, 0.5], [2, 0.5, 0.75], [3, 0.75, 1]]);
    assert.equal(r.reliability[0].meanConfidence, null);
    assert.equal(r.reliability[0].accuracy, null);
    assert.equal(r.reliability[0].gap, null);
    close(r.reliability[3].gap, 0.95 - 1);
  });

  it('keeps confidence and correctness paired (independent sorting would give 0.2, not 0.8)', () => {
    // Right pairing: bin (.25,.5] holds {.3, correct} -> |1 - .3| = .7; bin (.75, 1] holds {.9, wrong} -> .9.
    // ECE = .5*.7 + .5*.9 = .8. Sorting correctness separately would pair .3 with 0 and .9 with 1:
    // .5*.3 + .5*.1 = .2.
    const r = calibration([0.3, 0.9], [true, false], { bins: 4 });
    close(r.ece, 0.8);
    close(r.oe, 0.5 * 0.9 * 0.9);
  });

  it('matches a direct float64 computation on random predictions (15 bins)', () => {
    const rng = new Rng(7);
    const n = 500;
    const conf = Array.from({ length: n }, () => 0.1 + 0.9 * rng.uniform());
    const ok = conf.map((c) => (rng.uniform() < c * 0.8 ? 1 : 0));
    let ece = 0;
    let oe = 0;
    for (let b = 0; b < 15; b++) {
      const idx = conf.map((c, i) => [c, i] as const).filter(([c]) => c > b / 15 && c <= (b + 1) / 15).map(([, i]) => i);
      if (!idx.length) continue;
      const cm = idx.reduce((s, i) => s + conf[i], 0) / idx.length;
      const am = idx.reduce((s, i) => s + ok[i], 0) / idx.length;
      ece += (idx.length / n) * Math.abs(cm - am);
      oe += (idx.length / n) * cm * Math.max(cm - am, 0);
    }
    const r = calibration(conf, ok);
    close(r.ece, ece, 1e-12);
    close(r.oe, oe, 1e-12);
    assert.equal(r.reliability.reduce((s, b) => s + b.count, 0), n);
  });

  it('predictionCalibration pairs correctness from labels and predictions', () => {
    const r = predictionCalibration({ labels: [0, 1, 2, 2, 1, 0], predicted: [0, 2, 1, 2, 1, 0], confidence });
    const direct = calibration(confidence, [1, 0, 0, 1, 1, 1]);
    close(r.ece, direct.ece);
    close(r.oe, direct.oe);
  });

  it('rejects bad input with clear errors', () => {
    assert.throws(() => calibration([], []), /calibration: no predictions/);
    assert.throws(() => calibration([0.5, 0.6], [1]), /confidence has 2 entries but correct has 1/);
    assert.throws(() => calibration([0.5, NaN], [1, 0]), /confidence\[1\] must be a number in \[0, 1\], got NaN/);
    assert.throws(() => calibration([1.5], [1]), /confidence\[0\] must be a number in \[0, 1\], got 1.5/);
    assert.throws(() => calibration([0.5], [2]), /correct\[0\] must be a boolean or 0\/1, got 2/);
    assert.throws(() => calibration([0.5], [1], { bins: 0 }), /bins must be an integer in 1\.\.inf, got 0/);
    assert.throws(() => predictionCalibration({ labels: [0], predicted: [0, 1], confidence: [0.5] }), /labels has 1 entries but predicted has 2/);
  });
});
