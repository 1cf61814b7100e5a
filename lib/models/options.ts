/**
 * Names shared by the model options (lib/models/factory.ts) and the architecture builders.
 *
 * Alignment resolution (main paper Sec. 4.4, "Alignment resolution"): the spatial size of the
 * feature tensor A that is aligned and mixed.
 *   'default'    the architecture's own last feature map (PreActResNet18 on 32x32: 4x4);
 *   'pooled'     A average-pooled by 2 (4x4 -> 2x2);
 *   'unstrided'  no down-sampling in the last stage (4x4 -> 8x8; ResNet-50 7x7 -> 14x14, the CUB
 *                WSOL setting).
 */
import { pooledSize } from '../nn/padding';
import { ActivationShape } from './encoder';
import { Normalization } from './normalization';

export const ARCHS = ['preact-resnet18', 'wrn16-8', 'resnet50', 'small-cnn'] as const;
export type Arch = (typeof ARCHS)[number];

export const ALIGN_RESOLUTIONS = ['default', 'pooled', 'unstrided'] as const;
export type AlignResolution = (typeof ALIGN_RESOLUTIONS)[number];

/** What every architecture builder receives. */
export interface EncoderBuildOptions {
  inputShape: ActivationShape;
  alignResolution: AlignResolution;
  normalization: Normalization | null;
}

/** Stride of the last stage and the A pooling factor for an alignment resolution. */
export function lastStageGeometry(resolution: AlignResolution, defaultStride: number): { lastStride: number; featurePool: number } {
  return {
    lastStride: resolution === 'unstrided' ? 1 : defaultStride,
    featurePool: resolution === 'pooled' ? 2 : 1,
  };
}

/** pooledSize (PyTorch's window arithmetic), throwing when the map vanishes. */
export function stageSize(where: string, n: number, kernel: number, stride: number, padding: number): number {
  const out = pooledSize(n, kernel, stride, padding);
  if (out < 1) throw new Error(`${where}: input too small: a ${kernel}x${kernel} window with stride ${stride} leaves ${out} positions from ${n}`);
  return out;
}
