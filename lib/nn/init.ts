/**
 * Parameter initialisation, drawn from an `Rng` so that a model is reproducible from its seed on
 * every backend (values are generated in JavaScript, then uploaded).
 *
 * PyTorch's defaults, which the authors' CIFAR code relies on:
 *   nn.Conv2d / nn.Linear weight: kaiming_uniform_(a = sqrt(5)). The bound is
 *     gain * sqrt(3 / fan_in) with gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), i.e. U(-b, b) with
 *     b = 1 / sqrt(fan_in);
 *   bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in));
 *   fan_in = in_channels * kh * kw (conv) or in_features (linear).
 *   BatchNorm: gamma = 1, beta = 0, running mean 0, running var 1.
 * The authors' ResNet-50 (from the CutMix code) instead draws conv weights from
 * N(0, 2 / (kh * kw * out_channels)) — He normal with fan_out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';

/** How convolution weights are initialised (biases always use the PyTorch default). */
export type ConvInit = 'pytorch' | 'he-normal-fan-out';

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** U(low, high) of the given shape. Caller disposes. */
export function uniformTensor(shape: readonly number[], low: number, high: number, rng: Rng): tf.Tensor {
  const values = new Float32Array(size(shape));
  const span = high - low;
  for (let i = 0; i < values.length; i++) values[i] = low + span * rng.uniform();
  return tf.tensor(values, shape.slice(), 'float32');
}

/** N(0, std^2) of the given shape. Caller disposes. */
export function normalTensor(shape: readonly number[], std: number, rng: Rng): tf.Tensor {
  const values = new Float32Array(size(shape));
  for (let i = 0; i < values.length; i++) values[i] = std * rng.normal();
  return tf.tensor(values, shape.slice(), 'float32');
}

/** PyTorch's default weight/bias bound for a layer with this fan-in: 1 / sqrt(fan_in). */
export function pytorchDefaultBound(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}
