/**
 * Small CNN for toy problems, notebooks and CI (Fashion-MNIST 28x28x1, CIFAR-sized 32x32x3):
 *
 *   stem:   conv3x3(C -> c0) -> BN -> ReLU                 (full resolution)
 *   block1..3: conv3x3 stride 2 pad 1 -> BN -> ReLU       (c0 -> c1 -> c2 -> c3)
 *
 * Default widths [32, 64, 64, 64]: 28x28 -> 28, 14, 7, 4 and 32x32 -> 32, 16, 8, 4, so
 * A = [4, 4, 64] in both cases — 16 positions, enough for alignment to matter. 'unstrided'
 * keeps stride 1 in block3 (A 7x7 / 8x8), 'pooled' averages A down to 2x2.
 */
import { Rng } from '../random';
import { assertInt } from '../validate';
import { ConvBnRelu } from './blocks';
import { ActivationShape, Encoder, EncoderStage } from './encoder';
import { EncoderBuildOptions, lastStageGeometry, stageSize } from './options';

export const SMALL_CNN_DEFAULT_WIDTHS: readonly number[] = [32, 64, 64, 64];

export function smallCnnEncoder(options: EncoderBuildOptions, rng: Rng, widths: readonly number[] = SMALL_CNN_DEFAULT_WIDTHS): Encoder {
  const where = 'smallCnnEncoder';
  if (widths.length < 2) throw new Error(`${where}: widths needs at least 2 entries (stem + one block), got [${widths}]`);
  widths.forEach((w, i) => assertInt(where, `widths[${i}]`, w, 1));
  const [height, width, channels] = options.inputShape;
  const { lastStride, featurePool } = lastStageGeometry(options.alignResolution, 2);
  const stages: EncoderStage[] = [];
  let shape: ActivationShape = [height, width, channels];
  widths.forEach((outChannels, i) => {
    const stride = i === 0 ? 1 : i === widths.length - 1 ? lastStride : 2;
    const module = new ConvBnRelu({ inChannels: shape[2], outChannels, kernelSize: 3, stride, padding: 1 }, rng);
    shape = [stageSize(where, shape[0], 3, stride, 1), stageSize(where, shape[1], 3, stride, 1), outChannels];
    stages.push({ name: i === 0 ? 'stem' : `block${i}`, module, outShape: shape });
  });
  return new Encoder({ inputShape: options.inputShape, stages, normalization: options.normalization, featurePool });
}
