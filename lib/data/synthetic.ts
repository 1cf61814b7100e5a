/**
 * Seeded synthetic image classification: each class is a shape drawn in a colour, at a random
 * position and size over a random dark background, plus Gaussian pixel noise. Small, instant and
 * learnable: for toys, notebooks and CI.
 *
 * Class k draws shape SHAPES[k mod 8] in colour PALETTE[floor(k / 8)], so up to 8 classes differ
 * by shape alone and up to 64 are possible. Per image (all draws from the split's Rng, in this
 * order): centre = image centre + U(-s/8, s/8) on each axis (s = image size), radius
 * r = s * U(0.25, 0.4), background grey level U(0, 0.3), foreground brightness factor U(0.75, 1);
 * then per pixel and channel value = (inside ? colour * brightness : background) + N(0, noise),
 * clipped to [0, 1] and rounded to uint8. Shape membership uses normalised coordinates
 * (u, v) = ((x + 0.5 - cx) / r, (y + 0.5 - cy) / r).
 *
 * Splits are generated independently (streams forked from `seed` by split name), class by class.
 */
import { Rng } from '../random';
import { assertInRange, assertInt, assertKnownKeys, assertOneOf } from '../validate';
import { NO_TRANSFORM, padCropFlip } from './augment';
import { ImageDataset, memorySource } from './dataset';
import { sharedBytes } from './source';
import type { DatasetSplits, ImageShape } from './types';

type Inside = (u: number, v: number) => boolean;

const band = (t: number) => Math.floor((t + 0.9) * 2.5) % 2 === 0;
const inSquare = (u: number, v: number) => Math.abs(u) <= 0.9 && Math.abs(v) <= 0.9;

export const SYNTHETIC_SHAPES: readonly { name: string; inside: Inside }[] = [
  { name: 'disk', inside: (u, v) => u * u + v * v <= 1 },
  { name: 'square', inside: (u, v) => Math.max(Math.abs(u), Math.abs(v)) <= 0.75 },
  { name: 'triangle', inside: (u, v) => v >= -0.8 && v <= 0.8 && Math.abs(u) <= (v + 0.8) * 0.6 },
  { name: 'cross', inside: (u, v) => (Math.abs(u) <= 0.25 && Math.abs(v) <= 0.9) || (Math.abs(v) <= 0.25 && Math.abs(u) <= 0.9) },
  { name: 'ring', inside: (u, v) => u * u + v * v <= 1 && u * u + v * v >= 0.3 },
  { name: 'horizontal stripes', inside: (u, v) => inSquare(u, v) && band(v) },
  { name: 'vertical stripes', inside: (u, v) => inSquare(u, v) && band(u) },
  { name: 'checkerboard', inside: (u, v) => inSquare(u, v) && band(u) === band(v) },
];

/** Foreground colours (RGB in [0, 1]); greyscale images use their luma. */
export const SYNTHETIC_PALETTE: readonly { name: string; rgb: [number, number, number] }[] = [
  { name: 'white', rgb: [1, 1, 1] },
  { name: 'red', rgb: [1, 0.2, 0.2] },
  { name: 'green', rgb: [0.2, 1, 0.2] },
  { name: 'blue', rgb: [0.3, 0.4, 1] },
  { name: 'yellow', rgb: [1, 1, 0.2] },
  { name: 'magenta', rgb: [1, 0.2, 1] },
  { name: 'cyan', rgb: [0.2, 1, 1] },
  { name: 'orange', rgb: [1, 0.6, 0.1] },
];

export interface SyntheticOptions {
  /** Number of classes, 1..64 (default 4). */
  numClasses?: number;
  /** Image height and width (default 32). */
  imageSize?: number;
  /** 3 (RGB, default) or 1 (greyscale). */
  channels?: 1 | 3;
  /** Images per class in each split (default train 250, val 50, test 100). */
  perClass?: { train?: number; val?: number; test?: number };
  /** Standard deviation of the pixel noise, in [0, 1] units (default 0.1). */
  noise?: number;
  seed?: number;
}

