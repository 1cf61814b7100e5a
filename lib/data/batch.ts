/**
 * Assembling one batch on the CPU: read the items, transform each with the batch's `Rng`, write
 * pixels / 255 as float32 NHWC. The loader runs this either on the main thread or in a worker
 * (./batch-worker-main); the inputs are plain data, so both produce bit-identical arrays.
 *
 * Runs in worker threads: no TensorFlow.js tensors here.
 */
import { Rng, RngState } from '../random';
import { applyTransform } from './augment';
import { readItem } from './source';
import type { DatasetSource, FileSource, ImageShape, TransformSpec } from './types';

export interface BatchTask {
  /** Source item indices, in batch order. */
  indices: Int32Array;
  /** State of the batch's augmentation stream; examples draw from it in batch order. */
  rngState: RngState;
  transform: TransformSpec;
  /** Shape every transformed example must have. */
  shape: ImageShape;
}

export interface BatchArrays {
  /** [B, h, w, c] pixels in [0, 1], row-major. */
  x: Float32Array;
  /** [B] class indices. */
  y: Int32Array;
}

/** Build the arrays of one batch (see module comment). Errors name the failing item. */
export function assembleBatch(source: DatasetSource, task: BatchTask): BatchArrays {
  const [h, w, c] = task.shape;
  const n = h * w * c;
  const count = task.indices.length;
  const x = new Float32Array(count * n);
  const y = new Int32Array(count);
  const rng = new Rng(task.rngState);
  for (let b = 0; b < count; b++) {
    const item = readItem(source, task.indices[b]);
    const out = applyTransform(item.pixels, item.shape, task.transform, rng);
    if (out.shape[0] !== h || out.shape[1] !== w || out.shape[2] !== c) {
      throw new Error(
        `assembleBatch: item ${task.indices[b]} is [${out.shape.join(',')}] after transform '${task.transform.kind}', ` +
          `expected [${task.shape.join(',')}] (images of different sizes need a resizing transform)`,
      );
    }
    const pixels = out.pixels;
    const offset = b * n;
    // v / 255 in float64, rounded once to float32: the same value as float32 division.
    for (let i = 0; i < n; i++) x[offset + i] = pixels[i] / 255;
    y[b] = item.label;
  }
  return { x, y };
}

/**
 * Decode every file of `source` into `target`, file i into slot `firstSlot + i` (byte offset
 * slot * h * w * c of a shared buffer); every image must have `shape`.
 */
export function decodeInto(source: FileSource, target: Uint8Array, shape: ImageShape, firstSlot: number): void {
  const n = shape[0] * shape[1] * shape[2];
  source.files.forEach((file, i) => {
    const item = readItem(source, i);
    if (item.shape[0] !== shape[0] || item.shape[1] !== shape[1] || item.shape[2] !== shape[2]) {
      throw new Error(`decodeInto: ${file} is ${item.shape.join('x')}, expected ${shape.join('x')}`);
    }
    target.set(item.pixels, (firstSlot + i) * n);
  });
}
