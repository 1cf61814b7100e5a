import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../../lib/models';
import { Rng } from '../../lib/random';
import { resolveConfig } from '../../lib/train/config';
import { uniformModes } from '../../lib/train/modes';
import { StepSettings, batchLoss, drawBatchChoices } from '../../lib/train/step';

const SETTINGS: StepSettings = { alpha: 2, sinkhorn: { solver: 'log', maxIter: 50 }, reconstructionWeight: 1, klWeight: 1 };

describe('lambda per example (both papers\' Algorithm 1) beside per batch (the authors\' code)', () => {
  it('draws one lambda per example in (0, 1), their mean as the batch lambda; clean batches draw none', () => {
    const c = drawBatchChoices(uniformModes('input'), 6, new Rng(1), 2, [0], true);
    assert.equal(c.lambdas!.length, 6);
    assert.ok(c.lambdas!.every((l) => l > 0 && l < 1));
    assert.equal(new Set(c.lambdas).size, 6);
    assert.ok(Math.abs(c.lambda - c.lambdas!.reduce((a, b) => a + b, 0) / 6) < 1e-15);
    assert.equal(drawBatchChoices(uniformModes('clean'), 6, new Rng(1), 2, [0], true).lambdas, undefined);
    assert.equal(drawBatchChoices(uniformModes('input'), 6, new Rng(1), 2, [0]).lambdas, undefined);
  });

  it('mixes each example with its own lambda: lambdas of 1 and 0 give the clean loss of the batch they select', () => {
    const model = createModel({ arch: 'small-cnn', numClasses: 4, inputShape: [8, 8, 1], smallCnnWidths: [4, 8, 8] }, new Rng(2));
    const rng = new Rng(3);
    const n = 6;
    const x = tf.tensor4d(Array.from({ length: n * 64 }, () => rng.uniform()), [n, 8, 8, 1]);
    const labels = [0, 1, 2, 3, 0, 1];
    const y = tf.tensor1d(labels, 'int32');
    const perm = [1, 2, 3, 4, 5, 0];
    const lambdas = [1, 0, 1, 0, 1, 0];
    // Example i is x_i (lambda 1) or its partner x_perm(i) (lambda 0), with that one's label.
    const pick = lambdas.map((l, i) => (l === 1 ? i : perm[i]));
    const xSel = tf.gather(x, tf.tensor1d(pick, 'int32')) as tf.Tensor4D;
    const ySel = tf.tensor1d(pick.map((i) => labels[i]), 'int32');
    const mixed = batchLoss(model, x, y, { mode: 'input', lambda: 0.5, lambdas, perm }, SETTINGS, new Rng(0));
    const clean = batchLoss(model, xSel, ySel, { mode: 'clean', lambda: 1, perm }, SETTINGS, new Rng(0));
    assert.ok(Math.abs(mixed.loss.dataSync()[0] - clean.loss.dataSync()[0]) < 1e-5);
    // Equal per-example lambdas are the batch lambda.
    const same = batchLoss(model, x, y, { mode: 'input', lambda: 0.3, lambdas: new Array(n).fill(0.3), perm }, SETTINGS, new Rng(0));
    const batch = batchLoss(model, x, y, { mode: 'input', lambda: 0.3, perm }, SETTINGS, new Rng(0));
    assert.ok(Math.abs(same.loss.dataSync()[0] - batch.loss.dataSync()[0]) < 1e-6);
    tf.dispose([x, y, xSel, ySel, mixed.loss, mixed.classification, clean.loss, clean.classification, same.loss, same.classification, batch.loss, batch.classification]);
    model.dispose();
  });

  it('is a validated config switch', () => {
    assert.equal(resolveConfig('synthetic', { lambdaPerExample: true }).lambdaPerExample, true);
    assert.throws(() => resolveConfig('synthetic', { lambdaPerExample: 'yes' as unknown as boolean }), /config\.lambdaPerExample must be true or false/);
  });
});
