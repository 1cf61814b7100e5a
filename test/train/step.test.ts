import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { createModel } from '../../lib/models';
import { AlignMixModel } from '../../lib/models/model';
import { Rng } from '../../lib/random';
import { MIX_MODES, MixMode, drawMode, modeProbabilities, uniformModes } from '../../lib/train/modes';
import { methodSpec } from '../../lib/train/methods';
import { SGD } from '../../lib/train/optim';
import { BatchChoices, StepSettings, batchLoss, drawBatchChoices, manifoldLayers, trainStep, trainStepWithChoices } from '../../lib/train/step';

const SETTINGS: StepSettings = {
  alpha: 2, sinkhorn: { solver: 'log', maxIter: 50 }, reconstructionWeight: 1, klWeight: 1,
};

function tinyModel(extra: Partial<Parameters<typeof createModel>[0]> = {}, seed = 1): AlignMixModel {
  return createModel({ arch: 'small-cnn', numClasses: 4, inputShape: [16, 16, 1], smallCnnWidths: [8, 16, 16, 16], ...extra }, new Rng(seed));
}

function batch(seed: number, n = 8): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const rng = new Rng(seed);
  const x = tf.tensor4d(Array.from({ length: n * 16 * 16 }, () => rng.uniform()), [n, 16, 16, 1]);
  const y = tf.tensor1d(Array.from({ length: n }, (_, i) => i % 4), 'int32');
  return { x, y };
}

/** float64 soft cross-entropy of logits against targets. */
function softCe64(logits: number[][], targets: number[][]): number {
  let total = 0;
  logits.forEach((row, i) => {
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    row.forEach((v, k) => { total -= targets[i][k] * (v - lse); });
  });
  return total / logits.length;
}

