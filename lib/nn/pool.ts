/**
 * Pooling on NHWC tensors with PyTorch's window arithmetic (see ./padding).
 *   globalAvgPool: [B, h, w, c] -> [B, c], the mean over all positions (F.avg_pool2d(x, h) with
 *                  a window covering the whole map, as in the authors' code).
 *   avgPool2d:     k x k windows, stride s, no padding.
 *   maxPool2d:     k x k windows, stride s, symmetric padding p that never wins the max (PyTorch
 *                  pads max pooling with -inf).
 * Results are in the current tidy scope.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertRank } from '../validate';
import { symmetricPadding } from './padding';

export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  assertRank('globalAvgPool', 'x', x, 4);
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

export function avgPool2d(x: tf.Tensor4D, kernel: number, stride = kernel): tf.Tensor4D {
  assertRank('avgPool2d', 'x', x, 4);
  return tf.avgPool(x, kernel, stride, 'valid');
}

export function maxPool2d(x: tf.Tensor4D, kernel: number, stride = kernel, padding = 0): tf.Tensor4D {
  assertRank('maxPool2d', 'x', x, 4);
  const { input, pad } = symmetricPadding(x, kernel, stride, padding, -Infinity);
  return tf.maxPool(input, kernel, stride, pad);
}
