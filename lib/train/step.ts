/**
 * One mini-batch of Algorithm 1: draw the batch's choices, compute its loss, update the weights.
 *
 * Per batch:
 *   pi ~ unif(S_b)                     one permutation: the partner of example i is example pi(i)
 *   mode ~ schedule                    one mode for the whole batch
 *   lambda ~ Beta(alpha, alpha)        one interpolation factor for the batch, as the authors' code
 *                                      draws it; with settings.lambdaPerExample one per example, as
 *                                      both papers' Algorithm 1 write it (inside the loop over the batch)
 * and the loss
 *   clean:  Lc(g(z), y) + Lr(x, D(z)) [+ KL for the VAE]     z = e(E(x))      main paper, loss (1)
 *           Lr(x, D(z)) [+ KL]                                supplementary AlignMixup/AE,
 *                                                             Algorithm 1 line 7 (cleanClassification false)
 *   mixed:  Lc(g(z_mix), mix_lambda(y, y'))                  no reconstruction on mixes
 * with Lc the cross-entropy against soft targets, averaged over the batch, and on the papers' scale
 *   Lr = mean_b ||x_b - x_hat_b||^2        squared Euclidean distance per image (a sum over its
 *                                          H W C pixels), averaged over the batch ('sum', default)
 *   KL = mean_b KL(q(z|x_b) || N(0, I))    per image, summed over the latent units (../models/vae)
 * ('mean' divides Lr by H W C: the per-pixel MSE, 3072 times lighter on 32x32x3 images). The
 * transport plan is detached (lib/ot/detach.ts), so gradients reach E through A and A' but never
 * through P*. The random-plan controls (methods alignmixup-random-*) replace P* by a plan drawn
 * from the step's stream (lib/mix/random-plan.ts), equally constant.
 *
 * A' is E(x') = E(x)[pi]: one encoder pass serves both sides of the pair, as in the authors' code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Lambda, mix, drawLambda, drawPermutation, gatherPartners, cutMix, mixAlignedFeatures, softTargets } from '../mix/index';
import { AlignDirection, AlignOptions, FeatureTensor } from '../mix/align';
import { RandomPlanKind, mixWithRandomPlan } from '../mix/random-plan';
import { SinkhornDiagnostics } from '../ot/diagnostics';
import { AlignMixModel } from '../models/model';
import { klDivergence, reparameterize } from '../models/vae';
import { Rng } from '../random';
import { MixMode, ModeSchedule, drawMode } from './modes';
import { SGD } from './optim';

/** Scale of Lr: 'sum' over each image's pixels (the main paper's eq. (1)) or their 'mean'. */
export const RECONSTRUCTION_LOSSES = ['sum', 'mean'] as const;
export type ReconstructionLoss = (typeof RECONSTRUCTION_LOSSES)[number];

export interface StepSettings {
  /** Beta(alpha, alpha) for lambda (the papers: 2). */
  alpha: number;
  /**
   * Sinkhorn settings of the aligned modes. Non-convergence is reported in the step's diagnostics
   * (the batch log); the console warning is off unless `warn` is set (true or a callback).
   */
  sinkhorn: NonNullable<AlignOptions['sinkhorn']>;
  /** Weight of the reconstruction loss on clean batches (models with a decoder). */
  reconstructionWeight: number;
  /** Weight of the KL term on clean batches (VAE models). */
  klWeight: number;
  /** Lr per image as the sum of squared pixel differences ('sum', default) or their mean ('mean'). */
  reconstructionLoss?: ReconstructionLoss;
  /**
   * Clean batches of a model with a decoder also optimise Lc (default true: the main paper's
   * AlignMix); false optimises Lr [+ KL] only (the supplementary's AlignMixup/AE). Lc is still
   * reported. Without a decoder a clean batch always optimises Lc.
   */
  cleanClassification?: boolean;
  /** Layers k (h_k, 0 = input) among which manifold mixup draws; default manifoldLayers(model). */
  manifoldLayers?: number[];
  /** Plan of the aligned modes: Sinkhorn's (default) or a random control drawn from the step's stream. */
  plan?: 'sinkhorn' | RandomPlanKind;
  /** One lambda per example (both papers' Algorithm 1) instead of one per batch (the authors' code; default). */
  lambdaPerExample?: boolean;
}

