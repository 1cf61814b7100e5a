/**
 * Input normalisation inside the model: x_n = (x - mean_c) / std_c per channel, computed as
 * x * (1 / std) + (-mean / std). Callers pass pixel-space images in [0, 1], so attacks, mixing
 * and reconstruction losses all work in pixel space.
 *
 * Presets: 'cifar' — the authors' constants, used for CIFAR-10/100 AND TinyImageNet in their
 * code; 'imagenet' — torchvision's, used for ImageNet / CUB (ResNet-50); 'fashion-mnist' — the
 * training-set mean/std of Fashion-MNIST; 'none' — identity.
 */
import { assertOneOf } from '../validate';

export interface Normalization {
  mean: number[];
  std: number[];
}

export type NormalizationPreset = 'cifar' | 'imagenet' | 'fashion-mnist' | 'none';

export const NORMALIZATION_PRESETS: Readonly<Record<NormalizationPreset, Readonly<Normalization> | null>> = {
  'cifar': { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
  'imagenet': { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  'none': null,
};

/** Per-channel constants for `channels` input channels (a 1-channel preset repeats), or null for identity. */
export function resolveNormalization(
  where: string, value: NormalizationPreset | Normalization, channels: number,
): Normalization | null {
  let spec: Normalization | null;
  if (typeof value === 'string') {
    const name = assertOneOf(where, 'normalization', value, Object.keys(NORMALIZATION_PRESETS) as NormalizationPreset[]);
    const preset = NORMALIZATION_PRESETS[name];
    spec = preset ? { mean: [...preset.mean], std: [...preset.std] } : null;
  } else {
    spec = { mean: [...value.mean], std: [...value.std] };
  }
  if (!spec) return null;
  if (spec.mean.length === 1 && channels > 1) spec = { mean: Array(channels).fill(spec.mean[0]), std: Array(channels).fill(spec.std[0]) };
  if (spec.mean.length !== channels || spec.std.length !== channels) {
    throw new Error(`${where}: normalization has ${spec.mean.length} means and ${spec.std.length} stds, expected ${channels} (input channels)`);
  }
  if (spec.std.some((s) => !(s > 0)) || spec.mean.some((m) => !Number.isFinite(m))) {
    throw new Error(`${where}: normalization needs finite means and stds > 0, got ${JSON.stringify(spec)}`);
  }
  return spec;
}
