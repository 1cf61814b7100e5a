/**
 * Item access through a `DatasetSource`: the one code path used by datasets on the main thread
 * and by loader workers (./batch-worker-main), so both see the same pixels.
 *
 * Runs in worker threads: it must not import TensorFlow.js.
 */
import type { Rng } from '../random';
import { applyTransform } from './augment';
import { transformImageFile } from './file-transform';
import { decodeImageFile } from './image-file';
import type { DatasetSource, FileSource, FloatCrop, ImageItem, ImageShape, MemorySource, TransformSpec } from './types';

/** Number of items in a source. */
export function sourceSize(source: DatasetSource): number {
  switch (source.kind) {
    case 'memory':
      return source.labels.length;
    case 'files':
      return source.files.length;
    case 'subset':
      return source.indices.length;
  }
}

/** The memory or file source under any subsets, and the index there of item `index`. */
function resolve(source: DatasetSource, index: number): { root: MemorySource | FileSource; index: number } {
  let s = source;
  let i = index;
  while (s.kind === 'subset') {
    i = s.indices[i];
    s = s.base;
  }
  return { root: s, index: i };
}

/** Label of item `index` (no pixel access). The index must be in range (callers check). */
export function sourceLabel(source: DatasetSource, index: number): number {
  const { root, index: i } = resolve(source, index);
  return root.labels[i];
}

/**
 * Item `index` of an in-memory source (or a subset of one): a view into the shared buffer (do not
 * modify it). File sources are decoded asynchronously: `readItem`.
 */
export function readMemoryItem(source: DatasetSource, index: number): ImageItem {
  const { root, index: i } = resolve(source, index);
  if (root.kind === 'files') {
    throw new Error(`item ${index} is the image file ${root.files[i]}, decoded asynchronously: read it with await dataset.read(${index}) (readItem)`);
  }
  const [h, w, c] = root.shape;
  const n = h * w * c;
  return { pixels: root.pixels.subarray(i * n, (i + 1) * n), shape: [h, w, c] as ImageShape, label: root.labels[i] };
}

/** Item `index` of any source: file sources decode the file (errors name it), memory sources as readMemoryItem. */
export async function readItem(source: DatasetSource, index: number): Promise<ImageItem> {
  const { root, index: i } = resolve(source, index);
  if (root.kind === 'memory') return readMemoryItem(root, i);
  const { pixels, shape } = await decodeImageFile(root.files[i], root.channels);
  return { pixels, shape, label: root.labels[i] };
}

/**
 * Item `index` with `spec` applied (draws from `rng`, ./augment's order): file items through the
 * fused decode of ./file-transform (pixels, or TensorFlow's FloatCrop), memory items through applyTransform.
 */
export async function transformItem(source: DatasetSource, index: number, spec: TransformSpec, rng: Rng): Promise<ImageItem | (FloatCrop & { label: number })> {
  const { root, index: i } = resolve(source, index);
  const label = root.labels[i];
  if (root.kind === 'files') return { ...(await transformImageFile(root.files[i], root.channels, spec, rng)), label };
  const item = readMemoryItem(root, i);
  return { ...applyTransform(item.pixels, item.shape, spec, rng), label };
}

/**
 * What a worker needs to read items `indices` of `source`, as (source, indices into it):
 * in-memory sources as they are (their arrays live in shared memory, so posting them copies
 * nothing), file sources cut down to the listed files (no worker holds the whole file list).
 */
export function sourceForItems(source: DatasetSource, indices: Int32Array): { source: DatasetSource; indices: Int32Array } {
  const items = Array.from(indices, (i) => resolve(source, i));
  if (items.length === 0 || items[0].root.kind === 'memory') return { source, indices };
  const root = items[0].root as FileSource;
  return {
    source: { kind: 'files', files: items.map((r) => root.files[r.index]), labels: Int32Array.from(items, (r) => root.labels[r.index]), channels: root.channels },
    indices: Int32Array.from(indices, (_, k) => k),
  };
}

/**
 * A `Uint8Array` of `bytes` zero bytes backed by a `SharedArrayBuffer`, so that worker threads can
 * read (and decoding workers write) it without copies.
 */
export function sharedBytes(bytes: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(bytes));
}

/** A shared `Int32Array` copy of `values`. */
export function sharedInt32(values: ArrayLike<number>): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(values.length * 4));
  out.set(values);
  return out;
}
