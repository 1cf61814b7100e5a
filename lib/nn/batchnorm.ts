/**
 * Batch normalisation over NHWC activations with PyTorch's semantics (nn.BatchNorm2d).
 *
 * Train mode, per channel c over the n = B*H*W values of the batch:
 *   mu_c = mean(x_c),  var_c = mean((x_c - mu_c)^2)                  (biased, one tf.moments)
 *   y = (x - mu_c) / sqrt(var_c + eps) * gamma_c + beta_c            (computed as x * scale + shift)
 *   running_mean <- (1 - m) running_mean + m mu_c
 *   running_var  <- (1 - m) running_var  + m var_c * n / (n - 1)      (UNBIASED variance)
 * with momentum m = 0.1 and eps = 1e-5 by default. (Keras/TF.js call 1 - m the momentum.)
 * Gradients flow through mu_c and var_c as in PyTorch; the running-stat update is a side effect
 * that never reaches the output, so it does not change any gradient.
 *
 * Eval mode: y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta, with no update.
 *
 * The maths lives in the pure functions below: the training forward with its gradient written
 * out (and, on native TensorFlow, its fused kernels), and the eval forward.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeBatchNormForward, nativeBatchNormGrad } from '../backends/native-batchnorm';
import { nativeOpExecutor } from '../backends/native-ops';
import { assertInRange, assertInt, assertPositive, assertShape } from '../validate';
import { Mode, Module } from './module';

export interface BatchNormOptions {
  numFeatures: number;
  /** PyTorch momentum: weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Default 1e-5. */
  eps?: number;
}

interface BatchNormTrainResult { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D }

/**
 * A training batch norm as one custom-gradient op: `forward` returns y, the biased batch moments
 * and the tensors `grad` needs; `grad` returns (dx, dgamma, dbeta). The moments carry no gradient
 * and are kept (tf.keep: custom-gradient intermediates do not outlive the forward): the caller
 * disposes them.
 */
function customBatchNorm(
  x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor,
  forward: (x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor) => BatchNormTrainResult & { saved: tf.Tensor[] },
  grad: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[],
): BatchNormTrainResult {
  let moments!: { mean: tf.Tensor1D; variance: tf.Tensor1D };
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const { y, mean, variance, saved } = forward(xIn as tf.Tensor4D, g, b);
    moments = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save(saved);
    return { value: y, gradFunc: grad };
  });
  const y = f(x, gamma, beta) as tf.Tensor4D;
  return { y, ...moments };
}

/**
 * Normalise with the batch's own statistics, with the gradient written out instead of taken op
 * by op through the moments (the same values, ~3x fewer kernels in the backward pass):
 *   xh = (x - mu) r,  r = 1 / sqrt(var + eps),  y = gamma xh + beta,
 *   dbeta = sum dy,  dgamma = sum dy xh,  dx = gamma r (dy - dbeta / n - xh dgamma / n).
 * Returns the output (in the current tidy scope) and the biased batch moments (kept: the caller
 * disposes them).
 */
export function batchNormTrainClosedForm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): BatchNormTrainResult {
  return customBatchNorm(x, gamma, beta, (xIn, g, b) => {
    const { mean, variance } = tf.moments(xIn, [0, 1, 2]);
    const r = tf.rsqrt(tf.add(variance, eps));
    const scale = tf.mul(g, r);
    const y = tf.add(tf.mul(xIn, scale), tf.sub(b, tf.mul(mean, scale))) as tf.Tensor4D;
    return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D, saved: [xIn, mean, r, g] };
  }, (dy, [xs, mu, rs, gs]) => {
    const n = xs.size / (xs.shape[3] as number);
    const xh = tf.mul(tf.sub(xs, mu), rs);
    const dbeta = tf.sum(dy, [0, 1, 2]);
    const dgamma = tf.sum(tf.mul(dy, xh), [0, 1, 2]);
    const dx = tf.mul(tf.sub(tf.sub(dy, tf.div(dbeta, n)), tf.mul(xh, tf.div(dgamma, n))), tf.mul(gs, rs));
    return [dx, dgamma, dbeta];
  });
}

/**
 * Normalise with the batch's own statistics: on native TensorFlow through its fused training
 * kernels (../backends/native-batchnorm.ts), elsewhere with batchNormTrainClosedForm. Returns the
 * output (in the current tidy scope) and the biased batch moments (kept: the caller disposes them).
 */
export function batchNormTrain(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): BatchNormTrainResult {
  const native = x.dtype === 'float32' ? nativeOpExecutor() : null;
  if (!native) return batchNormTrainClosedForm(x, gamma, beta, eps);
  return customBatchNorm(x, gamma, beta, (xIn, g, b) => {
    const { y, mean, variance, reserve } = nativeBatchNormForward(native, xIn, g, b, eps);
    return { y, mean, variance, saved: [xIn, g, ...reserve] };
  }, (dy, [xs, gs, ...reserve]) => nativeBatchNormGrad(native, dy, xs, gs, reserve, eps));
}

/** Normalise with fixed statistics (eval mode). Result in the current tidy scope. */
export function batchNormEval(
  x: tf.Tensor4D, mean: tf.Tensor, variance: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number,
): tf.Tensor4D {
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
  const shift = tf.sub(beta, tf.mul(mean, scale));
  return tf.add(tf.mul(x, scale), shift);
}

export class BatchNorm2d extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numFeatures: number;
  readonly momentum: number;
  readonly eps: number;

  constructor(options: BatchNormOptions) {
    super();
    const { numFeatures, momentum = 0.1, eps = 1e-5 } = options;
    assertInt('BatchNorm2d', 'numFeatures', numFeatures, 1);
    assertInRange('BatchNorm2d', 'momentum', momentum, 0, 1);
    assertPositive('BatchNorm2d', 'eps', eps);
    this.numFeatures = numFeatures;
    this.momentum = momentum;
    this.eps = eps;
    this.gamma = this.registerParameter('gamma', tf.ones([numFeatures]));
    this.beta = this.registerParameter('beta', tf.zeros([numFeatures]));
    this.runningMean = this.registerBuffer('runningMean', tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('runningVar', tf.ones([numFeatures]));
  }

  /** In train mode also updates the running statistics. Result in the current tidy scope. */
  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    assertShape('BatchNorm2d.forward', 'x', x, [null, null, null, this.numFeatures]);
    if (mode === 'eval') return batchNormEval(x, this.runningMean, this.runningVar, this.gamma, this.beta, this.eps);
    const n = x.shape[0] * x.shape[1] * x.shape[2];
    if (n < 2) {
      throw new Error(`BatchNorm2d.forward: train mode needs more than 1 value per channel, got x of shape [${x.shape}]`);
    }
    const { y, mean, variance } = batchNormTrain(x, this.gamma, this.beta, this.eps);
    const m = this.momentum;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * n) / (n - 1))));
    });
    tf.dispose([mean, variance]);
    return y;
  }
}
