import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { squaredEuclideanCost } from '../../lib/ot/cost';
import { REFERENCE_SINKHORN, sinkhorn } from '../../lib/ot/sinkhorn';
import { Rng } from '../../lib/random';
import { Mat, cost64, flat, randomFeatures, referenceSinkhorn64 } from './float64';

/** Features of 4 problems of 16 x 16 positions, their float64 costs and the float32 cost tensor. */
function problem(seed: number, c: number, scale: number): { C: Mat[]; cost: tf.Tensor3D } {
  const rng = new Rng(seed);
  const a = randomFeatures(rng, 4, 16, c, scale);
  const b = randomFeatures(rng, 4, 16, c, scale);
  const cost = tf.tidy(() => squaredEuclideanCost(tf.tensor3d(a), tf.tensor3d(b)));
  return { C: a.map((ab, k) => cost64(ab, b[k])), cost };
}

describe('ot/reference: the authors\' Sinkhorn', () => {
  it('has the authors\' settings: eps 0.1, 100 iterations, threshold 0.1', () => {
    assert.deepEqual([REFERENCE_SINKHORN.eps, REFERENCE_SINKHORN.maxIter, REFERENCE_SINKHORN.threshold], [0.1, 100, 0.1]);
  });

  it('stops at the same iteration as a float64 transcription of their loop, for any check interval', () => {
    // Small features: their rule fires after 28 iterations (float64 err 0.0948; 0.1074 one step before).
    const { C, cost } = problem(7, 8, 0.6);
    const want = referenceSinkhorn64(C, 0.1, 100, 0.1);
    assert.equal(want.iterations, 28);
    for (const checkEvery of [1, 5, 10, 100]) {
      const before = tf.memory().numTensors;
      const { plan, diagnostics: d } = sinkhorn(cost, { solver: 'reference', checkEvery, warn: false });
      assert.equal(d.iterations, 28, `checkEvery ${checkEvery}`);
      assert.equal(d.stoppedBy, 'tolerance');
      assert.ok(Math.abs((d.potentialChange as number) - want.err) < 1e-5);
      const got = plan.dataSync();
      const exp = flat(want.plans);
      got.forEach((p, i) => assert.ok(Math.abs(p - exp[i]) <= 1e-6 + 1e-4 * exp[i], `entry ${i}: ${p} vs ${exp[i]}`));
      plan.dispose();
      assert.equal(tf.memory().numTensors, before);
    }
    cost.dispose();
  });

  it('reproduces the non-converged plan on unit-scale 512-d features and reports its marginal error', () => {
    const { C, cost } = problem(7, 512, 1);
    const want = referenceSinkhorn64(C, 0.1, 100, 0.1);
    assert.equal(want.iterations, 100);
    const warnings: string[] = [];
    const { plan, diagnostics: d } = sinkhorn(cost, { solver: 'reference', warn: (m) => warnings.push(m) });
    assert.equal(d.iterations, 100);
    assert.equal(d.stoppedBy, 'maxIter');
    assert.ok(d.scaledCostRange > 2000, `C/eps spread ${d.scaledCostRange}`);
    // float32 vs float64 with exponents ~1e4: entries agree to ~1% relative, the plan to ~2e-4 in L1.
    const got = Array.from(plan.dataSync());
    const exp = flat(want.plans);
    plan.dispose();
    cost.dispose();
    assert.ok(got.reduce((s, p, i) => s + Math.abs(p - exp[i]), 0) < 1e-3);
    // Row sums far from 1/16, column sums exact up to the 1e-8 and round-off: as the original.
    const rowErr = (P: number[]) => Math.max(...[0, 1, 2, 3].map((b) =>
      Array.from({ length: 16 }, (_, i) => Math.abs(P.slice(b * 256 + i * 16, b * 256 + i * 16 + 16).reduce((s, x) => s + x, 0) - 1 / 16)).reduce((s, x) => s + x, 0)));
    assert.ok(rowErr(exp) > 0.1, `float64 row error ${rowErr(exp)}`);
    assert.ok(Math.abs(d.rowError - rowErr(exp)) < 1e-3, `${d.rowError} vs ${rowErr(exp)}`);
    assert.ok(d.colError < 2e-5);
    assert.equal(d.converged, false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /sinkhorn\(reference\).*after 100 iterations \(stopped by maxIter\).*row error 0\.\d+/);
  });

  it('with maxIter 0 returns the unnormalised kernel exp(-C/eps), as their loop would', () => {
    const { C, cost } = problem(3, 4, 0.1);
    const { plan, diagnostics: d } = sinkhorn(cost, { solver: 'reference', maxIter: 0, warn: false });
    const got = plan.dataSync();
    flat(C.map((m) => m.map((row) => row.map((c) => Math.exp(-c / 0.1))))).forEach((k, i) => assert.ok(Math.abs(got[i] - k) < 1e-5 * (1 + k)));
    assert.equal(d.iterations, 0);
    tf.dispose([plan, cost]);
  });

  it('rejects options of the balanced solvers and a bad threshold', () => {
    const cost = tf.zeros([1, 2, 2]) as tf.Tensor3D;
    assert.throws(() => sinkhorn(cost, { solver: 'reference', exactMarginal: 'rows' } as never), /unknown option 'exactMarginal'/);
    assert.throws(() => sinkhorn(cost, { solver: 'reference', threshold: 0 }), /threshold must be a finite number > 0/);
    cost.dispose();
  });
});
