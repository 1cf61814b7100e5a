/**
 * Wide ResNet WRN-d-k (Zagoruyko & Komodakis 2016) as in the authors' CIFAR code, d = 16, k = 8:
 *
 *   stem:   conv3x3(C -> 16), with bias, no BN
 *   layer1..3: n = (d - 4) / 6 = 2 WideBlocks each, widths 16k, 32k, 64k = 128, 256, 512,
 *              strides 1, 2, 2
 *   final:  BN -> ReLU (momentum 0.9 in PyTorch's convention, as the authors wrote it: the
 *           running statistics keep only 10% of their history per step)
 *
 * WideBlock(in, out, stride) (no dropout):
 *   y = conv3x3_stride(relu(BN2(conv3x3(relu(BN1(x)))))) + skip,
 *   skip = conv1x1_stride(x) if stride != 1 or in != out, else x
 * All convolutions carry a bias (the authors' code; PyTorch default init). 32x32 input ->
 * A = [8, 8, 512]. Parameters with 10 classes: 10,965,866.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { BatchNorm2d } from '../nn/batchnorm';
import { Conv2d } from '../nn/conv';
import { Forward4D, Mode, Module, Sequential } from '../nn/module';
import { BnRelu } from './blocks';
import { ActivationShape, Encoder, EncoderStage } from './encoder';
import { EncoderBuildOptions, lastStageGeometry, stageSize } from './options';

/** PyTorch momentum of the final BN in the authors' WRN (`nn.BatchNorm2d(c, momentum=0.9)`). */
export const WRN_FINAL_BN_MOMENTUM = 0.9;

export class WideBlock extends Module implements Forward4D {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;

  constructor(inPlanes: number, planes: number, stride: number, rng: Rng) {
    super();
    this.bn1 = this.registerModule('bn1', new BatchNorm2d({ numFeatures: inPlanes }));
    this.conv1 = this.registerModule('conv1', new Conv2d({ inChannels: inPlanes, outChannels: planes, kernelSize: 3, padding: 1 }, rng));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d({ numFeatures: planes }));
    this.conv2 = this.registerModule('conv2', new Conv2d({ inChannels: planes, outChannels: planes, kernelSize: 3, stride, padding: 1 }, rng));
    this.shortcut = stride !== 1 || inPlanes !== planes
      ? this.registerModule('shortcut', new Conv2d({ inChannels: inPlanes, outChannels: planes, kernelSize: 1, stride }, rng))
      : null;
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    const h = this.conv1.forward(tf.relu(this.bn1.forward(x, mode)));
    const y = this.conv2.forward(tf.relu(this.bn2.forward(h, mode)));
    return tf.add(y, this.shortcut ? this.shortcut.forward(x) : x);
  }
}

export interface WideResNetShape {
  depth: number;
  widenFactor: number;
}

export function wideResNetEncoder(options: EncoderBuildOptions, rng: Rng, net: WideResNetShape = { depth: 16, widenFactor: 8 }): Encoder {
  const where = 'wideResNetEncoder';
  if ((net.depth - 4) % 6 !== 0 || net.depth < 10) throw new Error(`${where}: depth must be 6n + 4 with n >= 1, got ${net.depth}`);
  const n = (net.depth - 4) / 6;
  const widths = [16 * net.widenFactor, 32 * net.widenFactor, 64 * net.widenFactor];
  const [height, width, channels] = options.inputShape;
  const { lastStride, featurePool } = lastStageGeometry(options.alignResolution, 2);
  const stages: EncoderStage[] = [{
    name: 'stem',
    module: new Conv2d({ inChannels: channels, outChannels: 16, kernelSize: 3, padding: 1 }, rng),
    outShape: [height, width, 16],
  }];
  let shape: ActivationShape = stages[0].outShape;
  widths.forEach((planes, i) => {
    const stride = i === 0 ? 1 : i === widths.length - 1 ? lastStride : 2;
    const blocks: WideBlock[] = [];
    for (let b = 0; b < n; b++) blocks.push(new WideBlock(b === 0 ? shape[2] : planes, planes, b === 0 ? stride : 1, rng));
    shape = [stageSize(where, shape[0], 3, stride, 1), stageSize(where, shape[1], 3, stride, 1), planes];
    stages.push({ name: `layer${i + 1}`, module: new Sequential(blocks), outShape: shape });
  });
  return new Encoder({
    inputShape: options.inputShape,
    stages,
    normalization: options.normalization,
    finalNorm: { name: 'bnOut', module: new BnRelu(widths[widths.length - 1], WRN_FINAL_BN_MOMENTUM) },
    featurePool,
  });
}
