import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { SinkhornDiagnostics } from '../../lib/ot/diagnostics';
import { BalancedSinkhornOptions, DEFAULT_SINKHORN, SinkhornOptions, logScalings, sinkhorn } from '../../lib/ot/sinkhorn';
import { Rng } from '../../lib/random';
import { Mat, bruteForceAssignment, cost64, flat, maxAbsDiff, randomFeatures, sinkhornLog64 } from './float64';

/** Costs [B, r, r'] of random features, as float64 arrays and as a tensor holding the same float32 values. */
function randomCosts(seed: number, batch: number, r: number, rp: number, c: number, scale = 1): { C: Mat[]; tensor: tf.Tensor3D } {
  const rng = new Rng(seed);
  const a = randomFeatures(rng, batch, r, c, scale);
  const b = randomFeatures(rng, batch, rp, c, scale);
  const C = a.map((ab, k) => cost64(ab, b[k]).map((row) => row.map(Math.fround)));
  return { C, tensor: tf.tensor3d(C) };
}

/** Solve and read back: plan as nested arrays, diagnostics; checks that nothing leaks. */
function solve(cost: tf.Tensor3D, options: SinkhornOptions): { plan: Mat[]; d: SinkhornDiagnostics } {
  const before = tf.memory().numTensors;
  const { plan, diagnostics } = sinkhorn(cost, { warn: false, ...options });
  const arr = plan.arraySync();
  plan.dispose();
  assert.equal(tf.memory().numTensors, before, `tensors leaked by ${JSON.stringify(options)}`);
  return { plan: arr, d: diagnostics };
}

/** Per-problem L1 marginal errors computed in float64. */
function marginalErrors64(plans: Mat[]): { row: number[]; col: number[] } {
  return {
    row: plans.map((P) => P.reduce((s, row) => s + Math.abs(row.reduce((t, x) => t + x, 0) - 1 / P.length), 0)),
    col: plans.map((P) => P[0].reduce((s, _, j) => s + Math.abs(P.reduce((t, row) => t + row[j], 0) - 1 / P[0].length), 0)),
  };
}

