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
 * The maths lives in the two pure functions below so a faster formulation can replace it in one
 * place.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertInRange, assertInt, assertPositive, assertShape } from '../validate';
import { Mode, Module } from './module';

export interface BatchNormOptions {
  numFeatures: number;
  /** PyTorch momentum: weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Default 1e-5. */
  eps?: number;
}

/**
 * Normalise with the batch's own statistics. Returns the output and the biased batch moments
 * (all in the current tidy scope).
 */
export function batchNormTrain(
  x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
  const shift = tf.sub(beta, tf.mul(mean, scale));
  return { y: tf.add(tf.mul(x, scale), shift), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
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
    return y;
  }
}
