/**
 * PreActResNet18 as in the authors' CIFAR / TinyImageNet code (itself the Manifold Mixup code):
 *
 *   stem:   conv3x3(C -> 64) -> BN -> ReLU                         (a stem BN that He et al.'s
 *                                                                   pre-activation net lacks)
 *   layer1..4: PreActBlocks [2, 2, 2, 2], widths 64, 128, 256, 512, strides 1, 2, 2, 2
 *   no final BN/ReLU: A is the raw sum of the last block.
 *
 * PreActBlock(in, out, stride):
 *   a = relu(BN1(x))
 *   skip = conv1x1_stride(a) if stride != 1 or in != out, else a     <- the authors' identity branch
 *   y = conv3x3(relu(BN2(conv3x3_stride(a)))) + skip                     carries relu(BN1(x)), not x
 * (their `shortcut` is an empty nn.Sequential applied to the pre-activated tensor). All convs
 * are bias-free, 3x3 with padding 1. 32x32 input -> A = [4, 4, 512]; 64x64 -> [8, 8, 512].
 * Parameters with 10 classes: 11,171,274 (the widely quoted 11,171,146 is the same net without
 * the stem BN's 128 parameters).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv';
import { Forward4D, Mode, Module, Sequential } from '../nn/module';
import { ConvBnRelu } from './blocks';
import { ActivationShape, Encoder, EncoderStage } from './encoder';
import { EncoderBuildOptions, lastStageGeometry, stageSize } from './options';

export class PreActBlock extends Module implements Forward4D {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;

  constructor(inPlanes: number, planes: number, stride: number, rng: Rng) {
    super();
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: inPlanes }));
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: inPlanes, outChannels: planes, kernelSize: 3, stride, padding: 1, bias: false }, rng));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: planes }));
    this.conv2 = this.registerModule('conv2', new Conv2d({ inChannels: planes, outChannels: planes, kernelSize: 3, padding: 1, bias: false }, rng));
    this.shortcut = stride !== 1 || inPlanes !== planes
      ? this.registerModule('shortcut', new Conv2d({ inChannels: inPlanes, outChannels: planes, kernelSize: 1, stride, bias: false }, rng))
      : null;
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    const a = tf.relu(this.bn1.forward(x, mode));
    const skip = this.shortcut ? this.shortcut.forward(a) : a;
    const h = this.conv1.forward(a);
    return tf.add(this.conv2.forward(tf.relu(this.bn2.forward(h, mode))), skip);
  }
}

const WIDTHS = [64, 128, 256, 512];
const BLOCKS = [2, 2, 2, 2];

export function preActResNet18Encoder(options: EncoderBuildOptions, rng: Rng): Encoder {
  const where = 'preActResNet18Encoder';
  const [height, width, channels] = options.inputShape;
  const { lastStride, featurePool } = lastStageGeometry(options.alignResolution, 2);
  const stages: EncoderStage[] = [{
    name: 'stem',
    module: new ConvBnRelu({ inChannels: channels, outChannels: 64, kernelSize: 3, padding: 1 }, rng),
    outShape: [height, width, 64],
  }];
  let shape: ActivationShape = stages[0].outShape;
  WIDTHS.forEach((planes, i) => {
    const stride = i === 0 ? 1 : i === WIDTHS.length - 1 ? lastStride : 2;
    const blocks: PreActBlock[] = [];
    for (let b = 0; b < BLOCKS[i]; b++) blocks.push(new PreActBlock(b === 0 ? shape[2] : planes, planes, b === 0 ? stride : 1, rng));
    shape = [stageSize(where, shape[0], 3, stride, 1), stageSize(where, shape[1], 3, stride, 1), planes];
    stages.push({ name: `layer${i + 1}`, module: new Sequential(blocks), outShape: shape });
  });
  return new Encoder({ inputShape: options.inputShape, stages, normalization: options.normalization, featurePool });
}
