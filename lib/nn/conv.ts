/**
 * 2-D convolution, NHWC activations and HWIO weights `[kh, kw, in, out]`:
 *   y[b, i, j, o] = bias[o] + sum_{u, v, c} xpad[b, s i + u, s j + v, c] * W[u, v, c, o]
 * with PyTorch's symmetric zero padding (see ./padding). A PyTorch weight `[out, in, kh, kw]`
 * maps to ours by transposing to `[kh, kw, in, out]`.
 *
 * Convolutions followed by batch norm take `bias: false` (BN's shift absorbs a bias exactly).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt, assertShape } from '../validate';
import { ConvInit, normalTensor, pytorchDefaultBound, uniformTensor } from './init';
import { Module } from './module';
import { symmetricPadding } from './padding';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** Default 1. */
  stride?: number;
  /** Symmetric zero padding on each side, PyTorch's `padding=` (default 0). */
  padding?: number;
  /** Default true. */
  bias?: boolean;
  /** Weight initialisation (default 'pytorch'); see ./init. */
  init?: ConvInit;
}

export class Conv2d extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;

  constructor(options: Conv2dOptions, rng: Rng) {
    super();
    const { inChannels, outChannels, kernelSize, stride = 1, padding = 0, bias = true, init = 'pytorch' } = options;
    assertInt('Conv2d', 'inChannels', inChannels, 1);
    assertInt('Conv2d', 'outChannels', outChannels, 1);
    assertInt('Conv2d', 'kernelSize', kernelSize, 1);
    assertInt('Conv2d', 'stride', stride, 1);
    assertInt('Conv2d', 'padding', padding, 0);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    const bound = pytorchDefaultBound(inChannels * kernelSize * kernelSize);
    const w = init === 'pytorch'
      ? uniformTensor(shape, -bound, bound, rng)
      : normalTensor(shape, Math.sqrt(2 / (kernelSize * kernelSize * outChannels)), rng);
    this.weight = this.registerParameter('weight', w);
    this.bias = bias ? this.registerParameter('bias', uniformTensor([outChannels], -bound, bound, rng)) : null;
  }

  /** Result in the current tidy scope. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    assertShape('Conv2d.forward', 'x', x, [null, null, null, this.inChannels]);
    const { input, pad } = symmetricPadding(x, this.kernelSize, this.stride, this.padding);
    const y = tf.conv2d(input, this.weight as tf.Tensor4D, this.stride, pad);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
