/**
 * The kernels lib/backends registers for wasm, against the pure-JS cpu backend (an independent
 * implementation of the same TensorFlow semantics) on random cases, plus properties that do not
 * need the cpu backend at all (the nearest-resize gradient is the adjoint of the forward resize).
 *
 * Tolerance: max |wasm - cpu| <= 1e-5 * max(1, max |cpu|). The inputs are N(0, 1) and each output
 * sums at most a few hundred products, so float32 rounding differences stay below ~3e-7 relative
 * (measured); a wrong index, tap, phase or padding gives O(1) relative errors.
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { WASM_TRAINING_KERNELS } from '../../lib/backends/wasm-training';
import { ensureBackend, maxAbs, maxAbsDiff, normals, runOn } from './on-backend';

const REL_TOL = 1e-5;

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  const tol = REL_TOL * Math.max(1, maxAbs(expected));
  const diff = maxAbsDiff(actual, expected);
  assert.ok(diff <= tol, `${what}: max |wasm - cpu| = ${diff.toExponential(2)} > ${tol.toExponential(2)}`);
}

/** Run the same computation on wasm and cpu and compare every output. */
async function agree(what: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const [w, c] = [await runOn('wasm', fn), await runOn('cpu', fn)];
  assert.equal(w.length, c.length);
  w.forEach((out, k) => assertClose(out, c[k], `${what} (output ${k})`));
}

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  batch: number;
  size: [number, number];
  inC: number;
  outC: number;
  filter: [number, number];
  stride: number | [number, number];
  pad: Pad;
}

