/**
 * Batch-norm training on native TensorFlow's fused kernels, FusedBatchNormV3 and
 * FusedBatchNormGradV3 (oneDNN on CPU, cuDNN on GPU), run through tfjs-node's op executor.
 *
 * Why: tfjs-node registers FusedBatchNorm for inference only (is_training false), so TF.js
 * differentiates a training batch norm op by op. On a 2-core CPU the 17 batch norms of a
 * PreActResNet18 step at batch 32 (forward + backward) took 308 ms that way, 109 ms with the
 * gradient written out (lib/nn/batchnorm.ts) and 28.8 ms on these fused kernels
 * (bench/kernels.ts, record in bench/results/2026-11-23-kernels-b32.json).
 *
 * Outputs used: y, batch_mean, and batch_variance, which TensorFlow returns with Bessel's
 * correction (n / (n - 1)); it is converted back to the biased variance that BatchNorm2d's
 * contract (and PyTorch) uses. The reserve spaces are passed to the gradient untouched: their
 * meaning differs between the CPU and GPU kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TfeOpAttr } from './native-binding';
import type { NativeOpExecutor } from './native-ops';

function attrs(native: NativeOpExecutor, eps: number, forward: boolean): TfeOpAttr[] {
  const b = native.binding;
  return [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: eps },
    ...(forward ? [{ name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 }] : []),
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
}

export interface NativeBatchNormForward {
  y: tf.Tensor4D;
  mean: tf.Tensor1D;
  /** Biased batch variance. */
  variance: tf.Tensor1D;
  /** The kernel's reserve spaces, for nativeBatchNormGrad. */
  reserve: tf.Tensor[];
}

/** Training-mode batch norm of NHWC float32 `x`. Results in the current tidy scope. */
export function nativeBatchNormForward(native: NativeOpExecutor, x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): NativeBatchNormForward {
  const empty = tf.zeros([0]);
  const [y, mean, unbiased, ...reserve] = native.executeMultipleOutputs('FusedBatchNormV3', attrs(native, eps, true), [x, gamma, beta, empty, empty], 6);
  empty.dispose();
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  const variance = tf.mul(unbiased, (n - 1) / n) as tf.Tensor1D;
  unbiased.dispose();
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance, reserve };
}

/** Gradients (dx, dgamma, dbeta) of the forward above for output gradient `dy`. */
export function nativeBatchNormGrad(native: NativeOpExecutor, dy: tf.Tensor, x: tf.Tensor, gamma: tf.Tensor, reserve: tf.Tensor[], eps: number): tf.Tensor[] {
  const [dx, dgamma, dbeta, ...unused] = native.executeMultipleOutputs('FusedBatchNormGradV3', attrs(native, eps, false), [dy, x, gamma, ...reserve], 5);
  tf.dispose(unused);
  return [dx, dgamma, dbeta];
}
