/**
 * A small conv net's loss and gradients (with respect to every weight and the input) agree across
 * the native `tensorflow`, `wasm` and pure-JS `cpu` backends on fixed weights and inputs. The three
 * are independent implementations (TensorFlow C++/oneDNN, XNNPACK plus lib/backends' kernels,
 * tfjs' JS loops), so agreement checks each against the others. cpu is the reference; a backend
 * that is not installed is skipped with the reason printed.
 *
 * The net covers what the models train through: conv 3x3 stride 1 'same', conv 3x3 stride 2 on an
 * explicitly padded input ('valid', as lib/nn does for PyTorch padding), a 1x1 stride-2 shortcut,
 * batch norm from tf.moments and the library's training batch norm (lib/nn/batchnorm: TensorFlow's
 * fused kernels on the native backend, the written-out gradient elsewhere), ReLU (TensorFlow's
 * ReluGrad on the native backend: lib/backends/native-ops), max pooling (on pre-activations, so no ties:
 * TensorFlow's oneDNN pooling may break ties differently), average and global average pooling, a
 * linear layer with soft-target cross-entropy, and a nearest-neighbour up-sampling decoder branch
 * with a squared-error reconstruction loss.
 *
 * Tolerance per output tensor: max |other - cpu| <= 1e-5 * max(1e-3, max |cpu|). Float32 sums in a
 * different order differ by ~1e-7 relative here (measured: at most 6e-7 for wasm, 4e-7 for
 * tensorflow); a wrong gradient differs by O(1).
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { alignFeatures } from '../../lib/mix/align';
import { batchNormTrain } from '../../lib/nn/batchnorm';
import { sinkhorn } from '../../lib/ot/sinkhorn';
import { Rng } from '../../lib/random';
import { BackendId, ensureBackend, maxAbs, maxAbsDiff, normals, runOn } from './on-backend';

const REL_TOL = 1e-5;

const SHAPES = {
  x: [4, 8, 8, 3],
  w1: [3, 3, 3, 8],
  w2: [3, 3, 8, 12],
  ws: [1, 1, 8, 12],
  gamma: [12],
  beta: [12],
  wd: [12, 5],
  bd: [5],
  wr: [3, 3, 12, 3],
} as const;
type Name = keyof typeof SHAPES;
const NAMES = Object.keys(SHAPES) as Name[];

function fixedValues(): Record<Name, number[]> {
  const rng = new Rng(2024);
  const out = {} as Record<Name, number[]>;
  for (const name of NAMES) {
    const size = (SHAPES[name] as readonly number[]).reduce((a, b) => a * b, 1);
    const scale = name === 'x' || name === 'gamma' || name === 'beta' ? 1 : 0.3;
    out[name] = normals(rng, size).map((v) => (name === 'gamma' ? 1 + 0.2 * v : scale * v));
  }
  return out;
}

/** Soft targets (a mix of two one-hot labels, as mixup produces). */
function softTargets(): number[] {
  const t = new Array(4 * 5).fill(0);
  [[0, 3, 0.7], [1, 1, 0.4], [2, 4, 0.9], [3, 0, 0.55]].forEach(([row, cls, lam]) => {
    t[row * 5 + cls] += lam;
    t[row * 5 + ((cls + 2) % 5)] += 1 - lam;
  });
  return t;
}

function momentsBatchNorm(x: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
}

function loss(p: Record<Name, tf.Tensor>, targets: tf.Tensor): tf.Scalar {
  const x = p.x as tf.Tensor4D;
  const h1 = tf.relu(momentsBatchNorm(tf.conv2d(x, p.w1 as tf.Tensor4D, 1, 'same')));
  const padded = tf.pad(h1, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const c2: tf.Tensor4D = tf.conv2d(padded, p.w2 as tf.Tensor4D, 2, 'valid'); // [4, 4, 4, 12]
  // The library's training batch norm: native TensorFlow's fused kernels there, the closed form on wasm and cpu.
  const { y: bn2, mean, variance } = batchNormTrain(c2, p.gamma, p.beta, 1e-5);
  tf.dispose([mean, variance]);
  const h2 = tf.add(tf.relu(tf.maxPool(bn2, 3, 1, 'same')), tf.conv2d(h1, p.ws as tf.Tensor4D, 2, 'valid')) as tf.Tensor4D;
  const pooled = tf.mean(tf.avgPool(h2, 2, 2, 'valid'), [1, 2]); // [4, 12]
  const logits = tf.add(tf.matMul(pooled, p.wd as tf.Tensor2D), p.bd);
  const ce = tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)));
  const recon = tf.conv2d(tf.image.resizeNearestNeighbor(h2, [8, 8]), p.wr as tf.Tensor4D, 1, 'same');
  return tf.add(ce, tf.mul(0.1, tf.mean(tf.square(tf.sub(recon, x)))));
}

