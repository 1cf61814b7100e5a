import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { attackedTopOne, crossEntropyInputGradient, describeAttack, fgsm, pgd } from '../../lib/eval/attacks';
import { LabeledBatch } from '../../lib/eval/types';
import { LinearClassifier, argmax, randomImages, softmax64, withoutLeaks } from './helpers';

/** Summed cross-entropy of a linear model in float64. */
function loss64(model: LinearClassifier, x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = y.length;
  const d = model.dim;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const z = model.logits64(Array.from({ length: d }, (_, j) => x[i * d + j]));
    total -= Math.log(softmax64(z)[y[i]]);
  }
  return total;
}

/** d/dx of the summed CE of a linear model: W (softmax(z) - onehot(y)), per image, float64. */
function grad64(model: LinearClassifier, x: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const d = model.dim;
  const k = model.numClasses;
  const g = new Float64Array(x.length);
  for (let i = 0; i < y.length; i++) {
    const p = softmax64(model.logits64(Array.from({ length: d }, (_, j) => x[i * d + j])));
    p[y[i]] -= 1;
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += model.weights[j * k + c] * p[c];
      g[i * d + j] = s;
    }
  }
  return g;
}

describe('eval/attacks: FGSM and PGD in pixel space', () => {
  const shape: [number, number, number, number] = [4, 2, 2, 3];
  let model: LinearClassifier;
  let x: tf.Tensor4D;
  let y: tf.Tensor1D;
  const labels = [0, 1, 2, 1];

  before(() => {
    model = LinearClassifier.random(12, 3, 1);
    // Pixels near both ends of [0, 1] so that the clip is active for some of them.
    const rng = new Rng(2);
    x = tf.tensor4d(Float32Array.from({ length: 48 }, (_, i) => (i % 4 === 0 ? 0.01 : i % 4 === 1 ? 0.99 : rng.uniform())), shape);
    y = tf.tensor1d(labels, 'int32');
  });
  after(() => {
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('the input gradient equals W (softmax - onehot) of the linear model', async () => {
    await withoutLeaks(() => {
      const g = crossEntropyInputGradient(model, x, y);
      const ref = grad64(model, x.dataSync(), labels);
      const got = g.dataSync();
      g.dispose();
      ref.forEach((v, i) => assert.ok(Math.abs(got[i] - v) < 1e-5, `grad[${i}] ${got[i]} vs ${v}`));
    });
  });

  it('FGSM equals clip(x + eps sign(grad), 0, 1) computed by hand, clipping included', async () => {
    const eps = 8 / 255;
    const xs = x.dataSync();
    const ref = grad64(model, xs, labels);
    assert.ok(ref.every((v) => Math.abs(v) > 1e-4), 'test set-up: every gradient entry is clearly nonzero');
    let clipped = 0;
    await withoutLeaks(() => {
      const adv = fgsm(model, x, y, { eps });
      const got = adv.dataSync();
      adv.dispose();
      for (let i = 0; i < xs.length; i++) {
        const unclipped = xs[i] + eps * Math.sign(ref[i]);
        const expected = Math.min(1, Math.max(0, unclipped));
        if (expected !== unclipped) clipped++;
        assert.ok(Math.abs(got[i] - expected) < 1e-6, `x'[${i}] ${got[i]} vs ${expected}`);
      }
    });
    assert.ok(clipped > 0, 'some pixels were clipped at 0 or 1');
    // Default eps is 8/255.
    const a = fgsm(model, x, y);
    const b = fgsm(model, x, y, { eps });
    assert.deepEqual(a.dataSync(), b.dataSync());
    tf.dispose([a, b]);
  });

  it('PGD with one step of size eps and no random start is FGSM', () => {
    const eps = 4 / 255;
    const a = pgd(model, x, y, { eps, stepSize: eps, steps: 1, randomStart: false });
    const b = fgsm(model, x, y, { eps });
    const da = a.dataSync();
    const db = b.dataSync();
    da.forEach((v, i) => assert.ok(Math.abs(v - db[i]) < 1e-6));
    tf.dispose([a, b]);
  });

  it('PGD stays in the eps-ball and [0, 1] at every step and increases the loss', async () => {
    const eps = 4 / 255;
    const xs = Float64Array.from(x.dataSync());
    const steps: number[] = [];
    let adv: tf.Tensor4D | null = null;
    await withoutLeaks(() => {
      adv = pgd(model, x, y, {
        eps, stepSize: 2 / 255, steps: 5, randomStart: true, rng: new Rng(9),
        onStep: (step, xt) => {
          steps.push(step);
          const v = xt.dataSync();
          for (let i = 0; i < v.length; i++) {
            assert.ok(v[i] >= 0 && v[i] <= 1, `step ${step}: pixel ${i} = ${v[i]} outside [0, 1]`);
            assert.ok(Math.abs(v[i] - xs[i]) <= eps + 1e-6, `step ${step}: |x_t - x| = ${Math.abs(v[i] - xs[i])} > eps`);
          }
        },
      });
      // The returned tensor is the one result left behind: account for it inside the check.
      (adv as tf.Tensor).dispose();
    });
    assert.deepEqual(steps, [0, 1, 2, 3, 4, 5]);
    const final = pgd(model, x, y, { eps, stepSize: 2 / 255, steps: 5, rng: new Rng(9) });
    assert.ok(loss64(model, final.dataSync(), labels) > loss64(model, xs, labels) + 1e-3, 'PGD increases the cross-entropy');
    final.dispose();
  });

  it('PGD reaches the exact loss maximiser of a two-class linear model', () => {
    // For 2 classes the loss is a decreasing function of the margin m(x) = (w_y - w_o).x + c, linear
    // in x, so the maximiser over the box [max(x-eps,0), min(x+eps,1)] is the corner that moves
    // every pixel against sign(w_y - w_o); sign steps of 2/255 reach it within 4 steps from any start.
    const bin = LinearClassifier.random(12, 2, 5);
    const yb = tf.tensor1d([0, 1, 1, 0], 'int32');
    const eps = 4 / 255;
    const xs = x.dataSync();
    for (const randomStart of [false, true]) {
      const adv = pgd(bin, x, yb, { eps, stepSize: 2 / 255, steps: 6, randomStart, rng: new Rng(1) });
      const got = adv.dataSync();
      adv.dispose();
      [0, 1, 1, 0].forEach((label, i) => {
        for (let j = 0; j < 12; j++) {
          const dm = bin.weights[j * 2 + label] - bin.weights[j * 2 + (1 - label)];
          const v = xs[i * 12 + j];
          const expected = dm > 0 ? Math.max(v - eps, 0) : Math.min(v + eps, 1);
          assert.ok(Math.abs(got[i * 12 + j] - expected) < 1e-6, `randomStart ${randomStart}: pixel ${i},${j}: ${got[i * 12 + j]} vs ${expected}`);
        }
      });
    }
    yb.dispose();
    bin.dispose();
  });

  it('the random start is reproducible from the seed and differs between seeds', () => {
    const start = (seed: number) => {
      const t = pgd(model, x, y, { steps: 0, randomStart: true, rng: new Rng(seed) });
      const v = Float32Array.from(t.dataSync());
      t.dispose();
      return v;
    };
    const a = start(42);
    assert.deepEqual(a, start(42));
    assert.notDeepEqual(a, start(43));
    // U(-eps, eps): the start moved pixels both ways (before clipping) and stays in the ball.
    const xs = x.dataSync();
    const d = Array.from(a, (v, i) => v - xs[i]);
    assert.ok(d.some((v) => v > 1e-4) && d.some((v) => v < -1e-4));
    assert.ok(d.every((v) => Math.abs(v) <= 4 / 255 + 1e-6));
  });

  it('attackedTopOne: error on attacked images from a generator, batches disposed', async () => {
    const images = randomImages([10, 2, 2, 3], 4);
    const xs = images.dataSync();
    const ys = Array.from({ length: 10 }, (_, i) => i % 3);
    // Reference: FGSM in float64, then the linear model's argmax.
    const g = grad64(model, xs, ys);
    let wrong = 0;
    let cleanWrong = 0;
    for (let i = 0; i < 10; i++) {
      if (argmax(model.logits64(Array.from(xs.subarray(i * 12, (i + 1) * 12)))) !== ys[i]) cleanWrong++;
      const adv = Array.from({ length: 12 }, (_, j) => Math.min(1, Math.max(0, xs[i * 12 + j] + (8 / 255) * Math.sign(g[i * 12 + j]))));
      if (argmax(model.logits64(adv)) !== ys[i]) wrong++;
    }
    const made: LabeledBatch[] = [];
    function* batches(): Generator<LabeledBatch> {
      for (let s = 0; s < 10; s += 4) {
        const b = Math.min(4, 10 - s);
        const batch = { x: tf.slice(images, [s, 0, 0, 0], [b, -1, -1, -1]), y: tf.tensor1d(ys.slice(s, s + b), 'int32') };
        made.push(batch);
        yield batch;
      }
    }
    const r = await withoutLeaks(() => attackedTopOne(model, batches(), { kind: 'fgsm' }));
    images.dispose();
    assert.equal(r.n, 10);
    assert.equal(r.n - r.correct, wrong);
    assert.ok(wrong > cleanWrong, `the attack raises the error (${cleanWrong} -> ${wrong} of 10)`);
    assert.ok(made.every((b) => b.x.isDisposed && b.y.isDisposed), 'generator batches are disposed');
  });

  it('describes its settings', () => {
    assert.equal(describeAttack({ kind: 'fgsm' }), 'eps=8/255');
    assert.equal(describeAttack({ kind: 'pgd', steps: 7, seed: 3 }), 'eps=4/255 step=2/255 steps=7 random_start=seed 3');
    assert.equal(describeAttack({ kind: 'pgd', randomStart: false, eps: 0.1 }), 'eps=0.1 step=2/255 steps=10 random_start=off');
  });

  it('rejects bad input with clear errors and leaks nothing', async () => {
    await withoutLeaks(() => {
      assert.throws(() => fgsm(model, x, y, { eps: -0.1 }), /fgsm: eps must be a finite number >= 0, got -0.1/);
      assert.throws(() => pgd(model, x, y, { steps: 1.5 }), /pgd: steps must be an integer/);
      assert.throws(() => pgd(model, x, y, { stepSize: NaN }), /pgd: stepSize must be a finite number >= 0/);
      assert.throws(() => pgd(model, x, y, { epsilon: 1 } as never), /pgd: unknown option 'epsilon'/);
      const big = tf.mul(x, 255) as tf.Tensor4D;
      assert.throws(() => fgsm(model, big, y), /fgsm: x must hold pixels in \[0, 1\]/);
      big.dispose();
      const bad = tf.tensor1d([0, 1, 3, 1], 'int32');
      assert.throws(() => fgsm(model, x, bad), /fgsm: y\[2\] = 3 is out of range; expected a class index in \[0, 2\]/);
      bad.dispose();
      const short = tf.tensor1d([0, 1], 'int32');
      assert.throws(() => pgd(model, x, short), /pgd: y has 2 labels but the batch has 4 images/);
      short.dispose();
      const floats = tf.tensor1d([0, 1, 2, 1], 'float32');
      assert.throws(() => fgsm(model, x, floats), /fgsm: y must have dtype int32, got float32/);
      floats.dispose();
      assert.throws(() => pgd(model, x, y, { onStep: () => { throw new Error('stop'); } }), /stop/);
    });
  });
});
