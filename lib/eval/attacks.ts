/**
 * White-box l-inf attacks in pixel space (main paper Table 2, protocol of Kim et al. 2020):
 * FGSM (Goodfellow et al. 2015) with eps = 8/255 and PGD (Madry et al. 2018) with eps = 4/255
 * and step size 2/255. Robustness is reported as the top-1 error on the attacked images.
 *
 * Loss. L(x) = sum_i CE(f(x_i), y_i) = -sum_i log softmax(f(x_i))_{y_i}, with f the model's
 * logits on PIXEL input. The model normalises inside f, so the gradient is taken w.r.t. the
 * pixels and nothing here re-applies or inverts a normalisation (OpenMixup's PGD loop
 * de-normalises and re-normalises inside the loop; here that cannot happen). The sum rather
 * than the batch mean keeps small gradient entries from underflowing; sign() ignores the scale.
 *
 * FGSM:  x' = clip_[0,1]( x + eps * sign(grad_x L(x)) )
 * PGD:   x_0 = x, or with randomStart x_0 = clip_[0,1](x + delta), delta_i ~ U(-eps, eps) i.i.d.
 *        x_{t+1} = clip_[0,1]( clip_[x-eps, x+eps]( x_t + alpha * sign(grad_x L(x_t)) ) ),
 *        t = 0 .. steps-1. For x in [0,1] the two clips are one projection onto the box
 *        [max(x-eps, 0), min(x+eps, 1)] (computed once), so every iterate is inside the eps-ball
 *        around the CLEAN x and inside the valid pixel range.
 * sign(0) = 0: a pixel whose gradient is exactly zero does not move.
 *
 * Defaults: FGSM eps 8/255; PGD eps 4/255, step 2/255, 10 steps, random start on. The papers
 * give neither the PGD step count nor the start; 10 steps with a random start is the common
 * Madry et al. setting, and both are options. The random start is drawn from an `Rng`
 * (JS-side, element by element in NHWC order), so a seed reproduces it on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt, assertKnownKeys, assertRank } from '../validate';
import { forEachBatch, readLabels } from './batches';
import { batchSoftmax, checkClassifier, topOne, Top1Result } from './predict';
import { BatchSource, Classifier, LabeledBatch, SourceOptions } from './types';

export interface FgsmOptions {
  /** l-inf radius in pixel units; default 8/255. */
  eps?: number;
}

export interface PgdOptions {
  /** l-inf radius in pixel units; default 4/255. */
  eps?: number;
  /** Step size alpha; default 2/255. */
  stepSize?: number;
  /** Number of gradient steps; default 10. */
  steps?: number;
  /** Start from a uniform random point of the eps-ball (clipped to [0,1]); default true. */
  randomStart?: boolean;
  /** Stream for the random start; default a new Rng(0) per call. Pass one Rng across batches. */
  rng?: Rng;
  /**
   * Called with the iterate after the start (step 0) and after every step (1..steps). The tensor
   * is disposed after the callback returns: copy what you need.
   */
  onStep?: (step: number, x: tf.Tensor4D) => void;
}

export const FGSM_DEFAULTS = { eps: 8 / 255 } as const;
export const PGD_DEFAULTS = { eps: 4 / 255, stepSize: 2 / 255, steps: 10, randomStart: true } as const;

const FGSM_KEYS = ['eps'];
const PGD_KEYS = ['eps', 'stepSize', 'steps', 'randomStart', 'rng', 'onStep'];

function assertNonNegative(where: string, name: string, value: number): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    throw new Error(`${where}: ${name} must be a finite number >= 0, got ${value}`);
  }
}

/** Check x (rank 4, finite, pixels in [0,1]) and y (int32 labels, one per image, in range). */
function checkAttackInputs(where: string, model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): void {
  checkClassifier(where, model);
  if (!(x instanceof tf.Tensor)) throw new Error(`${where}: x must be a tensor, got ${typeof x}`);
  assertRank(where, 'x', x, 4);
  const [min, max] = tf.tidy(() => [tf.min(x), tf.max(x)]).map((t) => {
    const v = t.dataSync()[0];
    t.dispose();
    return v;
  });
  if (!(Number.isFinite(min) && Number.isFinite(max))) throw new Error(`${where}: x contains NaN or Inf values`);
  if (min < 0 || max > 1) {
    throw new Error(`${where}: x must hold pixels in [0, 1] (models normalise inside), got values in [${min}, ${max}]`);
  }
  readLabels(where, 'y', y, x.shape[0], model.numClasses);
}

/**
 * Gradient w.r.t. the pixels of the summed cross-entropy L(x) (module comment). Caller disposes
 * the result. Inputs are not validated (the attacks validate once per batch).
 */
export function crossEntropyInputGradient(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): tf.Tensor4D {
  return tf.tidy(() => {
    const target = tf.oneHot(y, model.numClasses, 1, 0, 'float32');
    const loss = (xi: tf.Tensor) => tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(model.predictLogits(xi as tf.Tensor4D)))));
    return tf.grad(loss)(x) as tf.Tensor4D;
  });
}

/** FGSM adversarial images (module comment). Caller disposes the result; x and y are untouched. */
export function fgsm(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: FgsmOptions = {}): tf.Tensor4D {
  const where = 'fgsm';
  assertKnownKeys(where, options, FGSM_KEYS);
  const eps = options.eps ?? FGSM_DEFAULTS.eps;
  assertNonNegative(where, 'eps', eps);
  checkAttackInputs(where, model, x, y);
  return tf.tidy(() => {
    const grad = crossEntropyInputGradient(model, x, y);
    return tf.clipByValue(tf.add(x, tf.mul(eps, tf.sign(grad))), 0, 1) as tf.Tensor4D;
  });
}

