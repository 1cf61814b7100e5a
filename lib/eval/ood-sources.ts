/**
 * Out-of-distribution image sets (supplementary Tables 7/8, main paper Table 3).
 *
 * Noise sets. The supplementary uses "test images from CIFAR-100 with Uniform and Gaussian noise
 * as OOD samples. Uniform is drawn from U(0, 1) and Gaussian from N(mu, sigma) with
 * mu = sigma = 0.5". As in ODIN (Liang et al. 2018), whose noise sets these are, each OOD image
 * is pure noise with the shape of a test image, one per test image (same count and shape):
 *   uniform:  v ~ U(0, 1) per pixel and channel, i.i.d.
 *   gaussian: v = clip_[0,1](mu + sigma * z), z ~ N(0, 1) i.i.d., mu = 0.5, sigma = 0.5 (a
 *             STANDARD DEVIATION of 0.5, variance 0.25). Clipping keeps the images valid
 *             pixels: P(v = 0) = P(v = 1) = Phi(-1) = 0.1587, the mean stays 0.5, and the
 *             standard deviation becomes 0.5 * sqrt(E[clip_[-1,1](z)^2]) = 0.3592.
 * Values are drawn from an `Rng` element by element in NHWC order, continuing across batches,
 * so the set depends only on the seed and the total shape, never on the batch size.
 *
 * Other datasets at another resolution (LSUN, iSUN, TinyImageNet) are brought to the ID input
 * size [H, W] by
 *   'resize': bilinear, half-pixel centres (as torchvision / OpenCV; tf.image.resizeBilinear with
 *             halfPixelCenters). No antialiasing: a 2x reduction (TinyImageNet 64 -> 32) averages
 *             each 2x2 block exactly; larger factors skip pixels.
 *   'crop':   the central H x W window, top-left corner at (floor((h - H)/2), floor((w - W)/2));
 *             the source must be at least H x W.
 * A 1-channel source is repeated to the model's channel count (grey -> RGB); other channel
 * mismatches are errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt, assertKnownKeys, assertOneOf, assertPositive, assertRank, shapeStr } from '../validate';
import { ImageBatch } from './types';

export const NOISE_KINDS = ['uniform', 'gaussian'] as const;
export type NoiseKind = (typeof NOISE_KINDS)[number];

export interface NoiseOptions {
  /** Gaussian mean; default 0.5. */
  mean?: number;
  /** Gaussian standard deviation; default 0.5. */
  std?: number;
}

export const GAUSSIAN_NOISE_DEFAULTS = { mean: 0.5, std: 0.5 } as const;

/**
 * A batch of noise images of `shape` [B, H, W, C], drawing the next B*H*W*C values of `rng`
 * (module comment). Caller disposes the result.
 */
