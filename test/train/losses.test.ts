/**
 * The loss terms on the papers' scale, each against a hand-computed or float64 value:
 *   Lr = mean_b ||x_b - x_hat_b||^2 (sum over pixels; main paper eq. (1)), 'mean' = Lr / (H W C)
 *   KL = mean_b 1/2 sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)   (per image, summed over units)
 *   clean batch: Lr + Lc (main paper) or Lr only (supplementary AlignMixup/AE).
 */
import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../../lib/models';
import { AlignMixModel } from '../../lib/models/model';
import { klDivergence } from '../../lib/models/vae';
import { Rng } from '../../lib/random';
import { resolveConfig } from '../../lib/train/config';
import { methodSpec } from '../../lib/train/methods';
import { BatchChoices, StepSettings, batchLoss, reconstructionLoss } from '../../lib/train/step';

const SETTINGS: StepSettings = { alpha: 2, sinkhorn: { solver: 'log' }, reconstructionWeight: 1, klWeight: 1 };
const CLEAN: BatchChoices = { mode: 'clean', lambda: 1, perm: [0, 1, 2, 3] };

function aeModel(vae = false): AlignMixModel {
  return createModel({
    arch: 'small-cnn', numClasses: 3, inputShape: [8, 8, 2], normalization: 'none', smallCnnWidths: [4, 8, 8, 8], embedding: 'fc', decoder: true, vae,
  }, new Rng(5));
}

function images(): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(9);
  return {
    x: tf.tensor4d(Array.from({ length: 4 * 8 * 8 * 2 }, () => rng.uniform()), [4, 8, 8, 2]),
    y: tf.tensor1d([0, 2, 1, 0], 'int32'),
  };
}

/** float64 mean over images of the per-image sum of squared differences. */
function sumSquared64(a: tf.Tensor4D, b: tf.Tensor4D): number {
  const [n] = a.shape;
  const da = a.dataSync();
  const db = b.dataSync();
  let total = 0;
  for (let i = 0; i < da.length; i++) total += (da[i] - db[i]) ** 2;
  return total / n;
}

