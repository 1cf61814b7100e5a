/**
 * PyTorch-style symmetric padding on TensorFlow kernels.
 *
 * PyTorch pads p rows/columns on every side and gives out = floor((n + 2p - k) / s) + 1.
 * TensorFlow offers 'valid' (no padding) and 'same' (out = ceil(n / s), total padding
 * max((out - 1) s + k - n, 0), the smaller half BEFORE). The two agree exactly when the output
 * sizes agree and TF's leading pad equals p — e.g. 3x3 stride 1 pad 1 always, 3x3 stride 2 pad 1
 * only for odd n. Otherwise (3x3 stride 2 pad 1 on an even size, 7x7 stride 2 pad 3 on 224) TF's
 * 'same' shifts the sampling grid by one pixel, so the input is padded explicitly and the op runs
 * 'valid'. The native backend's gradient kernels reject explicit padding in conv/pool attributes,
 * which is why explicit padding is a separate pad op.
 */
import * as tf from '@tensorflow/tfjs-core';

/** PyTorch's output size for a conv/pool window: floor((n + 2p - k) / s) + 1. */
export function pooledSize(n: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((n + 2 * padding - kernel) / stride) + 1;
}

/** Whether TF 'same' padding reproduces symmetric padding p on an input of size n. */
export function sameMatchesSymmetric(n: number, kernel: number, stride: number, padding: number): boolean {
  const out = Math.ceil(n / stride);
  const total = Math.max((out - 1) * stride + kernel - n, 0);
  return out === pooledSize(n, kernel, stride, padding) && Math.floor(total / 2) === padding;
}

/**
 * The input and TF padding mode that implement symmetric padding p for a k x k window with the
 * given stride on NHWC `x`: `x` itself with 'valid' or 'same' when one of them is equivalent,
 * otherwise `x` padded with `padValue` and 'valid'. The returned input is `x` or a new tensor in
 * the current tidy scope.
 */
export function symmetricPadding(
  x: tf.Tensor4D, kernel: number, stride: number, padding: number, padValue = 0,
): { input: tf.Tensor4D; pad: 'valid' | 'same' } {
  if (padding === 0) return { input: x, pad: 'valid' };
  const [, h, w] = x.shape;
  if (sameMatchesSymmetric(h, kernel, stride, padding) && sameMatchesSymmetric(w, kernel, stride, padding)) {
    return { input: x, pad: 'same' };
  }
  const p: [number, number] = [padding, padding];
  return { input: tf.pad(x, [[0, 0], p, p, [0, 0]], padValue), pad: 'valid' };
}