/** The random choices of one batch, drawn before any tensor work (and logged). */
export interface BatchChoices {
  mode: MixMode;
  /** lambda of the batch; with per-example lambdas, their mean. */
  lambda: number;
  /** Per-example lambdas (settings.lambdaPerExample), one per example of the batch. */
  lambdas?: number[];
  perm: number[];
  /** manifold mode: the layer h_k that is mixed. */
  layer?: number;
}

export interface BatchLosses {
  /** The optimised loss. */
  total: number;
  classification: number;
  reconstruction?: number;
  kl?: number;
}

export interface StepResult extends BatchChoices {
  losses: BatchLosses;
  /** Weight of y in the soft target: lambda, or for CutMix the mean pasted-area-corrected weight. */
  targetWeight: number;
  sinkhorn?: SinkhornDiagnostics;
}

/**
 * Default manifold-mixup layers: the input and the outputs of the first two residual stages, as
 * Verma et al. use for PreActResNet and WRN (k in {0, 1, 2} of their code); for encoders without
 * 'layer1'/'layer2' stages, h_0..h_2.
 */
export function manifoldLayers(model: AlignMixModel): number[] {
  const names = model.encoder.stageNames;
  const l1 = names.indexOf('layer1');
  const l2 = names.indexOf('layer2');
  if (l1 >= 0 && l2 >= 0) return [0, l1 + 1, l2 + 1];
  return [0, 1, 2].filter((k) => k < model.numStages);
}

/** Check that every mode of the schedule can run on this model. */
export function checkModesForModel(schedule: ModeSchedule, model: AlignMixModel): void {
  for (const { mode } of schedule) {
    if ((mode === 'latentAligned' || mode === 'latentAlignedPrime') && model.embeddingKind !== 'conv') {
      throw new Error(`Mix mode '${mode}' aligns the latent tensor Z and needs a model with embedding 'conv' (this one has '${model.embeddingKind}')`);
    }
  }
}

/** Draw mode, lambda, partners (and the manifold layer) for a batch of `batch` examples. */
export function drawBatchChoices(schedule: ModeSchedule, batch: number, rng: Rng, alpha: number, layers: number[], perExample = false): BatchChoices {
  const mode = drawMode(schedule, rng);
  const perm = drawPermutation(batch, rng);
  if (perExample && mode !== 'clean') {
    const lambdas = Array.from({ length: batch }, () => drawLambda(rng, alpha));
    const choices: BatchChoices = { mode, lambda: lambdas.reduce((a, l) => a + l, 0) / batch, lambdas, perm };
    if (mode === 'manifold') choices.layer = layers[rng.int(layers.length)];
    return choices;
  }
  const lambda = mode === 'clean' ? 1 : drawLambda(rng, alpha);
  const choices: BatchChoices = { mode, lambda, perm };
  if (mode === 'manifold') choices.layer = layers[rng.int(layers.length)];
  return choices;
}

/** Mean over the batch of -sum_k t_k log softmax(logits)_k. */
function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/**
 * Lr averaged over the batch: mean_b sum_{h,w,c} (x - x_hat)^2 for 'sum'; the same divided by the
 * H W C values of one image for 'mean'.
 */
export function reconstructionLoss(x: tf.Tensor4D, xHat: tf.Tensor4D, scale: ReconstructionLoss): tf.Scalar {
  return tf.tidy(() => {
    const perImage = tf.sum(tf.squaredDifference(xHat, x), [1, 2, 3]);
    const [, h, w, c] = x.shape;
    return (scale === 'sum' ? tf.mean(perImage) : tf.div(tf.mean(perImage), h * w * c)) as tf.Scalar;
  });
}

/** z from A: e(A), or for a VAE a sample mu + sigma * noise with its KL term. */
function latentOf(model: AlignMixModel, a: tf.Tensor4D, rng: Rng): { z: tf.Tensor; kl?: tf.Scalar } {
  if (!model.isVae) return { z: model.embed(a) };
  const { mu, sigma } = model.embedGaussian(a);
  return { z: reparameterize(mu, sigma, rng), kl: tf.mean(klDivergence(mu, sigma)) as tf.Scalar };
}

interface LossParts {
  loss: tf.Scalar;
  /** g(z) of the batch (mixed or clean). */
  logits: tf.Tensor2D;
  classification: tf.Scalar;
  reconstruction?: tf.Scalar;
  kl?: tf.Scalar;
  targetWeight: number;
  sinkhorn?: SinkhornDiagnostics;
}