describe('loss scales (main paper / supplementary)', () => {
  it('Lr is the squared Euclidean distance per image, averaged over the batch; mean divides by H W C', () => {
    // Two 1x2x1 images: per image (0.1^2 + 0.2^2) = 0.05 and (0.3^2 + 0^2) = 0.09 -> Lr = 0.07.
    const x = tf.tensor4d([0.5, 0.5, 0.2, 0.9], [2, 1, 2, 1]);
    const xHat = tf.tensor4d([0.4, 0.7, 0.5, 0.9], [2, 1, 2, 1]);
    const sum = reconstructionLoss(x, xHat, 'sum');
    const mean = reconstructionLoss(x, xHat, 'mean');
    assert.ok(Math.abs(sum.dataSync()[0] - 0.07) < 1e-7, `sum: ${sum.dataSync()[0]}`);
    assert.ok(Math.abs(mean.dataSync()[0] - 0.035) < 1e-7, `mean: ${mean.dataSync()[0]}`);
    tf.dispose([x, xHat, sum, mean]);
  });

  it('KL is per image, summed over the latent units, averaged over the batch', () => {
    // Image 1: mu (1, 0), sigma (1, 1): 1/2 (1 + 0) = 0.5.
    // Image 2: mu (0, 0), sigma (2, 1): 1/2 (4 - 1 - log 4) = 0.8068528.
    const mu = tf.tensor2d([[1, 0], [0, 0]]);
    const sigma = tf.tensor2d([[1, 1], [2, 1]]);
    const kl = klDivergence(mu, sigma).arraySync();
    assert.ok(Math.abs(kl[0] - 0.5) < 1e-6 && Math.abs(kl[1] - (1.5 - Math.log(2))) < 1e-6, `KL ${kl}`);
    tf.dispose([mu, sigma]);
  });

  it('a clean AE batch optimises Lr (pixel sum) + Lc by default, Lr alone without clean classification', () => {
    const model = aeModel();
    const { x, y } = images();
    const xHat = tf.tidy(() => model.decode(model.embed(model.features(x, 'train')), 'train'));
    const lr64 = sumSquared64(x, xHat);
    const both = batchLoss(model, x, y, CLEAN, SETTINGS, new Rng(0));
    const rec = both.reconstruction!.dataSync()[0];
    assert.ok(Math.abs(rec - lr64) / lr64 < 1e-5, `Lr ${rec} vs float64 ${lr64}`);
    assert.ok(lr64 > 8 * 8 * 2 * 0.01, 'a sum over 128 values, not a per-pixel mean');
    assert.ok(Math.abs(both.loss.dataSync()[0] - (both.classification.dataSync()[0] + rec)) < 1e-5);

    const mean = batchLoss(model, x, y, CLEAN, { ...SETTINGS, reconstructionLoss: 'mean' }, new Rng(0));
    assert.ok(Math.abs(mean.reconstruction!.dataSync()[0] - lr64 / 128) / (lr64 / 128) < 1e-5);

    const vars = model.namedParameters().map(([, v]) => v);
    const { value, grads } = tf.variableGrads(() => {
      const parts = batchLoss(model, x, y, CLEAN, { ...SETTINGS, cleanClassification: false }, new Rng(0));
      assert.ok(parts.classification.dataSync()[0] > 0, 'Lc is still reported');
      tf.dispose([parts.classification, parts.reconstruction!]);
      return parts.loss;
    }, vars);
    assert.ok(Math.abs(value.dataSync()[0] - rec) / rec < 1e-5, `Lr only: ${value.dataSync()[0]} vs ${rec}`);
    const gClassifier = grads[model.classifier.weight.name];
    assert.ok(!gClassifier || tf.max(tf.abs(gClassifier)).dataSync()[0] === 0, 'the classifier gets no gradient from Lr');
    tf.dispose([xHat, both.loss, both.classification, both.reconstruction!, mean.loss, mean.classification, mean.reconstruction!, value, x, y]);
    tf.dispose(grads);
    model.dispose();
  });

  it('a clean VAE batch adds KL on the per-image scale', () => {
    const model = aeModel(true);
    const { x, y } = images();
    const { mu, sigma } = tf.tidy(() => model.embedGaussian(model.features(x, 'train')));
    const m = mu.arraySync() as number[][];
    const s = sigma.arraySync() as number[][];
    const kl64 = m.reduce((acc, row, b) => acc + row.reduce((a, v, j) => a + 0.5 * (v * v + s[b][j] ** 2 - 1 - 2 * Math.log(s[b][j])), 0), 0) / m.length;
    const parts = batchLoss(model, x, y, CLEAN, SETTINGS, new Rng(0));
    const kl = parts.kl!.dataSync()[0];
    assert.ok(Math.abs(kl - kl64) / kl64 < 1e-4, `KL ${kl} vs float64 ${kl64}`);
    const total = parts.classification.dataSync()[0] + parts.reconstruction!.dataSync()[0] + kl;
    assert.ok(Math.abs(parts.loss.dataSync()[0] - total) / total < 1e-6);
    tf.dispose([mu, sigma, parts.loss, parts.classification, parts.reconstruction!, parts.kl!, x, y]);
    model.dispose();
  });

  it('config: reconstructionLoss defaults to sum, is validated by name; methods state the clean loss', () => {
    assert.equal(resolveConfig('synthetic').reconstructionLoss, 'sum');
    assert.equal(resolveConfig('synthetic', { reconstructionLoss: 'mean' }).reconstructionLoss, 'mean');
    assert.throws(() => resolveConfig('synthetic', { reconstructionLoss: 'mse' as 'mean' }), /reconstructionLoss 'mse'/);
    assert.equal(methodSpec('alignmixup-ae').cleanClassification, false, 'supplementary: reconstruction only');
    assert.equal(methodSpec('alignmix').cleanClassification, true, 'main paper: Lr + Lc');
  });
});