describe('backends: a small conv net agrees across tensorflow, wasm and cpu', function () {
  const values = fixedValues();
  const targets = softTargets();
  const lossAndGrads = () => {
    const params = NAMES.map((name) => tf.tensor(values[name], [...SHAPES[name]]));
    const f = (...ts: tf.Tensor[]) => loss(Object.fromEntries(NAMES.map((n, k) => [n, ts[k]])) as Record<Name, tf.Tensor>, tf.tensor2d(targets, [4, 5]));
    const { value, grads } = tf.valueAndGrads(f)(params);
    return [value, ...grads];
  };
  let reference: Float32Array[] = [];

  before(async function () {
    const reason = ensureBackend('cpu');
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
    reference = await runOn('cpu', lossAndGrads);
  });

  it('the reference gradients are not degenerate', function () {
    assert.ok(Number.isFinite(reference[0][0]) && reference[0][0] > 0, `loss ${reference[0][0]}`);
    NAMES.forEach((name, k) => assert.ok(maxAbs(reference[k + 1]) > 1e-4, `gradient of ${name} is ~0`));
  });

  for (const backend of ['wasm', 'tensorflow'] as BackendId[]) {
    it(`${backend}: loss and the gradients of ${NAMES.join(', ')}`, async function () {
      const reason = ensureBackend(backend);
      if (reason) {
        console.log(`      skipped: ${reason}`);
        this.skip();
      }
      const got = await runOn(backend, lossAndGrads);
      ['loss', ...NAMES].forEach((name, k) => {
        const tol = REL_TOL * Math.max(1e-3, maxAbs(reference[k]));
        const diff = maxAbsDiff(got[k], reference[k]);
        assert.ok(diff <= tol, `${backend} ${name}: max |diff| ${diff.toExponential(2)} > ${tol.toExponential(2)}`);
      });
    });
  }
});

/**
 * The batched Sinkhorn solvers and the feature alignment (cost, plan, A~ = A' R^T) agree across
 * backends on the same features: the log solver at the paper's absolute eps 0.1 on unit-scale
 * features (entries of C/eps up to ~80, where the exp solver would underflow), the exp solver on a
 * mild cost, and the authors' reference solver. Same tolerance rule as above.
 */
describe('backends: Sinkhorn and alignment agree across tensorflow, wasm and cpu', function () {
  const rng = new Rng(7);
  const [B, h, w, c] = [3, 2, 3, 16];
  const a = normals(rng, B * h * w * c);
  const b = normals(rng, B * h * w * c);
  const solve = () => {
    const fa = tf.tensor4d(a, [B, h, w, c]);
    const fb = tf.tensor4d(b, [B, h, w, c]);
    const aligned = alignFeatures(fa, fb, { sinkhorn: { solver: 'log', eps: 0.1, epsMode: 'absolute', maxIter: 50, tol: 0, warn: false } });
    const ref = alignFeatures(fa, fb, { sinkhorn: { solver: 'reference', maxIter: 50, warn: false } });
    const mild = tf.randomUniform([B, 6, 6], 0, 1, 'float32', 11);
    const exp = sinkhorn(mild as tf.Tensor3D, { solver: 'exp', eps: 0.5, epsMode: 'absolute', maxIter: 30, tol: 0, warn: false });
    return [aligned.plan, aligned.aligned, ref.plan, ref.aligned, exp.plan];
  };
  const labels = ['log plan', 'log-aligned A~', 'reference plan', 'reference-aligned A~', 'exp plan'];
  let reference: Float32Array[] = [];

  before(async function () {
    const reason = ensureBackend('cpu');
    if (reason) this.skip();
    reference = await runOn('cpu', solve);
  });

  it('the reference plans are proper couplings (rows sum to 1/r within 1e-3 after 50 log iterations)', function () {
    const r = h * w;
    for (let row = 0; row < B * r; row++) {
      const sum = reference[0].slice(row * r, row * r + r).reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(sum - 1 / r) < 1e-3, `row ${row} sums to ${sum}`);
    }
  });

  for (const backend of ['wasm', 'tensorflow'] as BackendId[]) {
    it(`${backend}: ${labels.join(', ')}`, async function () {
      const reason = ensureBackend(backend);
      if (reason) {
        console.log(`      skipped: ${reason}`);
        this.skip();
      }
      const got = await runOn(backend, solve);
      labels.forEach((name, k) => {
        const tol = REL_TOL * 10 * Math.max(1e-3, maxAbs(reference[k]));
        const diff = maxAbsDiff(got[k], reference[k]);
        assert.ok(diff <= tol, `${backend} ${name}: max |diff| ${diff.toExponential(2)} > ${tol.toExponential(2)}`);
      });
    });
  }
});