/**
 * The loss of one batch under `choices` (train mode). Call inside a gradient scope; the returned
 * scalars and the logits are kept (tf.keep) so they survive the scope: the caller disposes them.
 */
export function batchLoss(
  model: AlignMixModel, x: tf.Tensor4D, y: tf.Tensor1D, choices: BatchChoices, settings: StepSettings, rng: Rng,
): LossParts {
  const k = model.numClasses;
  const { mode, perm } = choices;
  const lambda: Lambda = choices.lambdas ?? choices.lambda;
  const yOwn = softTargets(y, k);
  const yMix = (weight: Lambda) => mix(yOwn, gatherPartners(yOwn, perm), weight);
  const alignedMix = <T extends FeatureTensor>(a: T, b: T, direction: AlignDirection) => {
    const options: AlignOptions = { direction, checkFinite: false, sinkhorn: { ...settings.sinkhorn, warn: settings.sinkhorn.warn ?? false } };
    const planSource = settings.plan ?? 'sinkhorn';
    return planSource === 'sinkhorn' ? mixAlignedFeatures(a, b, lambda, options) : mixWithRandomPlan(a, b, lambda, planSource, rng, options);
  };
  let logits: tf.Tensor2D;
  let targets: tf.Tensor2D = yOwn;
  let targetWeight = choices.lambda;
  let reconstruction: tf.Scalar | undefined;
  let kl: tf.Scalar | undefined;
  let sinkhornDiag: SinkhornDiagnostics | undefined;

  switch (mode) {
    case 'clean': {
      const lat = latentOf(model, model.features(x, 'train'), rng);
      logits = model.classify(lat.z);
      if (model.decoder) reconstruction = reconstructionLoss(x, model.decode(lat.z, 'train'), settings.reconstructionLoss ?? 'sum');
      kl = lat.kl;
      break;
    }
    case 'input': {
      const xm = mix(x, gatherPartners(x, perm), lambda);
      logits = model.classify(latentOf(model, model.features(xm, 'train'), rng).z);
      targets = yMix(lambda);
      break;
    }
    case 'cutmix': {
      const { mixed, lambdas } = cutMix(x, gatherPartners(x, perm), lambda, rng);
      logits = model.classify(latentOf(model, model.features(mixed, 'train'), rng).z);
      targets = yMix(lambdas);
      targetWeight = lambdas.reduce((s, v) => s + v, 0) / lambdas.length;
      break;
    }
    case 'manifold': {
      const layer = choices.layer ?? 0;
      const h = model.featuresRange(x, 0, layer, 'train');
      const a = model.featuresRange(mix(h, gatherPartners(h, perm), lambda), layer, model.numStages, 'train');
      logits = model.classify(latentOf(model, a, rng).z);
      targets = yMix(lambda);
      break;
    }
    case 'latent': {
      const a = model.features(x, 'train');
      let z: tf.Tensor;
      if (model.isVae) {
        // The two Gaussian heads are mixed simultaneously, then sampled.
        const { mu, sigma } = model.embedGaussian(a);
        z = reparameterize(mix(mu, gatherPartners(mu, perm), lambda), mix(sigma, gatherPartners(sigma, perm), lambda), rng);
      } else {
        const z0 = model.embed(a);
        z = mix(z0, gatherPartners(z0, perm), lambda);
      }
      logits = model.classify(z);
      targets = yMix(lambda);
      break;
    }
    case 'featPlain':
    case 'feat':
    case 'featPrime': {
      const a = model.features(x, 'train');
      const aPartner = gatherPartners(a, perm);
      let mixed: tf.Tensor4D;
      if (mode === 'featPlain') {
        mixed = mix(a, aPartner, lambda);
      } else {
        const r = alignedMix(a, aPartner, mode === 'feat' ? 'aToB' : 'bToA');
        mixed = r.mixed;
        sinkhornDiag = r.diagnostics;
      }
      logits = model.classify(latentOf(model, mixed, rng).z);
      targets = yMix(lambda);
      break;
    }
    case 'latentAligned':
    case 'latentAlignedPrime': {
      // Z = e(A) is a [B, 2, 2, c] tensor; for a VAE the aligned quantity is the sample.
      const z = latentOf(model, model.features(x, 'train'), rng).z as tf.Tensor4D;
      const r = alignedMix(z, gatherPartners(z, perm), mode === 'latentAligned' ? 'aToB' : 'bToA');
      sinkhornDiag = r.diagnostics;
      logits = model.classify(r.mixed);
      targets = yMix(lambda);
      break;
    }
    default: {
      const never: never = mode;
      throw new Error(`batchLoss: unknown mode ${never}`);
    }
  }

  const classification = softCrossEntropy(logits, targets);
  const terms: tf.Scalar[] = [];
  if (!reconstruction || (settings.cleanClassification ?? true)) terms.push(classification);
  if (reconstruction) terms.push(tf.mul(reconstruction, settings.reconstructionWeight));
  if (kl) terms.push(tf.mul(kl, settings.klWeight));
  const loss = terms.length === 1 ? terms[0] : tf.addN(terms) as tf.Scalar;
  const keep = <T extends tf.Tensor | undefined>(t: T): T => (t ? tf.keep(t) : t);
  return {
    loss: keep(loss), classification: keep(classification), logits: keep(logits), reconstruction: keep(reconstruction), kl: keep(kl),
    targetWeight, sinkhorn: sinkhornDiag,
  };
}