describe('ot/sinkhorn', () => {
  let costs: { C: Mat[]; tensor: tf.Tensor3D };
  before(() => { costs = randomCosts(11, 6, 8, 5, 16); });
  after(() => costs.tensor.dispose());

  for (const solver of ['log', 'exp'] as const) {
    for (const exactMarginal of ['rows', 'cols'] as const) {
      it(`${solver}, exact ${exactMarginal}: marginals within tol and diagnostics equal to float64 marginal errors`, () => {
        const tol = 1e-4;
        const { plan, d } = solve(costs.tensor, { solver, exactMarginal, tol, maxIter: 500 });
        const e = marginalErrors64(plan);
        assert.ok(d.converged && d.stoppedBy === 'tolerance', JSON.stringify(d));
        e.row.forEach((x) => assert.ok(x <= tol * 1.01, `row error ${x}`));
        e.col.forEach((x) => assert.ok(x <= tol * 1.01, `col error ${x}`));
        // The exact side is exact up to float32 round-off.
        (exactMarginal === 'rows' ? e.row : e.col).forEach((x) => assert.ok(x < 2e-6, `exact side ${x}`));
        assert.ok(Math.abs(d.rowError - Math.max(...e.row)) < 1e-6 && Math.abs(d.colError - Math.max(...e.col)) < 1e-6);
        assert.ok(d.iterations % 10 === 0 && d.iterations > 0 && d.iterations < 500);
        assert.ok(plan.every((P) => P.every((row) => row.every((x) => x >= 0))));
      });
    }
  }

  it('log and exp plans equal the float64 textbook iteration at a fixed iteration count', () => {
    const eps = 2; // absolute: spread/eps ~ 40, stable for both
    const want = costs.C.map((C) => sinkhornLog64(C, eps, 37));
    for (const solver of ['log', 'exp'] as const) {
      const { plan, d } = solve(costs.tensor, { solver, eps, epsMode: 'absolute', maxIter: 37, tol: 0 });
      assert.equal(d.iterations, 37);
      assert.equal(d.stoppedBy, 'maxIter');
      assert.ok(maxAbsDiff(flat(plan), flat(want)) < 2e-6, `${solver}: ${maxAbsDiff(flat(plan), flat(want))}`);
    }
  });

  it('the check interval changes only when the loop may stop, not the iterates', () => {
    const a = solve(costs.tensor, { maxIter: 23, tol: 0, checkEvery: 1 });
    const b = solve(costs.tensor, { maxIter: 23, tol: 0, checkEvery: 7 });
    assert.equal(maxAbsDiff(flat(a.plan), flat(b.plan)), 0);
    // With checkEvery 1 it stops at the first iteration that meets tol: one fewer does not.
    const first = solve(costs.tensor, { tol: 1e-4, maxIter: 500, checkEvery: 1 });
    const before = solve(costs.tensor, { tol: 0, maxIter: first.d.iterations - 1 });
    assert.ok(first.d.converged && Math.max(before.d.rowError, before.d.colError) > 1e-4);
  });

  it('relative eps is eps times the std of each problem\'s costs, and the plan is invariant to scaling the cost', () => {
    const { d } = solve(costs.tensor, { eps: 0.3, maxIter: 5 });
    costs.C.forEach((C, k) => {
      const xs = C.flat();
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
      assert.ok(Math.abs(d.eps[k] - 0.3 * std) < 1e-4 * std);
    });
    const scaled = tf.mul(costs.tensor, 1000) as tf.Tensor3D;
    const p1 = solve(costs.tensor, { maxIter: 30, tol: 0 }).plan;
    const p2 = solve(scaled, { maxIter: 30, tol: 0 }).plan;
    scaled.dispose();
    assert.ok(maxAbsDiff(flat(p1), flat(p2)) < 1e-6);
  });

  it('exact rows on C is the transpose of exact cols on C^T', () => {
    const t = tf.transpose(costs.tensor, [0, 2, 1]) as tf.Tensor3D;
    const rows = solve(costs.tensor, { exactMarginal: 'rows', maxIter: 13, tol: 0 }).plan;
    const cols = solve(t, { exactMarginal: 'cols', maxIter: 13, tol: 0 }).plan;
    t.dispose();
    const colsT = cols.map((P) => P[0].map((_, i) => P.map((row) => row[i])));
    assert.ok(maxAbsDiff(flat(rows), flat(colsT)) < 1e-6, `${maxAbsDiff(flat(rows), flat(colsT))}`);
    // ...and the update order matters at 13 iterations (the comparison above can tell them apart).
    const colsOnC = solve(costs.tensor, { exactMarginal: 'cols', maxIter: 13, tol: 0 }).plan;
    assert.ok(maxAbsDiff(flat(rows), flat(colsOnC)) > 1e-4);
  });

  for (const [exactMarginal, name] of [['rows', 'P 1 = 1/r'], ['cols', 'P^T 1 = 1/r\'']] as const) {
    it(`maxIter 0 is one normalisation of the kernel: ${name}`, () => {
      const eps = 3;
      for (const solver of ['log', 'exp'] as const) {
        const { plan, d } = solve(costs.tensor, { solver, exactMarginal, eps, epsMode: 'absolute', maxIter: 0 });
        assert.equal(d.iterations, 0);
        const want = costs.C.map((C) => {
          const K = C.map((row) => row.map((c) => Math.exp(-c / eps)));
          if (exactMarginal === 'rows') return K.map((row) => row.map((k) => k / row.reduce((s, x) => s + x, 0) / K.length));
          const colSums = K[0].map((_, j) => K.reduce((s, row) => s + row[j], 0));
          return K.map((row) => row.map((k, j) => k / colSums[j] / K[0].length));
        });
        assert.ok(maxAbsDiff(flat(plan), flat(want)) < 1e-6, `${solver}: ${maxAbsDiff(flat(plan), flat(want))}`);
      }
    });
  }

  it('as eps -> 0 the plan becomes the optimal assignment of an exact (brute-force) solver', () => {
    const { C, tensor } = randomCosts(5, 4, 6, 6, 3);
    const exact = C.map(bruteForceAssignment);
    // Pick eps well below every problem's gap between the best and second-best assignment.
    const gap = Math.min(...exact.map((e) => e.secondBest - e.cost));
    assert.ok(gap > 0.05, `test data: assignments too close (${gap})`);
    const { plan, d } = solve(tensor, { eps: gap / 20, epsMode: 'absolute', maxIter: 5000, tol: 1e-3 });
    tensor.dispose();
    assert.ok(d.converged, JSON.stringify(d));
    plan.forEach((P, k) => {
      const mass = exact[k].perm.reduce((s, j, i) => s + P[i][j], 0);
      assert.ok(mass > 0.98, `problem ${k}: mass on the optimal assignment ${mass}`);
      P.forEach((row, i) => assert.equal(row.indexOf(Math.max(...row)), exact[k].perm[i]));
    });
  });

  it('log: kernel-domain windows give the textbook iterates, also where a window must be redone in the log domain', () => {
    // eps 2: (max C - min C)/eps ~ 40, every window stays in the kernel domain. eps 0.05: ~1,600,
    // so windows leave float32's safe range and are redone with log-domain half-steps.
    // Bounds: float32 round-off of exponents up to the range, times plan entries up to 1/r.
    for (const [eps, bound] of [[2, 2e-6], [0.05, 1e-5]]) {
      for (const iterations of [1, 9, 10, 11, 35]) {
        const want = costs.C.map((C) => sinkhornLog64(C, eps, iterations));
        const { plan, d } = solve(costs.tensor, { eps, epsMode: 'absolute', maxIter: iterations, tol: 0, checkEvery: 7 });
        assert.equal(d.iterations, iterations);
        const err = maxAbsDiff(flat(plan), flat(want));
        assert.ok(err < bound, `eps ${eps}, ${iterations} iterations: max |P - P64| = ${err} (range ${d.scaledCostRange})`);
      }
    }
  });

  it('log: a window redone in the log domain continues the same iterates', () => {
    // safeLogScaling 0 rejects every kernel-domain window, so each is redone from its f, g with
    // log-domain half-steps; the default keeps them. Both must give the textbook iterates.
    const eps = 0.5;
    const scaled = tf.tidy(() => tf.neg(tf.div(tf.sub(costs.tensor, tf.min(costs.tensor, [1, 2], true)), eps)) as tf.Tensor3D);
    const shifted = costs.C.map((C) => { const lo = Math.min(...C.flat()); return C.map((row) => row.map((x) => x - lo)); });
    for (const iterations of [1, 10, 23]) {
      const want = shifted.map((C) => sinkhornLog64(C, eps, iterations));
      for (const safe of [0, undefined]) {
        const before = tf.memory().numTensors;
        const s = logScalings(scaled, 'cols', safe);
        for (let k = 0; k < iterations; k++) s.iterate();
        const plan = s.plan();
        s.dispose();
        const err = maxAbsDiff(flat(plan.arraySync()), flat(want));
        plan.dispose();
        assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
        assert.ok(err < 2e-6, `safeLogScaling ${safe}, ${iterations} iterations: ${err}`);
      }
    }
    scaled.dispose();
  });

  it('log stays finite where exp underflows (spread of C/eps in the thousands)', () => {
    const { tensor } = randomCosts(2, 3, 16, 16, 64);
    const warnings: string[] = [];
    const opts: BalancedSinkhornOptions = { eps: 0.1, epsMode: 'absolute', maxIter: 50, warn: (m) => warnings.push(m) };
    const exp = sinkhorn(tensor, { ...opts, solver: 'exp' });
    const log = sinkhorn(tensor, { ...opts, solver: 'log' });
    assert.ok(exp.diagnostics.scaledCostRange > 1000);
    assert.ok(Number.isNaN(exp.diagnostics.rowError) && !exp.diagnostics.converged);
    assert.ok(Array.from(log.plan.dataSync()).every(Number.isFinite));
    assert.ok(log.diagnostics.colError < 1e-5 && Number.isFinite(log.diagnostics.rowError));
    assert.match(warnings[0], /sinkhorn\(exp\).*not finite.*use the log solver/);
    tf.dispose([tensor, exp.plan, log.plan]);
  });

  it('exp warns when its kernel underflows although the marginals are met; log agrees with the float64 solve', () => {
    // Relative eps 0.04 on unit-scale 512-d features: (max C - min C)/eps is ~150, past exp's range.
    const { C, tensor } = randomCosts(31, 4, 16, 16, 512);
    const warnings: string[] = [];
    const opts: BalancedSinkhornOptions = { eps: 0.04, maxIter: 1000, tol: 1e-2, warn: (m) => warnings.push(m) };
    const exp = sinkhorn(tensor, { ...opts, solver: 'exp' });
    assert.ok(exp.diagnostics.scaledCostRange > 87, `range ${exp.diagnostics.scaledCostRange}`);
    assert.ok(exp.diagnostics.converged, 'the marginals are met: only the underflow check can flag this plan');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /sinkhorn\(exp\): \(max C - min C\)\/eps reaches [0-9.]+ > 87.*underflow.*use the log solver/);
    const log = sinkhorn(tensor, { ...opts, solver: 'log', tol: 1e-3 });
    assert.equal(warnings.length, 1, `the log solver does not warn: ${warnings.slice(1)}`);
    const eps = log.diagnostics.eps;
    const ref = C.map((Ck, k) => sinkhornLog64(Ck, eps[k], 2000));
    assert.ok(maxAbsDiff(flat(log.plan.arraySync()), flat(ref)) * 16 < 1e-2, 'log matches the float64 solve (in units of R)');
    assert.ok(maxAbsDiff(flat(exp.plan.arraySync()), flat(ref)) * 16 > 0.05, 'the underflowed exp plan is measurably wrong');
    tf.dispose([tensor, exp.plan, log.plan]);
  });

  it('warns once per call, with the figures, only when not converged; console.warn by default', () => {
    const calls: [string, SinkhornDiagnostics][] = [];
    const warn = (m: string, d: SinkhornDiagnostics) => { calls.push([m, d]); };
    sinkhorn(costs.tensor, { maxIter: 2, tol: 1e-6, warn }).plan.dispose();
    assert.equal(calls.length, 1);
    assert.match(calls[0][0], /sinkhorn\(log\): marginals not within tol 0.000001 after 2 iterations .*row error [0-9.e-]+, column error/);
    assert.equal(calls[0][1].converged, false);
    sinkhorn(costs.tensor, { maxIter: 500, tol: 1e-4, warn }).plan.dispose();
    assert.equal(calls.length, 1);
    const original = console.warn;
    const printed: unknown[] = [];
    console.warn = (...args: unknown[]) => { printed.push(args[0]); };
    try {
      sinkhorn(costs.tensor, { maxIter: 1, tol: 1e-6 }).plan.dispose();
      sinkhorn(costs.tensor, { maxIter: 1, tol: 1e-6, warn: false }).plan.dispose();
    } finally {
      console.warn = original;
    }
    assert.equal(printed.length, 1);
  });

  it('default options: log solver, relative eps 0.1, converges on unit-scale 512-d features', () => {
    assert.deepEqual(
      { solver: DEFAULT_SINKHORN.solver, eps: DEFAULT_SINKHORN.eps, epsMode: DEFAULT_SINKHORN.epsMode, maxIter: DEFAULT_SINKHORN.maxIter },
      { solver: 'log', eps: 0.1, epsMode: 'relative', maxIter: 100 });
    const { tensor } = randomCosts(9, 16, 16, 16, 512);
    const { d } = solve(tensor, {});
    tensor.dispose();
    assert.ok(d.converged && d.iterations <= 100, JSON.stringify(d));
  });

  it('rejects bad input with clear errors', () => {
    const nan = tf.tensor3d([[[0, NaN], [1, 2]]]);
    assert.throws(() => sinkhorn(costs.tensor, { eps: 0 }), /sinkhorn: eps must be a finite number > 0, got 0/);
    assert.throws(() => sinkhorn(costs.tensor, { eps: -1 }), /eps must be/);
    assert.throws(() => sinkhorn(costs.tensor, { maxIter: -1 }), /maxIter must be an integer in 0\.\.inf, got -1/);
    assert.throws(() => sinkhorn(costs.tensor, { checkEvery: 0 }), /checkEvery/);
    assert.throws(() => sinkhorn(costs.tensor, { solver: 'sparse' } as unknown as SinkhornOptions), /unknown solver 'sparse'/);
    assert.throws(() => sinkhorn(costs.tensor, { solver: 'reference', epsMode: 'relative' } as unknown as SinkhornOptions), /unknown option 'epsMode'/);
    assert.throws(() => sinkhorn(costs.tensor, { epsilon: 1 } as unknown as SinkhornOptions), /unknown option 'epsilon'/);
    assert.throws(() => sinkhorn(nan, {}), /sinkhorn: cost contains NaN/);
    assert.throws(() => sinkhorn(tf.zeros([3, 3]) as unknown as tf.Tensor3D, {}), /cost must have rank 3/);
    nan.dispose();
  });
});
