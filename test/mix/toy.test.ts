import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { toyAlignment, toyPointSets } from '../../lib/mix/toy';
import { cost64, hungarian, maxAbsDiff } from '../ot/float64';

const flat2 = (m: number[][]) => m.flat();

describe('mix/toy: the Fig. 4 example', () => {
  it('is deterministic in the seed and returns plain arrays of the right sizes', () => {
    const before = tf.memory().numTensors;
    const t = toyAlignment({ lambdas: [0, 0.5, 1] });
    assert.equal(tf.memory().numTensors, before);
    assert.deepEqual(toyPointSets(4, 16), { a: t.a, b: t.b });
    assert.notDeepEqual(toyPointSets(5, 16).a, t.a);
    assert.equal(t.a.length, 16);
    assert.equal(t.pathAToB.length, 3);
    assert.ok(Array.isArray(t.planAToB[0]) && typeof t.planAToB[0][0] === 'number');
    assert.ok(t.diagnostics.aToB.converged && t.diagnostics.bToA.converged);
  });

  it('cost, aligned sets and paths agree with float64 recomputation from the returned plans', () => {
    const t = toyAlignment({ lambdas: [0, 0.25, 1] });
    const dCost = maxAbsDiff(flat2(t.cost), flat2(cost64(t.a, t.b)));
    assert.ok(dCost < 1e-4, `cost ${dCost}`);
    const R = t.planAToB.map((row) => row.map((p) => 16 * p));
    const Rb = t.planBToA.map((row) => row.map((p) => 16 * p));
    const aAligned = R.map((row) => [0, 1].map((d) => row.reduce((s, r, j) => s + r * t.b[j][d], 0)));
    const bAligned = Rb[0].map((_, j) => [0, 1].map((d) => Rb.reduce((s, row, i) => s + row[j] * t.a[i][d], 0)));
    const dA = maxAbsDiff(flat2(t.aAligned), flat2(aAligned));
    const dB = maxAbsDiff(flat2(t.bAligned), flat2(bAligned));
    assert.ok(dA < 1e-5 && dB < 1e-5, `aligned ${dA}, ${dB}`);
    // float32 exponents up to ~400 in magnitude: round-off ~1e-5 in each row sum.
    R.forEach((row) => assert.ok(Math.abs(row.reduce((s, x) => s + x, 0) - 1) < 1e-4, `row sum ${row.reduce((s, x) => s + x, 0)}`));
    // Endpoints: lambda 1 is A (resp. A~'), lambda 0 is A~ (resp. A'); 0.25 in between.
    assert.ok(maxAbsDiff(flat2(t.pathAToB[2]), flat2(t.a)) < 1e-6);
    assert.ok(maxAbsDiff(flat2(t.pathAToB[0]), flat2(t.aAligned)) < 1e-6);
    assert.ok(maxAbsDiff(flat2(t.pathBToA[2]), flat2(t.bAligned)) < 1e-6);
    assert.ok(maxAbsDiff(flat2(t.pathBToA[0]), flat2(t.b)) < 1e-6);
    assert.ok(maxAbsDiff(flat2(t.pathAToB[1]), t.a.flatMap((p, i) => p.map((x, d) => 0.25 * x + 0.75 * t.aAligned[i][d]))) < 1e-6);
  });

  it('the alignment finds the optimal correspondence of an exact (Hungarian) solver, not the index pairing', () => {
    const t = toyAlignment();
    const exact = hungarian(t.cost);
    const byIndex = t.cost.reduce((s, row, i) => s + row[i], 0);
    assert.ok(byIndex > 1.1 * exact.cost, 'test data: index pairing should be far from optimal');
    // Entropic plan cost r <P, C> is within 2% of the optimal assignment's.
    const planCost = 16 * t.planAToB.reduce((s, row, i) => s + row.reduce((u, p, j) => u + p * t.cost[i][j], 0), 0);
    assert.ok(planCost < 1.02 * exact.cost, `plan ${planCost} vs optimum ${exact.cost}`);
    // Every row of R puts its largest weight on the optimal partner.
    t.planAToB.forEach((row, i) => assert.equal(row.indexOf(Math.max(...row)), exact.perm[i], `row ${i}`));
  });

  it('rejects bad options', () => {
    assert.throws(() => toyAlignment({ points: 10 }), /toyAlignment: points must be a multiple of 4, got 10/);
    assert.throws(() => toyAlignment({ lambdas: [0, 2] }), /lambdas\[1\] must be in \[0, 1\], got 2/);
    assert.throws(() => toyAlignment({ seeds: 1 } as never), /unknown option 'seeds'/);
  });
});
