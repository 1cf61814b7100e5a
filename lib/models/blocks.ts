/**
 * Building blocks shared by the architectures.
 *   ConvBn:     BN(conv(x)) with a bias-free convolution (BN's shift absorbs a bias), e.g. the
 *               ResNet-50 projection shortcut.
 *   ConvBnRelu: relu(ConvBn(x)).
 *   BnRelu:     relu(BN(x)), e.g. WRN's final normalisation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv';
import { ConvInit } from '../nn/init';
import { Forward4D, Mode, Module } from '../nn/module';

export interface ConvBnOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  padding?: number;
  init?: ConvInit;
}

export class ConvBn extends Module implements Forward4D {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;

  constructor(options: ConvBnOptions, rng: Rng) {
    super();
    this.conv = this.registerModule('conv', new Conv2d({ ...options, bias: false }, rng));
    this.bn = this.registerModule('bn', new BatchNorm2d({ numFeatures: options.outChannels }));
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    return this.bn.forward(this.conv.forward(x), mode);
  }
}

export class ConvBnRelu extends ConvBn {
  override forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    return tf.relu(super.forward(x, mode));
  }
}

export class BnRelu extends Module implements Forward4D {
  readonly bn: BatchNorm2d;

  constructor(numFeatures: number, momentum?: number) {
    super();
    this.bn = this.registerModule('bn', new BatchNorm2d({ numFeatures, momentum }));
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    return tf.relu(this.bn.forward(x, mode));
  }
}