/** Uniform noise in [-eps, eps) with x's shape, drawn element by element from `rng`. */
function uniformBallNoise(shape: number[], eps: number, rng: Rng): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (2 * rng.uniform() - 1) * eps;
  return tf.tensor(values, shape, 'float32');
}

/** PGD adversarial images (module comment). Caller disposes the result; x and y are untouched. */
export function pgd(model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: PgdOptions = {}): tf.Tensor4D {
  const where = 'pgd';
  assertKnownKeys(where, options, PGD_KEYS);
  const eps = options.eps ?? PGD_DEFAULTS.eps;
  const stepSize = options.stepSize ?? PGD_DEFAULTS.stepSize;
  const steps = options.steps ?? PGD_DEFAULTS.steps;
  const randomStart = options.randomStart ?? PGD_DEFAULTS.randomStart;
  assertNonNegative(where, 'eps', eps);
  assertNonNegative(where, 'stepSize', stepSize);
  assertInt(where, 'steps', steps, 0);
  checkAttackInputs(where, model, x, y);
  const rng = options.rng ?? new Rng(0);

  const [lo, hi] = tf.tidy(() => [tf.maximum(tf.sub(x, eps), 0), tf.minimum(tf.add(x, eps), 1)]);
  let current: tf.Tensor4D = randomStart
    ? tf.tidy(() => tf.clipByValue(tf.add(x, uniformBallNoise(x.shape, eps, rng)), 0, 1) as tf.Tensor4D)
    : tf.clone(x);
  try {
    options.onStep?.(0, current);
    for (let step = 1; step <= steps; step++) {
      const next = tf.tidy(() => {
        const grad = crossEntropyInputGradient(model, current, y);
        return tf.minimum(tf.maximum(tf.add(current, tf.mul(stepSize, tf.sign(grad))), lo), hi) as tf.Tensor4D;
      });
      current.dispose();
      current = next;
      options.onStep?.(step, current);
    }
    return current;
  } catch (e) {
    current.dispose();
    throw e;
  } finally {
    lo.dispose();
    hi.dispose();
  }
}

export type AttackSpec =
  | ({ kind: 'fgsm' } & FgsmOptions)
  | ({ kind: 'pgd'; /** Seed of the random-start stream when no rng is given; default 0. */ seed?: number } & Omit<PgdOptions, 'onStep'>);

/** One-line description of an attack's settings, e.g. "eps=4/255 step=2/255 steps=10 random_start=seed 0". */
export function describeAttack(attack: AttackSpec): string {
  const frac = (v: number) => {
    const n = v * 255;
    return Math.abs(n - Math.round(n)) < 1e-9 ? `${Math.round(n)}/255` : String(v);
  };
  if (attack.kind === 'fgsm') return `eps=${frac(attack.eps ?? FGSM_DEFAULTS.eps)}`;
  const rs = attack.randomStart ?? PGD_DEFAULTS.randomStart;
  return `eps=${frac(attack.eps ?? PGD_DEFAULTS.eps)} step=${frac(attack.stepSize ?? PGD_DEFAULTS.stepSize)} `
    + `steps=${attack.steps ?? PGD_DEFAULTS.steps} random_start=${rs ? (attack.rng ? 'rng' : `seed ${attack.seed ?? 0}`) : 'off'}`;
}

/**
 * An attack bound to its settings and random stream, applied batch after batch. For PGD the one
 * Rng continues across batches, so a seed fixes the whole run.
 */
export function makeAttack(attack: AttackSpec): (model: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D {
  if (attack.kind === 'fgsm') {
    const { kind: _kind, ...fgsmOptions } = attack;
    return (model, x, y) => fgsm(model, x, y, fgsmOptions);
  }
  if (attack.kind === 'pgd') {
    const { kind: _kind, seed, ...pgdOptions } = attack;
    const rng = pgdOptions.rng ?? new Rng(seed ?? 0);
    return (model, x, y) => pgd(model, x, y, { ...pgdOptions, rng });
  }
  throw new Error(`makeAttack: unknown attack kind '${(attack as { kind: unknown }).kind}'; expected fgsm or pgd`);
}

/** Top-1 accuracy/error of the model on attacked images of a labelled set. */
export async function attackedTopOne(
  model: Classifier, data: BatchSource<LabeledBatch>, attack: AttackSpec, options: SourceOptions = {},
): Promise<Top1Result> {
  const where = 'attackedTopOne';
  checkClassifier(where, model);
  const run = makeAttack(attack);
  const labels: number[] = [];
  const predicted: number[] = [];
  await forEachBatch(where, 'data', data, options, (batch, i) => {
    const y = readLabels(where, `data batch ${i} y`, batch.y, batch.x.shape[0], model.numClasses);
    const adversarial = run(model, batch.x, batch.y);
    try {
      const soft = batchSoftmax(where, model, adversarial);
      for (let j = 0; j < y.length; j++) {
        labels.push(y[j]);
        predicted.push(soft.predicted[j]);
      }
    } finally {
      adversarial.dispose();
    }
  });
  if (labels.length === 0) throw new Error(`${where}: data yielded no batches`);
  return topOne(labels, predicted);
}