export function noiseBatch(kind: NoiseKind, shape: readonly number[], rng: Rng, options: NoiseOptions = {}): tf.Tensor4D {
  const where = 'noiseBatch';
  assertOneOf(where, 'kind', kind, NOISE_KINDS);
  assertKnownKeys(where, options, ['mean', 'std']);
  if (shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${where}: shape must be [B, H, W, C] with positive integers, got ${shapeStr(shape)}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  if (kind === 'uniform') {
    for (let i = 0; i < size; i++) values[i] = rng.uniform();
  } else {
    const mean = options.mean ?? GAUSSIAN_NOISE_DEFAULTS.mean;
    const std = options.std ?? GAUSSIAN_NOISE_DEFAULTS.std;
    if (!Number.isFinite(mean)) throw new Error(`${where}: mean must be a finite number, got ${mean}`);
    assertPositive(where, 'std', std);
    for (let i = 0; i < size; i++) values[i] = Math.min(1, Math.max(0, mean + std * rng.normal()));
  }
  return tf.tensor4d(values, shape as [number, number, number, number], 'float32');
}

export interface NoiseSetOptions extends NoiseOptions {
  /** Images per batch; default 128. */
  batchSize?: number;
  /** Stream to draw from; default new Rng(seed). */
  rng?: Rng;
  /** Seed when no rng is given; default 0. */
  seed?: number;
}

/**
 * A noise OOD set of `count` images of `imageShape` [H, W, C], as batches (each batch's x is
 * fresh: the consumer disposes it, which the evaluation functions do for generators).
 */
export function noiseImages(
  kind: NoiseKind, count: number, imageShape: readonly number[], options: NoiseSetOptions = {},
): Generator<ImageBatch> {
  const where = 'noiseImages';
  assertOneOf(where, 'kind', kind, NOISE_KINDS);
  assertKnownKeys(where, options, ['mean', 'std', 'batchSize', 'rng', 'seed']);
  assertInt(where, 'count', count, 1);
  if (imageShape.length !== 3 || imageShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`${where}: imageShape must be [H, W, C] with positive integers, got ${shapeStr(imageShape)}`);
  }
  const batchSize = options.batchSize ?? 128;
  assertInt(where, 'batchSize', batchSize, 1);
  const rng = options.rng ?? new Rng(options.seed ?? 0);
  const noise = { mean: options.mean, std: options.std };
  // Checked above, generated lazily: a bad argument fails at the call, not at the first batch.
  return (function* () {
    for (let start = 0; start < count; start += batchSize) {
      const b = Math.min(batchSize, count - start);
      yield { x: noiseBatch(kind, [b, ...imageShape], rng, noise) };
    }
  })();
}

export type FitMode = 'resize' | 'crop';

export interface FitOptions {
  /** Target [H, W]. */
  size: readonly [number, number];
  /** 'resize' (default) or 'crop'. */
  fit?: FitMode;
  /** Target channel count; a 1-channel input is repeated to it. Default: keep. */
  channels?: number;
}

/** Bilinear resize with half-pixel centres (module comment). Caller disposes the result. */
export function resizeImages(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  assertRank('resizeImages', 'x', x, 4);
  checkSize('resizeImages', size);
  if (x.shape[1] === size[0] && x.shape[2] === size[1]) return tf.clone(x);
  return tf.tidy(() => tf.clipByValue(tf.image.resizeBilinear(x, [size[0], size[1]], false, true), 0, 1));
}

/** The central size[0] x size[1] window (module comment). Caller disposes the result. */
export function centerCropImages(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const where = 'centerCropImages';
  assertRank(where, 'x', x, 4);
  checkSize(where, size);
  const [, h, w] = x.shape;
  if (h < size[0] || w < size[1]) {
    throw new Error(`${where}: cannot crop ${size[0]}x${size[1]} from images of ${h}x${w}; use fit 'resize' for smaller images`);
  }
  const top = Math.floor((h - size[0]) / 2);
  const left = Math.floor((w - size[1]) / 2);
  return tf.slice(x, [0, top, left, 0], [-1, size[0], size[1], -1]);
}

function checkSize(where: string, size: readonly number[]): void {
  if (!(Array.isArray(size) && size.length === 2 && size.every((d) => Number.isInteger(d) && d >= 1))) {
    throw new Error(`${where}: size must be [H, W] with positive integers, got ${JSON.stringify(size)}`);
  }
}

/** Bring images to the model's input size and channels (module comment). Caller disposes. */
export function fitImages(x: tf.Tensor4D, options: FitOptions): tf.Tensor4D {
  const where = 'fitImages';
  assertKnownKeys(where, options, ['size', 'fit', 'channels']);
  const mode = assertOneOf(where, 'fit', options.fit ?? 'resize', ['resize', 'crop'] as const);
  const channels = options.channels ?? x.shape[3];
  assertInt(where, 'channels', channels, 1);
  if (x.shape[3] !== channels && x.shape[3] !== 1) {
    throw new Error(`${where}: images have ${x.shape[3]} channels but the model takes ${channels}; only 1-channel images are converted`);
  }
  const sized = mode === 'resize' ? resizeImages(x, options.size) : centerCropImages(x, options.size);
  if (sized.shape[3] === channels) return sized;
  const tiled = tf.tile(sized, [1, 1, 1, channels]);
  sized.dispose();
  return tiled;
}