/** Render one image into `out` (see module comment for the draws). */
function render(out: Uint8Array, offset: number, k: number, size: number, channels: 1 | 3, noise: number, rng: Rng): void {
  const { inside } = SYNTHETIC_SHAPES[k % SYNTHETIC_SHAPES.length];
  const rgb = SYNTHETIC_PALETTE[Math.floor(k / SYNTHETIC_SHAPES.length)].rgb;
  const colour = channels === 3 ? rgb : [0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]];
  const cx = size / 2 + (rng.uniform() - 0.5) * (size / 4);
  const cy = size / 2 + (rng.uniform() - 0.5) * (size / 4);
  const r = size * (0.25 + 0.15 * rng.uniform());
  const background = 0.3 * rng.uniform();
  const brightness = 0.75 + 0.25 * rng.uniform();
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const hit = inside((x + 0.5 - cx) / r, (y + 0.5 - cy) / r);
      for (let c = 0; c < channels; c++) {
        const clean = hit ? colour[c] * brightness : background;
        const value = clean + noise * rng.normal();
        out[offset + (y * size + x) * channels + c] = Math.round(255 * Math.min(1, Math.max(0, value)));
      }
    }
  }
}

/** Synthetic train / val / test splits (see module comment); `trainFull` = train + val. */
export function makeSyntheticDataset(options: SyntheticOptions = {}): DatasetSplits {
  const where = 'makeSyntheticDataset';
  assertKnownKeys(where, options, ['numClasses', 'imageSize', 'channels', 'perClass', 'noise', 'seed']);
  const numClasses = options.numClasses ?? 4;
  const size = options.imageSize ?? 32;
  const channels = options.channels ?? 3;
  const noise = options.noise ?? 0.1;
  const counts = { train: 250, val: 50, test: 100, ...options.perClass };
  assertInt(where, 'numClasses', numClasses, 1, SYNTHETIC_SHAPES.length * SYNTHETIC_PALETTE.length);
  assertInt(where, 'imageSize', size, 4);
  assertOneOf(where, 'channels', String(channels), ['1', '3']);
  assertInRange(where, 'noise', noise, 0, 1);
  assertKnownKeys(`${where} perClass`, counts, ['train', 'val', 'test']);
  for (const [key, n] of Object.entries(counts)) assertInt(where, `perClass.${key}`, n, 0);

  const shape: ImageShape = [size, size, channels];
  const classNames = Array.from({ length: numClasses }, (_, k) => {
    const colour = SYNTHETIC_PALETTE[Math.floor(k / SYNTHETIC_SHAPES.length)].name;
    return `${colour} ${SYNTHETIC_SHAPES[k % SYNTHETIC_SHAPES.length].name}`;
  });
  const transforms = { train: padCropFlip(Math.max(1, Math.floor(size / 8)), true), eval: NO_TRANSFORM };
  const base = new Rng(options.seed ?? 0);
  const bytes = size * size * channels;
  const generate = (split: 'train' | 'val' | 'test', perClass: number) => {
    const rng = base.fork(split);
    const pixels = sharedBytes(numClasses * perClass * bytes);
    const labels = new Int32Array(numClasses * perClass);
    for (let k = 0; k < numClasses; k++) {
      for (let i = 0; i < perClass; i++) {
        const n = k * perClass + i;
        render(pixels, n * bytes, k, size, channels, noise, rng);
        labels[n] = k;
      }
    }
    return { pixels, labels };
  };
  const make = (name: string, data: { pixels: Uint8Array; labels: Int32Array }) =>
    new ImageDataset({ name: `synthetic/${name}`, source: memorySource(data.pixels, data.labels, shape), imageShape: shape, classNames, transforms });
  const train = generate('train', counts.train);
  const val = generate('val', counts.val);
  const test = generate('test', counts.test);
  const full = sharedBytes(train.pixels.length + val.pixels.length);
  full.set(train.pixels);
  full.set(val.pixels, train.pixels.length);
  const fullLabels = Int32Array.from([...train.labels, ...val.labels]);
  return { train: make('train', train), val: make('val', val), test: make('test', test), trainFull: make('trainFull', { pixels: full, labels: fullLabels }) };
}