const CONV_CASES: ConvCase[] = [
  { batch: 2, size: [8, 8], inC: 3, outC: 4, filter: [3, 3], stride: 1, pad: 'same' },
  { batch: 2, size: [8, 8], inC: 3, outC: 4, filter: [3, 3], stride: 2, pad: 'same' },
  { batch: 1, size: [9, 7], inC: 2, outC: 5, filter: [3, 3], stride: 2, pad: 'same' },
  { batch: 2, size: [9, 9], inC: 4, outC: 3, filter: [3, 3], stride: 2, pad: 'valid' },
  { batch: 2, size: [8, 8], inC: 4, outC: 3, filter: [3, 3], stride: 2, pad: 'valid' }, // last row unread
  { batch: 3, size: [7, 6], inC: 2, outC: 2, filter: [1, 1], stride: 2, pad: 'valid' }, // 1x1 shortcut
  { batch: 2, size: [10, 10], inC: 3, outC: 4, filter: [5, 5], stride: 3, pad: 'same' },
  { batch: 2, size: [6, 9], inC: 3, outC: 2, filter: [2, 3], stride: [1, 2], pad: 'same' },
  { batch: 2, size: [8, 8], inC: 2, outC: 3, filter: [3, 3], stride: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
  { batch: 1, size: [5, 5], inC: 2, outC: 2, filter: [3, 3], stride: 1, pad: 1 },
  { batch: 2, size: [4, 4], inC: 3, outC: 5, filter: [4, 4], stride: 2, pad: 'same' },
];

function describeConv(c: ConvCase): string {
  return `x [${c.batch},${c.size},${c.inC}] W ${c.filter}x${c.inC}->${c.outC} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;
}

describe('backends: wasm training kernels vs the cpu backend', function () {
  before(function () {
    const reason = ensureBackend('wasm') ?? ensureBackend('cpu');
    if (reason) {
      console.log(`    skipped: ${reason}`);
      this.skip();
    }
  });

  it('registers the kernels the wasm package lacks or gets wrong', function () {
    for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad', 'ResizeNearestNeighborGrad', 'UnsortedSegmentSum']) {
      assert.ok(WASM_TRAINING_KERNELS.includes(name), name);
      assert.ok(tf.getKernel(name, 'wasm'), `${name} registered for wasm`);
    }
  });

  for (const c of CONV_CASES) {
    it(`Conv2DBackpropFilter and Conv2DBackpropInput: ${describeConv(c)}`, async function () {
      const rng = new Rng(101);
      const x = normals(rng, c.batch * c.size[0] * c.size[1] * c.inC);
      const w = normals(rng, c.filter[0] * c.filter[1] * c.inC * c.outC);
      const xShape: [number, number, number, number] = [c.batch, c.size[0], c.size[1], c.inC];
      const wShape: [number, number, number, number] = [c.filter[0], c.filter[1], c.inC, c.outC];
      // The forward output's shape fixes dy's shape (on cpu; it is the same on every backend).
      const outShape = (await runOn('cpu', () => tf.conv2d(tf.tensor4d(x, xShape), tf.tensor4d(w, wShape), c.stride, c.pad)))[0].length;
      const dy = normals(rng, outShape);
      await agree(describeConv(c), () => {
        const xt = tf.tensor4d(x, xShape);
        const wt = tf.tensor4d(w, wShape);
        const y = tf.conv2d(xt, wt, c.stride, c.pad);
        const dyt = tf.tensor(dy, y.shape);
        const dW = tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xt, dy: dyt },
          { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape: wShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        const dX = tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyt, filter: wt },
          { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', inputShape: xShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return [y, dW, dX];
      });
    });
  }

  it('conv2dTranspose (which runs Conv2DBackpropInput forward) and tf.grads of a conv chain', async function () {
    const rng = new Rng(7);
    const x = normals(rng, 2 * 5 * 5 * 3);
    const w1 = normals(rng, 3 * 3 * 3 * 4);
    const w2 = normals(rng, 4 * 4 * 2 * 4); // transpose filter [h, w, out, in]
    await agree('conv -> relu -> conv2dTranspose', () => {
      const f = (xt: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => {
        const h = tf.relu(tf.conv2d(xt as tf.Tensor4D, a as tf.Tensor4D, 2, 'same'));
        return tf.sum(tf.square(tf.conv2dTranspose(h, b as tf.Tensor4D, [2, 6, 6, 2], 2, 'same')));
      };
      const xs = tf.tensor4d(x, [2, 5, 5, 3]);
      const a = tf.tensor4d(w1, [3, 3, 3, 4]);
      const b = tf.tensor4d(w2, [4, 4, 2, 4]);
      return [f(xs, a, b), ...tf.grads(f)([xs, a, b])];
    });
  });

  const poolCases: { name: string; values: (rng: Rng, n: number) => number[]; filter: number; stride: number; pad: 'same' | 'valid' }[] = [
    { name: 'random, 2x2 stride 2', values: normals, filter: 2, stride: 2, pad: 'valid' },
    { name: 'random, 3x3 stride 2 same (windows over the padding)', values: normals, filter: 3, stride: 2, pad: 'same' },
    { name: 'random, 3x3 stride 1 same (overlapping windows)', values: normals, filter: 3, stride: 1, pad: 'same' },
    { name: 'all values negative', values: (rng, n) => normals(rng, n).map((v) => -1 - Math.abs(v)), filter: 2, stride: 2, pad: 'valid' },
    { name: 'ReLU output with all-zero windows and ties', values: (rng, n) => normals(rng, n).map((v) => Math.max(0, Math.round(v))), filter: 3, stride: 2, pad: 'same' },
  ];
  for (const p of poolCases) {
    it(`MaxPoolGrad: ${p.name}`, async function () {
      const rng = new Rng(3);
      const shape: [number, number, number, number] = [2, 7, 6, 3];
      const x = p.values(rng, 2 * 7 * 6 * 3);
      const dyValues = normals(rng, x.length); // pooled outputs are never larger than x
      await agree(`maxPool ${p.name}`, () => {
        const xt = tf.tensor4d(x, shape);
        const y = tf.maxPool(xt, p.filter, p.stride, p.pad);
        const dy = tf.tensor(dyValues.slice(0, y.size), y.shape);
        const dx = tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, p.filter, p.stride, p.pad), dy)))(xt);
        return [y, dx];
      });
    });
  }

  const resizeCases: { from: [number, number]; to: [number, number]; alignCorners: boolean; halfPixelCenters: boolean }[] = [
    { from: [3, 4], to: [6, 8], alignCorners: false, halfPixelCenters: false },
    { from: [4, 4], to: [7, 5], alignCorners: false, halfPixelCenters: false },
    { from: [5, 6], to: [3, 4], alignCorners: false, halfPixelCenters: false },
    { from: [4, 5], to: [7, 9], alignCorners: true, halfPixelCenters: false },
    { from: [4, 5], to: [7, 9], alignCorners: false, halfPixelCenters: true },
  ];
  for (const r of resizeCases) {
    const name = `${r.from} -> ${r.to}, alignCorners ${r.alignCorners}, halfPixelCenters ${r.halfPixelCenters}`;
    it(`ResizeNearestNeighborGrad (batch 3) is the adjoint of the resize: ${name}`, async function () {
      const rng = new Rng(5);
      const xShape: [number, number, number, number] = [3, r.from[0], r.from[1], 2];
      const x = normals(rng, 3 * r.from[0] * r.from[1] * 2);
      const dy = normals(rng, 3 * r.to[0] * r.to[1] * 2);
      const resize = (a: tf.Tensor) => tf.image.resizeNearestNeighbor(a as tf.Tensor4D, r.to, r.alignCorners, r.halfPixelCenters);
      const run = () => {
        const xt = tf.tensor4d(x, xShape);
        const dyt = tf.tensor4d(dy, [3, r.to[0], r.to[1], 2]);
        return [resize(xt), tf.grad((a) => tf.sum(tf.mul(resize(a), dyt)))(xt)];
      };
      // On each backend: <resize(x), dy> = <x, resize^T(dy)> (summed in float64), for the op that ran.
      for (const backend of ['wasm', 'cpu'] as const) {
        const [y, dx] = await runOn(backend, run);
        let lhs = 0;
        let rhs = 0;
        y.forEach((v, i) => { lhs += v * dy[i]; });
        dx.forEach((v, i) => { rhs += v * x[i]; });
        assert.ok(Math.abs(lhs - rhs) <= REL_TOL * Math.max(1, Math.abs(lhs)), `${backend} adjoint: ${lhs} vs ${rhs}`);
      }
      await agree(`resizeNearestNeighbor ${name}`, run);
    });
  }

  it('ResizeNearestNeighborGrad of a 2x up-sampling sums each 2x2 block of dy', async function () {
    const dy = normals(new Rng(6), 2 * 4 * 6 * 3);
    const [dx] = await runOn('wasm', () => tf.grad((a) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [4, 6]), tf.tensor4d(dy, [2, 4, 6, 3]))))(tf.zeros([2, 2, 3, 3])));
    const at = (b: number, r: number, c: number, ch: number) => dy[((b * 4 + r) * 6 + c) * 3 + ch];
    const expected: number[] = [];
    for (let b = 0; b < 2; b++) for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) for (let ch = 0; ch < 3; ch++) {
      expected.push(at(b, 2 * r, 2 * c, ch) + at(b, 2 * r, 2 * c + 1, ch) + at(b, 2 * r + 1, 2 * c, ch) + at(b, 2 * r + 1, 2 * c + 1, ch));
    }
    assertClose(dx, Float32Array.from(expected), 'block sums');
  });

  it('UnsortedSegmentSum: repeated, negative and out-of-range ids; float and int32', async function () {
    const x = normals(new Rng(9), 6 * 4);
    await agree('unsortedSegmentSum', () => [
      tf.unsortedSegmentSum(tf.tensor2d(x, [6, 4]), tf.tensor1d([2, 0, 2, -1, 5, 1], 'int32'), 4),
      tf.cast(tf.unsortedSegmentSum(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), tf.tensor1d([1, 1, 0], 'int32'), 2), 'float32'),
    ]);
  });

  it('UnsortedSegmentSum with 2-D segment ids (hand-computed; the cpu backend rejects this case)', async function () {
    // x [2, 3, 2]; ids [[0, 1, 0], [2, 2, 1]] -> out[k] = sum of the rows x[i, j] with ids[i, j] = k.
    const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
    const [out] = await runOn('wasm', () => tf.unsortedSegmentSum(tf.tensor3d(x, [2, 3, 2]), tf.tensor2d([0, 1, 0, 2, 2, 1], [2, 3], 'int32') as unknown as tf.Tensor1D, 3));
    assert.deepEqual(Array.from(out), [1 + 5, 2 + 6, 3 + 11, 4 + 12, 7 + 9, 8 + 10]);
  });

  it('gradient of tf.gather (a partner permutation of features)', async function () {
    const rng = new Rng(11);
    const feats = normals(rng, 4 * 2 * 2 * 3);
    const weights = normals(rng, 4 * 2 * 2 * 3);
    await agree('gather gradient', () => {
      const a = tf.tensor4d(feats, [4, 2, 2, 3]);
      const w = tf.tensor4d(weights, [4, 2, 2, 3]);
      const perm = tf.tensor1d([2, 0, 3, 2], 'int32'); // index 2 twice: gradients add up
      return tf.grad((t) => tf.sum(tf.mul(tf.add(t, tf.mul(0.3, tf.gather(t, perm))), w)))(a);
    });
  });
});