/**
 * One optimisation step on (x, y): draw the choices, backpropagate, update with `optimizer` at
 * learning rates `lr` (per parameter group). Inputs are not disposed. Throws if the loss is not
 * finite (before the weights are touched).
 */
export function trainStep(
  model: AlignMixModel, optimizer: SGD, x: tf.Tensor4D, y: tf.Tensor1D,
  schedule: ModeSchedule, settings: StepSettings, lr: Record<string, number>, rng: Rng,
): StepResult {
  const choices = drawBatchChoices(schedule, x.shape[0], rng, settings.alpha, settings.manifoldLayers ?? manifoldLayers(model), settings.lambdaPerExample);
  return trainStepWithChoices(model, optimizer, x, y, choices, settings, lr, rng);
}

/** What `inspect` sees of a step before the update: the logits and the gradient of every parameter (by variable name). */
export interface StepInternals {
  logits: tf.Tensor2D;
  grads: tf.NamedTensorMap;
}

/**
 * The step of `trainStep` for choices drawn elsewhere (a replayed batch, a comparison with a
 * reference implementation). `inspect` is called before the update; its tensors are disposed
 * after it returns.
 */
export function trainStepWithChoices(
  model: AlignMixModel, optimizer: SGD, x: tf.Tensor4D, y: tf.Tensor1D, choices: BatchChoices,
  settings: StepSettings, lr: Record<string, number>, rng: Rng, inspect?: (step: StepInternals) => void,
): StepResult {
  const vars = model.namedParameters().map(([, v]) => v);
  let parts: LossParts | undefined;
  const { value, grads } = tf.variableGrads(() => {
    parts = batchLoss(model, x, y, choices, settings, rng);
    return parts.loss;
  }, vars);
  const p = parts as LossParts;
  const read = (t?: tf.Scalar) => (t ? t.dataSync()[0] : undefined);
  const losses: BatchLosses = { total: read(value) as number, classification: read(p.classification) as number };
  const rec = read(p.reconstruction);
  const kl = read(p.kl);
  if (rec !== undefined) losses.reconstruction = rec;
  if (kl !== undefined) losses.kl = kl;
  try {
    if (!Number.isFinite(losses.total)) {
      throw new NonFiniteLossError(`loss is ${losses.total} (mode ${choices.mode}, lambda ${choices.lambda.toFixed(4)})`);
    }
    inspect?.({ logits: p.logits, grads });
    optimizer.step(grads, lr);
  } finally {
    tf.dispose(([value, p.loss, p.classification, p.logits, p.reconstruction, p.kl] as (tf.Tensor | undefined)[]).filter((t): t is tf.Tensor => !!t));
    tf.dispose(grads);
  }
  const result: StepResult = { ...choices, losses, targetWeight: p.targetWeight };
  if (p.sinkhorn) result.sinkhorn = p.sinkhorn;
  return result;
}

/** Raised when a batch's loss is NaN or infinite; the weights are left as before the batch. */
export class NonFiniteLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteLossError';
  }
}
