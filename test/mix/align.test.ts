import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { AlignDirection, AlignOptions, alignFeatures, mixAlignedFeatures } from '../../lib/mix/align';
import { Rng } from '../../lib/random';
import { Mat, cost64, flat, maxAbsDiff, randomFeatures } from '../ot/float64';

type Nhwc = number[][][][];

/** Random NHWC features [B, h, w, c] as nested arrays (float32 values). */
function features(seed: number, b: number, h: number, w: number, c: number): Nhwc {
  const rows = randomFeatures(new Rng(seed), b, h * w, c);
  return rows.map((m) => Array.from({ length: h }, (_, y) => m.slice(y * w, (y + 1) * w)));
}
const rowsOf = (x: Nhwc): Mat[] => x.map((m) => m.flat());
const matMul = (A: Mat, B: Mat): Mat => A.map((row) => B[0].map((_, j) => row.reduce((s, x, k) => s + x * B[k][j], 0)));
const transpose = (m: Mat): Mat => m[0].map((_, j) => m.map((row) => row[j]));

describe('mix/align: alignFeatures and mixAlignedFeatures', () => {
  it('recovers a known permutation: R is the permutation, A~ is A\' un-permuted and A~\' is A\' itself', () => {
    const a = features(1, 3, 4, 4, 8);
    const rng = new Rng(2);
    const perms = a.map(() => rng.permutation(16));
    const bRows = rowsOf(a).map((m, k) => perms[k].map((p) => m[p])); // a'_j = a_{sigma(j)}
    const at = tf.tensor4d(a);
    const bt = tf.tensor4d(bRows.map((m) => [m.slice(0, 4), m.slice(4, 8), m.slice(8, 12), m.slice(12)]));
    // sigma(j) = i: a_i is matched with a'_j.
    const isMatch = (k: number, i: number, j: number) => perms[k][j] === i;
    // eps 0.02 (relative): R equals the permutation to 1e-5, A~ = A'(un-permuted) = A, A~' = A'.
    const sharp = { eps: 0.02, maxIter: 500 };
    const fwd = alignFeatures(at, bt, { direction: 'aToB', sinkhorn: sharp });
    const bwd = alignFeatures(at, bt, { direction: 'bToA', sinkhorn: sharp });
    fwd.plan.arraySync().forEach((P, k) => P.forEach((row, i) => row.forEach((p, j) => {
      assert.ok(Math.abs(16 * p - (isMatch(k, i, j) ? 1 : 0)) < 1e-5, `problem ${k}: R[${i}][${j}] = ${16 * p}`);
    })));
    assert.ok(maxAbsDiff(fwd.aligned.dataSync(), at.dataSync()) < 1e-4);
    assert.ok(maxAbsDiff(bwd.aligned.dataSync(), bt.dataSync()) < 1e-4);
    assert.ok(fwd.diagnostics.converged && bwd.diagnostics.converged);
    // Default eps: every row of R puts its largest weight, and > 90% of its mass, on the match.
    const dflt = alignFeatures(at, bt, { direction: 'aToB' });
    dflt.plan.arraySync().forEach((P, k) => P.forEach((row, i) => {
      const j = row.indexOf(Math.max(...row));
      assert.ok(isMatch(k, i, j) && 16 * row[j] > 0.9, `problem ${k}, row ${i}: ${16 * row[j]} at ${j}`);
    }));
    tf.dispose([fwd.aligned, fwd.plan, bwd.aligned, bwd.plan, dflt.aligned, dflt.plan]);
    tf.dispose([at, bt]);
  });

  it('A~ = A\' R^T and A~\' = A R with R = r P (checked in float64), the convex-combination side exact', () => {
    const a = features(3, 2, 2, 3, 5);
    const b = features(4, 2, 2, 3, 5);
    const at = tf.tensor4d(a);
    const bt = tf.tensor4d(b);
    for (const direction of ['aToB', 'bToA'] as const) {
      const before = tf.memory().numTensors;
      const { aligned, plan, diagnostics } = alignFeatures(at, bt, { direction, sinkhorn: { maxIter: 7, warn: false } });
      assert.deepEqual(aligned.shape, [2, 2, 3, 5]);
      const R = plan.arraySync().map((P) => P.map((row) => row.map((p) => 6 * p)));
      const want = R.map((Rk, k) => (direction === 'aToB' ? matMul(Rk, rowsOf(b)[k]) : matMul(transpose(Rk), rowsOf(a)[k])));
      assert.ok(maxAbsDiff(flat(aligned.arraySync()), flat(want)) < 1e-5);
      const sums = R.flatMap((Rk) => (direction === 'aToB' ? Rk : transpose(Rk)).map((row) => row.reduce((s, x) => s + x, 0)));
      sums.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5, `${direction}: sum ${s}`));
      assert.equal(diagnostics.iterations, 7);
      tf.dispose([aligned, plan]);
      assert.equal(tf.memory().numTensors, before);
    }
    tf.dispose([at, bt]);
  });

  it('bToA for (A, A\') is aToB for (A\', A): transposed plan, same aligned tensor', () => {
    const at = tf.tensor4d(features(5, 2, 3, 3, 4));
    const bt = tf.tensor4d(features(6, 2, 3, 3, 4));
    const opts = { sinkhorn: { maxIter: 9, warn: false } };
    const x = alignFeatures(at, bt, { ...opts, direction: 'bToA' });
    const y = alignFeatures(bt, at, { ...opts, direction: 'aToB' });
    const dAligned = maxAbsDiff(x.aligned.dataSync(), y.aligned.dataSync());
    const dPlan = maxAbsDiff(tf.tidy(() => tf.transpose(x.plan, [0, 2, 1]).dataSync()), y.plan.dataSync());
    assert.ok(dAligned < 1e-5 && dPlan < 1e-6, `aligned ${dAligned}, plan ${dPlan}`);
    tf.dispose([at, bt, x.aligned, x.plan, y.aligned, y.plan]);
  });

  it('0 iterations: each aligned vector is a softmax(-M/eps)-weighted average (Table 10, i = 0)', () => {
    const a = features(7, 1, 2, 2, 3);
    const b = features(8, 1, 2, 2, 3);
    const at = tf.tensor4d(a);
    const bt = tf.tensor4d(b);
    const eps = 1.5;
    const { aligned, plan } = alignFeatures(at, bt, { sinkhorn: { maxIter: 0, eps, epsMode: 'absolute', warn: false } });
    const M = cost64(rowsOf(a)[0], rowsOf(b)[0]);
    const W = M.map((row) => {
      const e = row.map((m) => Math.exp(-m / eps));
      return e.map((x) => x / e.reduce((s, y) => s + y, 0));
    });
    assert.ok(maxAbsDiff(flat(aligned.arraySync()), flat(matMul(W, rowsOf(b)[0]))) < 1e-5);
    tf.dispose([at, bt, aligned, plan]);
  });

  it('the reference solver uses one plan (u then v) for both directions, as the authors\' code', () => {
    const at = tf.tensor4d(features(9, 2, 2, 2, 3));
    const bt = tf.tensor4d(features(10, 2, 2, 2, 3));
    const opts: AlignOptions = { sinkhorn: { solver: 'reference', warn: false } };
    const x = alignFeatures(at, bt, { ...opts, direction: 'aToB' });
    const y = alignFeatures(at, bt, { ...opts, direction: 'bToA' });
    assert.deepEqual(x.plan.dataSync(), y.plan.dataSync());
    tf.dispose([at, bt, x.aligned, x.plan, y.aligned, y.plan]);
  });

  describe('gradients', () => {
    const a = features(11, 2, 2, 2, 3);
    const b = features(12, 2, 2, 2, 3);
    const w = features(13, 2, 2, 2, 3);
    const lambda = 0.3;

    for (const direction of ['aToB', 'bToA'] as AlignDirection[]) {
      it(`${direction}: equal to finite differences of the float64 loss with the plan held fixed`, () => {
        const at = tf.tensor4d(a);
        const bt = tf.tensor4d(b);
        const wt = tf.tensor4d(w);
        const options: AlignOptions = { direction, sinkhorn: { maxIter: 50, warn: false } };
        // loss = sum w * tanh(mixed): nonlinear, so the finite differences test more than a linear map.
        const loss = (x: tf.Tensor, y: tf.Tensor) => {
          const { mixed, plan } = mixAlignedFeatures(x as tf.Tensor4D, y as tf.Tensor4D, lambda, options);
          plan.dispose();
          return tf.sum(tf.mul(wt, tf.tanh(mixed)));
        };
        const [ga, gb] = tf.grads(loss)([at, bt]);
        const { plan } = alignFeatures(at, bt, options);
        const R = plan.arraySync().map((P) => P.map((row) => row.map((p) => 4 * p)));
        plan.dispose();
        const loss64 = (A: Mat[], B: Mat[]) => A.reduce((s, Ak, k) => {
          const aligned = direction === 'aToB' ? matMul(R[k], B[k]) : matMul(transpose(R[k]), Ak);
          const [first, second] = direction === 'aToB' ? [Ak, aligned] : [aligned, B[k]];
          const W = rowsOf(w)[k];
          return s + first.reduce((t, row, i) => t + row.reduce((u, x, d) => u + W[i][d] * Math.tanh(lambda * x + (1 - lambda) * second[i][d]), 0), 0);
        }, 0);
        const h = 1e-6;
        for (const [which, grad] of [['a', ga], ['b', gb]] as const) {
          const g = flat(grad.arraySync());
          let n = 0;
          for (let k = 0; k < 2; k++) for (let i = 0; i < 4; i++) for (let d = 0; d < 3; d++) {
            const shift = (s: number) => {
              const A = rowsOf(a).map((m) => m.map((row) => row.slice()));
              const B = rowsOf(b).map((m) => m.map((row) => row.slice()));
              (which === 'a' ? A : B)[k][i][d] += s;
              return loss64(A, B);
            };
            const fd = (shift(h) - shift(-h)) / (2 * h);
            assert.ok(Math.abs(g[n] - fd) < 1e-4 * (1 + Math.abs(fd)), `d/d${which}[${k},${i},${d}]: ${g[n]} vs ${fd}`);
            n++;
          }
        }
        tf.dispose([at, bt, wt, ga, gb]);
      });
    }

    it('equal to the gradient with the plan passed in as a constant', () => {
      const at = tf.tensor4d(a);
      const bt = tf.tensor4d(b);
      const wt = tf.tensor4d(w);
      const { plan } = alignFeatures(at, bt, { sinkhorn: { maxIter: 50, warn: false } });
      const viaAlign = tf.grads((x: tf.Tensor, y: tf.Tensor) => {
        const r = alignFeatures(x as tf.Tensor4D, y as tf.Tensor4D, { sinkhorn: { maxIter: 50, warn: false } });
        r.plan.dispose();
        return tf.sum(tf.mul(wt, tf.square(r.aligned)));
      })([at, bt]);
      const viaConstant = tf.grads((x: tf.Tensor, y: tf.Tensor) => {
        const aligned = tf.reshape(tf.matMul(tf.mul(plan, 4), tf.reshape(y, [2, 4, 3])), [2, 2, 2, 3]);
        // + 0 x: tf.grads needs every input connected to the loss.
        return tf.sum(tf.mul(wt, tf.square(tf.add(aligned, tf.mul(x, 0)))));
      })([at, bt]);
      assert.deepEqual(Array.from(viaAlign[0].dataSync()), new Array(24).fill(0)); // A~ does not depend on A
      assert.ok(maxAbsDiff(viaAlign[1].dataSync(), viaConstant[1].dataSync()) < 1e-6);
      tf.dispose([at, bt, wt, plan, ...viaAlign, ...viaConstant]);
    });
  });

  it('mixes with lambda weighing x\'s content in both directions; lambda 0 and 1 give the endpoints', () => {
    const at = tf.tensor4d(features(14, 2, 2, 2, 3));
    const bt = tf.tensor4d(features(15, 2, 2, 2, 3));
    const opts = (direction: AlignDirection): AlignOptions => ({ direction, sinkhorn: { maxIter: 5, warn: false } });
    const fwd = alignFeatures(at, bt, opts('aToB'));
    const bwd = alignFeatures(at, bt, opts('bToA'));
    const mixed = (direction: AlignDirection, lambda: number | number[]) => {
      const r = mixAlignedFeatures(at, bt, lambda, opts(direction));
      const v = r.mixed.dataSync();
      tf.dispose([r.mixed, r.plan]);
      return Array.from(v);
    };
    assert.deepEqual(mixed('aToB', 1), Array.from(at.dataSync()));
    assert.deepEqual(mixed('aToB', 0), Array.from(fwd.aligned.dataSync()));
    assert.deepEqual(mixed('bToA', 1), Array.from(bwd.aligned.dataSync()));
    assert.deepEqual(mixed('bToA', 0), Array.from(bt.dataSync()));
    // Per-example lambda: example 0 with 0.25, example 1 with 0.75.
    const m = mixed('aToB', [0.25, 0.75]);
    const A = at.dataSync();
    const T = fwd.aligned.dataSync();
    m.forEach((v, i) => {
      const l = i < 12 ? 0.25 : 0.75;
      assert.ok(Math.abs(v - (l * A[i] + (1 - l) * T[i])) < 1e-6);
    });
    tf.dispose([at, bt, fwd.aligned, fwd.plan, bwd.aligned, bwd.plan]);
  });

  it('pooled over positions, aligned mixing is latent mixup up to the plan\'s marginal error', () => {
    // mean_i A~_i = (1/r) sum_j (column sum j of R) a'_j, and likewise for A~' with the row sums:
    // |mean(mix) - mix(mean A, mean A')| <= (1 - lambda) colError max|a'|  (aToB)
    //                                    <= lambda rowError max|a|          (bToA), per channel.
    const at = tf.tensor4d(features(21, 3, 4, 4, 64));
    const bt = tf.tensor4d(features(22, 3, 4, 4, 64));
    const lambda = 0.3;
    const mean = (t: tf.Tensor) => tf.tidy(() => Array.from(tf.mean(t, [1, 2]).dataSync()));
    const latentMix = mean(tf.tidy(() => tf.add(tf.mul(at, lambda), tf.mul(bt, 1 - lambda))));
    const maxA = Math.max(...Array.from(at.dataSync(), Math.abs));
    const maxB = Math.max(...Array.from(bt.dataSync(), Math.abs));
    const solvers: [string, AlignOptions['sinkhorn']][] = [
      ['default (log, relative eps)', { warn: false }],
      ['reference (the authors\' code)', { solver: 'reference', warn: false }],
      ['one normalisation (i = 0)', { maxIter: 0, warn: false }],
    ];
    for (const [name, sinkhorn] of solvers) {
      for (const direction of ['aToB', 'bToA'] as const) {
        const r = mixAlignedFeatures(at, bt, lambda, { direction, sinkhorn });
        const gap = maxAbsDiff(mean(r.mixed), latentMix);
        const d = r.diagnostics;
        const bound = direction === 'aToB' ? (1 - lambda) * d.colError * maxB : lambda * d.rowError * maxA;
        assert.ok(gap <= bound * 1.01 + 1e-5, `${name} ${direction}: gap ${gap} > bound ${bound}`);
        // The plan is no identity: the aligned tensor itself moves vectors between positions.
        const unaligned = tf.tidy(() => tf.add(tf.mul(at, lambda), tf.mul(bt, 1 - lambda)));
        assert.ok(maxAbsDiff(Array.from(r.mixed.dataSync()), Array.from(unaligned.dataSync())) > 0.1, `${name} ${direction}: alignment moved nothing`);
        if (name.startsWith('reference') && direction === 'aToB') {
          // The authors' v-last update makes the columns exact: pooled A~ mixing IS latent mixup.
          assert.ok(d.colError < 1e-5 && gap < 1e-5, `reference aToB: colError ${d.colError}, gap ${gap}`);
          assert.ok(d.rowError > 1e-2, `reference: rows not met (rowError ${d.rowError}), so bToA is where it differs`);
        }
        tf.dispose([r.mixed, r.plan, unaligned]);
      }
    }
    tf.dispose([at, bt]);
  });

  it('rejects bad input with clear errors', () => {
    const a = tf.zeros([2, 4, 4, 8]) as tf.Tensor4D;
    const otherC = tf.zeros([2, 4, 4, 6]) as tf.Tensor4D;
    const otherR = tf.zeros([2, 2, 2, 8]) as tf.Tensor4D;
    const inf = tf.fill([2, 4, 4, 8], Infinity) as tf.Tensor4D;
    assert.throws(() => alignFeatures(a, otherC), /alignFeatures: a has shape \[2,4,4,8\] but b has shape \[2,4,4,6\]/);
    assert.throws(() => alignFeatures(a, otherR), /a has shape \[2,4,4,8\] but b has shape \[2,2,2,8\]/);
    assert.throws(() => alignFeatures(a, inf), /alignFeatures: b contains Inf/);
    assert.throws(() => alignFeatures(a, a, { direction: 'both' as AlignDirection }), /unknown direction 'both'/);
    assert.throws(() => alignFeatures(a, a, { sinkhorn: { eps: 0 } }), /alignFeatures: eps must be a finite number > 0/);
    assert.throws(() => alignFeatures(a, a, { sinkhorn: { exactMarginal: 'rows' } as never }), /exactMarginal is set by the direction/);
    assert.throws(() => alignFeatures(a, a, { iterations: 3 } as never), /unknown option 'iterations'/);
    assert.throws(() => alignFeatures(tf.zeros([2, 8]) as never, tf.zeros([2, 8]) as never), /a must be \[B, h, w, c\] or \[B, r, c\]/);
    assert.throws(() => mixAlignedFeatures(a, a, 1.5), /mixAlignedFeatures: lambda must be in \[0, 1\], got 1.5/);
    assert.throws(() => mixAlignedFeatures(a, a, NaN), /lambda must be in \[0, 1\], got NaN/);
    assert.throws(() => mixAlignedFeatures(a, a, [0.5]), /lambda must be a number or an array of 2 numbers/);
    tf.dispose([a, otherC, otherR, inf]);
  });

  it('leaks no tensors (alignFeatures, mixAlignedFeatures, reference solver included)', () => {
    const at = tf.randomNormal([2, 2, 2, 4]) as tf.Tensor4D;
    const bt = tf.randomNormal([2, 2, 2, 4]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const sinkhorn of [{ warn: false }, { solver: 'reference' as const, warn: false }]) {
      const r = alignFeatures(at, bt, { sinkhorn });
      tf.dispose([r.aligned, r.plan]);
      const m = mixAlignedFeatures(at, bt, 0.4, { sinkhorn, direction: 'bToA' });
      tf.dispose([m.mixed, m.plan]);
    }
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([at, bt]);
  });
});
