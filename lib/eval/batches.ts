/**
 * Walking a batch source once: sync or async iterables alike, per-batch checks, and disposal of
 * the batches the evaluation owns (rule in types.ts `SourceOptions.disposeBatches`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertRank } from '../validate';
import { BatchSource, ImageBatch, SourceOptions } from './types';

/** Throw unless `source` is an iterable or async iterable (of batches). */
export function assertBatchSource(where: string, name: string, source: unknown): void {
  const v = source as Record<symbol, unknown> | null;
  const ok = v !== null && typeof v === 'object'
    && (typeof v[Symbol.iterator] === 'function' || typeof v[Symbol.asyncIterator] === 'function');
  if (!ok) {
    throw new Error(`${where}: ${name} must be an iterable or async iterable of batches, got ${source === null ? 'null' : typeof source}`);
  }
}

/** Dispose every tensor held directly in a batch object (x, y and any other tensor field). */
export function disposeBatch(batch: object): void {
  for (const value of Object.values(batch)) {
    if (value instanceof tf.Tensor) value.dispose();
  }
}

/**
 * Call `fn` on every batch of `source` in order (awaiting it), after checking that `x` is a
 * [B, H, W, C] tensor with B > 0. Batches are disposed after `fn` returns or throws when
 * `disposeBatches` (default: the source is not an array). Returns the number of batches seen.
 */
export async function forEachBatch<B extends ImageBatch>(
  where: string,
  name: string,
  source: BatchSource<B>,
  options: SourceOptions,
  fn: (batch: B, index: number) => void | Promise<void>,
): Promise<number> {
  assertBatchSource(where, name, source);
  const dispose = options.disposeBatches ?? !Array.isArray(source);
  let index = 0;
  for await (const batch of source) {
    try {
      if (batch === null || typeof batch !== 'object' || !(batch.x instanceof tf.Tensor)) {
        throw new Error(`${where}: batch ${index} of ${name} must be an object with a tensor x, got ${batch === null ? 'null' : typeof batch}`);
      }
      assertRank(where, `${name} batch ${index} x`, batch.x, 4);
      if (batch.x.shape[0] === 0) throw new Error(`${where}: batch ${index} of ${name} is empty (x has shape [0,...])`);
      await fn(batch, index);
    } finally {
      if (dispose && batch !== null && typeof batch === 'object') disposeBatch(batch);
    }
    index++;
  }
  return index;
}

/**
 * Read a batch's labels back, checking rank 1, int32, length `batchSize` and range [0, numClasses).
 */
export function readLabels(where: string, name: string, y: unknown, batchSize: number, numClasses: number): Int32Array {
  if (!(y instanceof tf.Tensor)) throw new Error(`${where}: ${name} must be a tensor of int32 labels, got ${typeof y}`);
  assertRank(where, name, y, 1);
  if (y.dtype !== 'int32') throw new Error(`${where}: ${name} must have dtype int32, got ${y.dtype}`);
  if (y.shape[0] !== batchSize) {
    throw new Error(`${where}: ${name} has ${y.shape[0]} labels but the batch has ${batchSize} images`);
  }
  const labels = y.dataSync() as Int32Array;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= numClasses) {
      throw new Error(`${where}: ${name}[${i}] = ${labels[i]} is out of range; expected a class index in [0, ${numClasses - 1}]`);
    }
  }
  return Int32Array.from(labels);
}

/** Concatenate typed-array chunks (one per batch) into one array of the same type. */
export function concatChunks<T extends Float32Array | Float64Array | Int32Array>(
  chunks: readonly T[], make: (n: number) => T,
): T {
  const out = make(chunks.reduce((s, c) => s + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}
