/**
 * ResNet-50 (He et al. 2016) as in the authors' ImageNet code (the CutMix code, i.e. torchvision's
 * "v1.5" layout with the stride on the 3x3 convolution):
 *
 *   stem:   conv7x7(C -> 64, stride 2, pad 3) -> BN -> ReLU -> maxpool 3x3 stride 2 pad 1
 *   layer1..4: Bottlenecks [3, 4, 6, 3], widths 64, 128, 256, 512 (outputs 4x: 256 .. 2048),
 *              strides 1, 2, 2, 2 ('unstrided': the last stage keeps stride 1, as for CUB WSOL)
 *
 * Bottleneck(in, planes, stride):
 *   y = relu(BN3(conv1x1(relu(BN2(conv3x3_stride(relu(BN1(conv1x1(x))))))) + skip),
 *   skip = BN(conv1x1_stride(x)) if stride != 1 or in != 4 planes, else x.
 * Bias-free convolutions initialised N(0, 2 / (k^2 out)) as in that code; BN gamma 1, beta 0.
 * 224x224 input -> A = [7, 7, 2048] ([14, 14, 2048] unstrided). Parameters with 1000 classes:
 * 25,557,032 (= torchvision's resnet50).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv';
import { Forward4D, Mode, Module, Sequential } from '../nn/module';
import { maxPool2d } from '../nn/pool';
import { ConvBn, ConvBnRelu } from './blocks';
import { ActivationShape, Encoder, EncoderStage } from './encoder';
import { EncoderBuildOptions, lastStageGeometry, stageSize } from './options';

const EXPANSION = 4;

export class Bottleneck extends Module implements Forward4D {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly downsample: ConvBn | null;

  constructor(inPlanes: number, planes: number, stride: number, rng: Rng) {
    super();
    const init = 'he-normal-fan-out';
    const out = planes * EXPANSION;
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: inPlanes, outChannels: planes, kernelSize: 1, bias: false, init }, rng));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: planes }));
    this.conv2 = this.registerModule('conv2', new Conv2d({ inChannels: planes, outChannels: planes, kernelSize: 3, stride, padding: 1, bias: false, init }, rng));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: planes }));
    this.conv3 = this.registerModule('conv3', new Conv2d({ inChannels: planes, outChannels: out, kernelSize: 1, bias: false, init }, rng));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d({ numFeatures: out }));
    this.downsample = stride !== 1 || inPlanes !== out
      ? this.registerModule('downsample', new ConvBn({ inChannels: inPlanes, outChannels: out, kernelSize: 1, stride, init }, rng))
      : null;
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    let h = tf.relu(this.bn1.forward(this.conv1.forward(x), mode));
    h = tf.relu(this.bn2.forward(this.conv2.forward(h), mode));
    h = this.bn3.forward(this.conv3.forward(h), mode);
    return tf.relu(tf.add(h, this.downsample ? this.downsample.forward(x, mode) : x)) as tf.Tensor4D;
  }
}

/** conv7x7/2 + BN + ReLU, then max-pool 3x3/2 with padding 1. */
class ResNetStem extends Module implements Forward4D {
  readonly body: ConvBnRelu;

  constructor(inChannels: number, rng: Rng) {
    super();
    this.body = this.registerModule('body', new ConvBnRelu({ inChannels, outChannels: 64, kernelSize: 7, stride: 2, padding: 3, init: 'he-normal-fan-out' }, rng));
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    return maxPool2d(this.body.forward(x, mode), 3, 2, 1);
  }
}

const WIDTHS = [64, 128, 256, 512];
const BLOCKS = [3, 4, 6, 3];

export function resNet50Encoder(options: EncoderBuildOptions, rng: Rng): Encoder {
  const where = 'resNet50Encoder';
  const [height, width, channels] = options.inputShape;
  const { lastStride, featurePool } = lastStageGeometry(options.alignResolution, 2);
  const stemSize = (n: number) => stageSize(where, stageSize(where, n, 7, 2, 3), 3, 2, 1);
  const stages: EncoderStage[] = [{ name: 'stem', module: new ResNetStem(channels, rng), outShape: [stemSize(height), stemSize(width), 64] }];
  let shape: ActivationShape = stages[0].outShape;
  WIDTHS.forEach((planes, i) => {
    const stride = i === 0 ? 1 : i === WIDTHS.length - 1 ? lastStride : 2;
    const blocks: Bottleneck[] = [];
    for (let b = 0; b < BLOCKS[i]; b++) blocks.push(new Bottleneck(b === 0 ? shape[2] : planes * EXPANSION, planes, b === 0 ? stride : 1, rng));
    shape = [stageSize(where, shape[0], 3, stride, 1), stageSize(where, shape[1], 3, stride, 1), planes * EXPANSION];
    stages.push({ name: `layer${i + 1}`, module: new Sequential(blocks), outShape: shape });
  });
  return new Encoder({ inputShape: options.inputShape, stages, normalization: options.normalization, featurePool });
}