describe('Algorithm 1 step', () => {
  it('keeps a configured Sinkhorn warn (callback) and is silent without one', () => {
    const model = tinyModel();
    const opt = new SGD(model.parameterGroups(), { momentum: 0.9, weightDecay: 1e-4 });
    const { x, y } = batch(4);
    const heard: string[] = [];
    // One iteration with tol 0 cannot meet the marginals: the solver reports non-convergence.
    const loud: StepSettings = { ...SETTINGS, sinkhorn: { solver: 'log', maxIter: 1, tol: 0, warn: (m) => void heard.push(m) } };
    const r = trainStep(model, opt, x, y, uniformModes('feat'), loud, { classifier: 0.01, body: 0.01 }, new Rng(5));
    assert.equal(r.sinkhorn?.converged, false);
    assert.ok(heard.length > 0, 'the callback heard the non-convergence');
    const warn = console.warn;
    const printed: unknown[] = [];
    console.warn = (...a: unknown[]) => void printed.push(a);
    try {
      trainStep(model, opt, x, y, uniformModes('feat'), { ...SETTINGS, sinkhorn: { solver: 'log', maxIter: 1, tol: 0 } }, { classifier: 0.01, body: 0.01 }, new Rng(5));
    } finally {
      console.warn = warn;
      opt.dispose();
      tf.dispose([x, y]);
    }
    assert.deepEqual(printed, [], 'no console warning unless asked: the batch log has the diagnostics');
  });

  it('runs every mode on a model that supports it, with finite losses and no tensor leaks', () => {
    const plain = tinyModel();
    const zModel = tinyModel({ embedding: 'conv', latentChannels: 8 });
    const vae = tinyModel({ embedding: 'fc', vae: true, decoder: true });
    const { x, y } = batch(2);
    for (const mode of MIX_MODES) {
      const models = mode.startsWith('latentAligned') ? [zModel] : [plain, vae];
      for (const model of models) {
        const opt = new SGD(model.parameterGroups(), { momentum: 0.9, weightDecay: 1e-4 });
        const before = tf.memory().numTensors;
        const r = trainStep(model, opt, x, y, uniformModes(mode), SETTINGS, { classifier: 0.01, body: 0.01 }, new Rng(3));
        opt.dispose();
        assert.equal(tf.memory().numTensors, before, `leak in mode ${mode}`);
        assert.equal(r.mode, mode);
        assert.ok(Number.isFinite(r.losses.total), `${mode}: loss ${r.losses.total}`);
        if (mode === 'clean' && model.decoder) {
          assert.ok(r.losses.reconstruction! > 0 && r.losses.kl! >= 0, 'clean AE/VAE batches add reconstruction and KL');
          assert.ok(Math.abs(r.losses.total - (r.losses.classification + r.losses.reconstruction! + r.losses.kl!)) < 1e-4);
        } else {
          assert.equal(r.losses.reconstruction, undefined, `${mode}: no reconstruction loss on mixed batches`);
        }
        if (mode === 'feat' || mode === 'featPrime' || mode === 'latentAligned' || mode === 'latentAlignedPrime') {
          assert.ok(r.sinkhorn && r.sinkhorn.iterations > 0, `${mode} reports Sinkhorn diagnostics`);
        }
      }
    }
    tf.dispose([x, y]);
    [plain, zModel, vae].forEach((m) => m.dispose());
  });

  it('input mixup loss equals cross-entropy of the mixed image against the mixed label (float64)', () => {
    const model = tinyModel();
    const { x, y } = batch(4);
    const choices: BatchChoices = { mode: 'input', lambda: 0.3, perm: [7, 6, 5, 4, 3, 2, 1, 0] };
    const parts = batchLoss(model, x, y, choices, SETTINGS, new Rng(0));
    const xm = tf.add(tf.mul(x, 0.3), tf.mul(tf.gather(x, tf.tensor1d(choices.perm, 'int32')), 0.7)) as tf.Tensor4D;
    const logits = model.logits(xm, 'train').arraySync();
    const labels = Array.from(y.dataSync());
    const targets = labels.map((l, i) => [0, 1, 2, 3].map((k) => 0.3 * (k === l ? 1 : 0) + 0.7 * (k === labels[choices.perm[i]] ? 1 : 0)));
    assert.ok(Math.abs(parts.classification.dataSync()[0] - softCe64(logits, targets)) < 1e-5);
    tf.dispose([x, y, xm, parts.loss, parts.classification]);
    model.dispose();
  });

  it('CutMix weighs the labels by the pasted area', () => {
    const model = tinyModel();
    const { x, y } = batch(5);
    const parts = batchLoss(model, x, y, { mode: 'cutmix', lambda: 0.6, perm: [1, 0, 3, 2, 5, 4, 7, 6] }, SETTINGS, new Rng(9));
    // One box for the batch: its area fraction is a multiple of 1/256 on a 16x16 image.
    const pasted = 1 - parts.targetWeight;
    assert.ok(Math.abs(pasted * 256 - Math.round(pasted * 256)) < 1e-9 && pasted > 0 && pasted < 1);
    tf.dispose([x, y, parts.loss, parts.classification]);
    model.dispose();
  });

  it('one AlignMix/AE step decreases the loss on a fixed batch, for each of its modes', () => {
    const spec = methodSpec('alignmix');
    const model = tinyModel({ embedding: 'fc', decoder: true }, 11);
    const { x, y } = batch(6);
    const opt = new SGD(model.parameterGroups(), { momentum: 0, weightDecay: 0 });
    // Per-pixel Lr: one learning rate suits every mode (the per-image sum is 256 times steeper here).
    const settings: StepSettings = { ...SETTINGS, reconstructionLoss: 'mean' };
    for (const { mode } of spec.modes) {
      const choices: BatchChoices = { mode, lambda: 0.4, perm: [3, 2, 1, 0, 7, 6, 5, 4] };
      const lossAt = () => {
        const p = batchLoss(model, x, y, choices, settings, new Rng(1));
        const v = p.loss.dataSync()[0];
        tf.dispose(([p.loss, p.classification, p.logits, p.reconstruction, p.kl] as (tf.Tensor | undefined)[]).filter((t): t is tf.Tensor => !!t));
        return v;
      };
      const before = lossAt();
      const vars = model.namedParameters().map(([, v]) => v);
      const { value, grads } = tf.variableGrads(() => {
        const p = batchLoss(model, x, y, choices, settings, new Rng(1));
        return p.loss;
      }, vars);
      opt.step(grads, { classifier: 0.05, body: 0.05 });
      tf.dispose([value, ...Object.values(grads)]);
      const after = lossAt();
      assert.ok(after < before, `${mode}: loss ${before} -> ${after}`);
    }
    opt.dispose();
    tf.dispose([x, y]);
    model.dispose();
  });

  it('gives the same losses and parameters with the native SGD as with the TF.js one, over three steps', function () {
    if (tf.getBackend() !== 'tensorflow') {
      console.warn(`    SKIPPED: the native SGD needs the 'tensorflow' backend; this run is on '${tf.getBackend()}'`);
      this.skip();
    }
    const { x, y } = batch(7);
    const runs = (['auto', 'tfjs'] as const).map((implementation) => {
      const model = tinyModel({}, 5);
      const opt = new SGD(model.parameterGroups(), { momentum: 0.9, weightDecay: 5e-4, implementation });
      const losses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const choices: BatchChoices = { mode: 'input', lambda: 0.3 + 0.1 * i, perm: [1, 0, 3, 2, 5, 4, 7, 6] };
        losses.push(trainStepWithChoices(model, opt, x, y, choices, SETTINGS, { classifier: 0.1, body: 0.02 }, new Rng(i + 1)).losses.total);
      }
      return { model, opt, losses, params: model.namedParameters().map(([path, v]) => [path, Array.from(v.dataSync())] as const) };
    });
    const [native, plain] = runs;
    assert.equal(native.opt.implementation, 'native');
    assert.equal(native.losses[0], plain.losses[0], 'step 1 starts from the same parameters');
    // Float32 rounding of the update (optim.test.ts) carried through two forward passes.
    for (let i = 1; i < 3; i++) assert.ok(Math.abs(native.losses[i] - plain.losses[i]) < 1e-6 * Math.abs(plain.losses[i]), `step ${i + 1}: ${native.losses[i]} vs ${plain.losses[i]}`);
    native.params.forEach(([path, a], k) => {
      const b = plain.params[k][1];
      const d = a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j]) / Math.max(1, Math.abs(b[j]))), 0);
      assert.ok(d < 1e-6, `${path}: parameters differ by ${d}`);
    });
    for (const r of runs) {
      r.opt.dispose();
      r.model.dispose();
    }
    tf.dispose([x, y]);
  });

  it('draws modes with the configured frequencies (chi-square, authors-code schedule)', () => {
    const schedule = methodSpec('alignmix-authors').modes;
    const probs = modeProbabilities(schedule);
    const rng = new Rng(21);
    const n = 6000;
    const counts: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const m = drawMode(schedule, rng);
      counts[m] = (counts[m] ?? 0) + 1;
    }
    let chi2 = 0;
    for (const [mode, p] of Object.entries(probs)) chi2 += ((counts[mode] ?? 0) - n * p!) ** 2 / (n * p!);
    assert.deepEqual(Object.keys(counts).sort(), ['feat', 'featPrime', 'input']);
    assert.ok(chi2 < 13.8, `chi2 ${chi2} (df 2, p = 0.001 critical value 13.8)`);
    assert.ok(Math.abs(probs.input! - 0.5) < 1e-12 && Math.abs(probs.feat! - 0.25) < 1e-12);
  });

  it('draws one permutation, one lambda in (0,1) and a manifold layer from the allowed set', () => {
    const model = createModel({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3] }, new Rng(0));
    const layers = manifoldLayers(model);
    assert.deepEqual(layers, [0, 2, 3], 'input, after layer1, after layer2 (Verma et al.)');
    model.dispose();
    const rng = new Rng(4);
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const c = drawBatchChoices(uniformModes('manifold' as MixMode), 16, rng, 2, layers);
      assert.deepEqual([...c.perm].sort((a, b) => a - b), Array.from({ length: 16 }, (_, j) => j));
      assert.ok(c.lambda > 0 && c.lambda < 1);
      seen.add(c.layer!);
    }
    assert.deepEqual([...seen].sort(), [0, 2, 3]);
  });
});
