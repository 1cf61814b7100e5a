import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { collectPredictions, maxSoftmaxScores, softmaxRows, topOne } from '../../lib/eval/predict';
import { Classifier, LabeledBatch } from '../../lib/eval/types';
import { LinearClassifier, argmax, randomImages, softmax64, withoutLeaks } from './helpers';

describe('eval/predict: predictions and top-1', () => {
  let model: LinearClassifier;
  before(() => {
    model = LinearClassifier.random(12, 4, 3, 2);
  });
  after(() => model.dispose());

  function batchesOf(images: tf.Tensor4D, labels: number[], size: number): LabeledBatch[] {
    const out: LabeledBatch[] = [];
    for (let s = 0; s < labels.length; s += size) {
      const b = Math.min(size, labels.length - s);
      out.push({ x: tf.slice(images, [s, 0, 0, 0], [b, -1, -1, -1]), y: tf.tensor1d(labels.slice(s, s + b), 'int32') });
    }
    return out;
  }

  it('collects softmax, argmax and max-softmax confidence equal to a float64 reference', async () => {
    const images = randomImages([11, 2, 2, 3], 8);
    const labels = Array.from({ length: 11 }, (_, i) => (i * 3) % 4);
    const batches = batchesOf(images, labels, 4);
    const p = await withoutLeaks(() => collectPredictions(model, batches));
    const xs = images.dataSync();
    assert.equal(p.n, 11);
    assert.equal(p.numClasses, 4);
    assert.deepEqual(Array.from(p.labels), labels);
    for (let i = 0; i < 11; i++) {
      const z = model.logits64(Array.from(xs.subarray(i * 12, (i + 1) * 12)));
      const ref = softmax64(z);
      assert.equal(p.predicted[i], argmax(z));
      assert.ok(Math.abs(p.confidence[i] - Math.max(...ref)) < 1e-6);
      for (let k = 0; k < 4; k++) assert.ok(Math.abs(p.probabilities[i * 4 + k] - ref[k]) < 1e-6);
    }
    // Arrays are the caller's: not disposed.
    assert.ok(batches.every((b) => !b.x.isDisposed && !b.y.isDisposed));
    tf.dispose([images, ...batches.flatMap((b) => [b.x, b.y])]);
  });

  it('keeps saturated confidences ordered (float64 softmax from the logits)', () => {
    // float32 softmax would return exactly 1 for both rows.
    const r = softmaxRows('t', [30, 0, 0, 20, 0, 0], 3);
    assert.ok(r.confidence[0] < 1 && r.confidence[1] < r.confidence[0]);
    assert.ok(Math.abs(1 - r.confidence[0] - 2 * Math.exp(-30)) < 1e-15);
    const f32 = tf.tidy(() => tf.max(tf.softmax(tf.tensor2d([[30, 0, 0], [20, 0, 0]])), 1).dataSync());
    assert.deepEqual(Array.from(f32), [1, 1], 'the float32 softmax ties them at 1');
    assert.deepEqual(Array.from(r.predicted), [0, 0]);
    // Ties: first index.
    assert.equal(softmaxRows('t', [1, 3, 3], 3).predicted[0], 1);
  });

  it('topOne counts agreement (hand case)', () => {
    assert.deepEqual(topOne([0, 1, 2, 3], [0, 1, 0, 0]), { n: 4, correct: 2, accuracy: 0.5, error: 0.5 });
    assert.throws(() => topOne([], []), /topOne: no predictions/);
    assert.throws(() => topOne([1], [1, 2]), /labels has 1 entries but predicted has 2/);
  });

  it('maxSoftmaxScores over an async source with a transform; async batches are disposed', async () => {
    const images = randomImages([5, 4, 4, 3], 9);
    const made: tf.Tensor[] = [];
    async function* source() {
      for (let s = 0; s < 5; s += 2) {
        const x = tf.slice(images, [s, 0, 0, 0], [Math.min(2, 5 - s), -1, -1, -1]);
        made.push(x);
        yield { x };
      }
    }
    const crop = (x: tf.Tensor4D) => tf.slice(x, [0, 1, 1, 0], [-1, 2, 2, -1]);
    const scores = await withoutLeaks(() => maxSoftmaxScores(model, source(), { transform: crop }));
    const xs = images.dataSync();
    for (let i = 0; i < 5; i++) {
      const px: number[] = [];
      for (let r = 1; r < 3; r++) for (let c = 1; c < 3; c++) for (let ch = 0; ch < 3; ch++) px.push(xs[i * 48 + r * 12 + c * 3 + ch]);
      assert.ok(Math.abs(scores[i] - Math.max(...softmax64(model.logits64(px)))) < 1e-6);
    }
    assert.ok(made.every((t) => t.isDisposed));
    images.dispose();
  });

  it('rejects bad input with clear errors and leaks nothing', async () => {
    const x = randomImages([2, 2, 2, 3], 1);
    const nanModel: Classifier = { numClasses: 4, predictLogits: (xx) => tf.fill([xx.shape[0], 4], NaN) as tf.Tensor2D };
    const wideModel: Classifier = { numClasses: 3, predictLogits: (xx) => tf.zeros([xx.shape[0], 4]) as tf.Tensor2D };
    const cases: [() => unknown, RegExp, Classifier?][] = [
      [() => [{ x, y: tf.tensor1d([0, 4], 'int32') }], /collectPredictions: data batch 0 y\[1\] = 4 is out of range; expected a class index in \[0, 3\]/],
      [() => [{ x, y: tf.tensor1d([0], 'int32') }], /data batch 0 y has 1 labels but the batch has 2 images/],
      [() => [{ x, y: tf.tensor1d([0, 1]) }], /data batch 0 y must have dtype int32, got float32/],
      [() => [{ x, y: tf.tensor1d([0, 1], 'int32') }], /non-finite logit \(NaN\)/, nanModel],
      [() => [{ x, y: tf.tensor1d([0, 1], 'int32') }], /model.predictLogits\(x\) must have shape \[2,3\], got \[2,4\]/, wideModel],
      [() => [], /collectPredictions: data yielded no batches/],
      [() => 42, /collectPredictions: data must be an iterable or async iterable of batches, got number/],
      [() => [{ x: tf.zeros([2, 3]), y: tf.tensor1d([0, 1], 'int32') }], /data batch 0 x must have rank 4, got shape \[2,3\]/],
      [() => [{ x: tf.zeros([0, 2, 2, 3]), y: tf.tensor1d([], 'int32') }], /batch 0 of data is empty/],
    ];
    for (const [make, pattern, m] of cases) {
      const before = tf.memory().numTensors;
      const data = make();
      await assert.rejects(collectPredictions(m ?? model, data as LabeledBatch[]), pattern);
      // Array batches stay with the caller: dispose what the case made; nothing else may remain.
      if (Array.isArray(data)) for (const b of data) tf.dispose(Object.values(b).filter((v) => v !== x) as tf.Tensor[]);
      assert.equal(tf.memory().numTensors, before, `no leak for ${pattern}`);
    }
    await assert.rejects(collectPredictions({ numClasses: 1, predictLogits: model.predictLogits } as Classifier, []), /numClasses must be an integer >= 2, got 1/);
    x.dispose();
  });
});
