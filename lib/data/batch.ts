/**
 * Assembling one batch on the CPU: read the items, transform each with the batch's `Rng`, write
 * them as float32 NHWC. The loader runs this either on the main thread or in a worker
 * (./batch-worker-main); the inputs are plain data, so both produce bit-identical arrays.
 *
 * Output values: without `normalization`, x = v / 255 in [0, 1] (what the models take: they
 * normalise inside, lib/models/normalization.ts); with it, torchvision's ToTensor + Normalize,
 *     x = (v / 255 - mean_c) / std_c   for channel c,
 * computed as v * (1 / (255 std_c)) - mean_c / std_c in float64 and rounded once to float32.
 *
 * Runs in worker threads: no TensorFlow.js tensors here.
 */
import { Rng, RngState } from '../random';
import { readItem, transformItem } from './source';
import type { DatasetSource, FileSource, FloatCrop, ImageShape, TransformSpec } from './types';

/** Per-channel mean and std of the output mapping (module comment). */
export interface PixelNormalization {
  mean: number[];
  std: number[];
}

export interface BatchTask {
  /** Source item indices, in batch order. */
  indices: Int32Array;
  /** State of the batch's augmentation stream; examples draw from it in batch order. */
  rngState: RngState;
  transform: TransformSpec;
  /** Shape every transformed example must have. */
  shape: ImageShape;
  /** Normalise the output (module comment); default: v / 255. */
  normalization?: PixelNormalization;
}

export interface BatchArrays {
  /** [B, h, w, c] pixels, row-major: in [0, 1], or normalised. */
  x: Float32Array;
  /** [B] class indices. */
  y: Int32Array;
}

/** Check a normalisation against `channels`; errors name the field. */
export function checkNormalization(where: string, n: PixelNormalization, channels: number): void {
  if (n.mean.length !== channels || n.std.length !== channels) {
    throw new Error(`${where}: normalization has ${n.mean.length} means and ${n.std.length} stds, expected ${channels} (one per channel)`);
  }
  if (n.std.some((s) => !(s > 0 && Number.isFinite(s))) || n.mean.some((m) => !Number.isFinite(m))) {
    throw new Error(`${where}: normalization needs finite means and finite stds > 0, got ${JSON.stringify(n)}`);
  }
}

/** The normalised mapping x = v * scale_c + shift_c (module comment), per channel. */
function normalizationCoefficients(n: PixelNormalization): { scale: number[]; shift: number[] } {
  return { scale: n.std.map((s) => 1 / (255 * s)), shift: n.mean.map((m, c) => -m / n.std[c]) };
}

/** Write uint8 pixels to `x` from `offset` as the module comment's output values. */
function writePixels(x: Float32Array, offset: number, pixels: Uint8Array, channels: number, normalization?: PixelNormalization): void {
  if (!normalization) {
    // v / 255 in float64, rounded once to float32: the same value as float32 division.
    for (let i = 0; i < pixels.length; i++) x[offset + i] = pixels[i] / 255;
    return;
  }
  const { scale, shift } = normalizationCoefficients(normalization);
  if (channels === 3) {
    // RGB, unrolled: one pass in memory order (a strided pass per channel measured slower).
    const [a0, a1, a2] = scale;
    const [b0, b1, b2] = shift;
    for (let i = 0; i < pixels.length; i += 3) {
      x[offset + i] = pixels[i] * a0 + b0;
      x[offset + i + 1] = pixels[i + 1] * a1 + b1;
      x[offset + i + 2] = pixels[i + 2] * a2 + b2;
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    for (let i = c; i < pixels.length; i += channels) x[offset + i] = pixels[i] * scale[c] + shift[c];
  }
}

/**
 * Write a FloatCrop (./types) to `x` from `offset`: its pixels (values rounded half up, mirrored
 * when `flip`) mapped as writePixels maps them, so the result is writePixels of cropPixels(crop),
 * in one pass without the uint8 array.
 */
function writeCrop(x: Float32Array, offset: number, { values, shape, flip }: FloatCrop, normalization?: PixelNormalization): void {
  const [height, width] = shape;
  // Without normalisation the mapping is v / 255, as in writePixels (v * (1 / 255) can round differently).
  const divide = !normalization;
  const { scale: [a0, a1, a2], shift: [b0, b1, b2] } = normalization ? normalizationCoefficients(normalization) : { scale: [], shift: [] };
  const row = width * 3;
  const step = flip ? -3 : 3;
  for (let y = 0; y < height; y++) {
    for (let k = 0, from = y * row, to = offset + (flip ? y * row + row - 3 : y * row); k < width; k++, from += 3, to += step) {
      // Values are in [0, 255]: truncating v + 0.5 rounds half up.
      const r = (values[from] + 0.5) | 0;
      const g = (values[from + 1] + 0.5) | 0;
      const b = (values[from + 2] + 0.5) | 0;
      if (divide) {
        x[to] = r / 255;
        x[to + 1] = g / 255;
        x[to + 2] = b / 255;
      } else {
        x[to] = r * a0 + b0;
        x[to + 1] = g * a1 + b1;
        x[to + 2] = b * a2 + b2;
      }
    }
  }
}

/**
 * Build the arrays of one batch (see module comment). Errors name the failing item (its file for
 * file sources). `x` is written into the first B * h * w * c values of `into` when given (a reused
 * buffer, ./batch-buffers), else into a new array.
 */
export async function assembleBatch(source: DatasetSource, task: BatchTask, into?: Float32Array): Promise<BatchArrays> {
  const [h, w, c] = task.shape;
  if (task.normalization) checkNormalization('assembleBatch', task.normalization, c);
  const n = h * w * c;
  const count = task.indices.length;
  if (into && into.length < count * n) throw new Error(`assembleBatch: the output buffer holds ${into.length} values, the batch needs ${count * n}`);
  // Not zero-filled: every example's n values are written below (or the batch fails).
  const x = into ? into.subarray(0, count * n) : new Float32Array(Buffer.allocUnsafeSlow(count * n * 4).buffer, 0, count * n);
  const y = new Int32Array(count);
  const rng = new Rng(task.rngState);
  for (let b = 0; b < count; b++) {
    const out = await transformItem(source, task.indices[b], task.transform, rng);
    if (out.shape[0] !== h || out.shape[1] !== w || out.shape[2] !== c) {
      throw new Error(
        `assembleBatch: item ${task.indices[b]} is [${out.shape.join(',')}] after transform '${task.transform.kind}', ` +
          `expected [${task.shape.join(',')}] (images of different sizes need a resizing transform)`,
      );
    }
    if ('values' in out) writeCrop(x, b * n, out, task.normalization);
    else writePixels(x, b * n, out.pixels, c, task.normalization);
    y[b] = out.label;
  }
  return { x, y };
}

/**
 * Decode every file of `source` into `target`, file i into slot `firstSlot + i` (byte offset
 * slot * h * w * c of a shared buffer); every image must have `shape`.
 */
export async function decodeInto(source: FileSource, target: Uint8Array, shape: ImageShape, firstSlot: number): Promise<void> {
  const n = shape[0] * shape[1] * shape[2];
  for (let i = 0; i < source.files.length; i++) {
    const item = await readItem(source, i);
    if (item.shape[0] !== shape[0] || item.shape[1] !== shape[1] || item.shape[2] !== shape[2]) {
      throw new Error(`decodeInto: ${source.files[i]} is ${item.shape.join('x')}, expected ${shape.join('x')}`);
    }
    target.set(item.pixels, (firstSlot + i) * n);
  }
}
