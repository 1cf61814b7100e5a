/**
 * Up-sampling for the residual generator used as decoder (Gulrajani et al. 2017 / Miyato et al.
 * 2018 style "ResBlock up"):
 *
 *   main:     BN -> ReLU -> upsample -> conv3x3 (in -> out) -> BN -> ReLU -> conv3x3 (out -> out)
 *   shortcut: conv1x1 (in -> out, only if the channel count changes) -> upsample
 *   y = main + shortcut
 *
 * Up-sampling is nearest neighbour to an explicit target size, so a decoder can mirror any encoder
 * geometry (4 -> 8 -> 16 -> 32, or 4 -> 7 -> 14 -> 28 for 28x28 inputs). The shortcut applies its
 * 1x1 convolution BEFORE up-sampling: a 1x1 convolution acts per pixel, so it commutes with
 * nearest-neighbour up-sampling, and this order does the work at the low resolution.
 * The convolutions carry no bias: each is followed by a BN (directly, or through the next block
 * or the decoder's output BN), whose shift absorbs it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt } from '../validate';
import { BatchNorm2d } from './batchnorm';
import { Conv2d } from './conv';
import { Forward4D, Mode, Module } from './module';

/** Nearest-neighbour resize of NHWC `x` to [h, w]; returns `x` itself when the size already matches. */
export function upsampleNearest(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  if (x.shape[1] === size[0] && x.shape[2] === size[1]) return x;
  return tf.image.resizeNearestNeighbor(x, [size[0], size[1]]);
}

export interface ResidualUpBlockOptions {
  inChannels: number;
  outChannels: number;
  /** Spatial size [h, w] of the output. */
  outSize: [number, number];
}

export class ResidualUpBlock extends Module implements Forward4D {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;
  readonly outSize: [number, number];

  constructor(options: ResidualUpBlockOptions, rng: Rng) {
    super();
    const { inChannels, outChannels, outSize } = options;
    assertInt('ResidualUpBlock', 'outSize[0]', outSize[0], 1);
    assertInt('ResidualUpBlock', 'outSize[1]', outSize[1], 1);
    this.outSize = [outSize[0], outSize[1]];
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: inChannels }));
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels, outChannels, kernelSize: 3, padding: 1, bias: false }, rng));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: outChannels }));
    this.conv2 = this.registerModule('conv2', new Conv2d({ inChannels: outChannels, outChannels, kernelSize: 3, padding: 1, bias: false }, rng));
    this.shortcut = inChannels === outChannels
      ? null
      : this.registerModule('shortcut', new Conv2d({ inChannels, outChannels, kernelSize: 1, bias: false }, rng));
  }

  /** Result in the current tidy scope. */
  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    let h = tf.relu(this.bn1.forward(x, mode));
    h = this.conv1.forward(upsampleNearest(h, this.outSize));
    h = this.conv2.forward(tf.relu(this.bn2.forward(h, mode)));
    const skip = upsampleNearest(this.shortcut ? this.shortcut.forward(x) : x, this.outSize);
    return tf.add(h, skip);
  }
}
