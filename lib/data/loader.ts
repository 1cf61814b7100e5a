/**
 * The batch loader: per-epoch seeded shuffling, batching, per-example augmentation, prefetching in
 * worker threads, and an exactly resumable position.
 *
 * Randomness. The loader owns a base `Rng` that it never advances. Epoch e's order is
 * `base.fork('order/e').permutation(n)` and batch b of epoch e is augmented with
 * `base.fork('augment/e/b')`, its examples drawing in batch order (./augment). Every batch is
 * therefore a pure function of (base state, epoch, batch index): computing it in a worker, on the
 * main thread, or after a restart gives the same pixels, and the saved state { epoch, batch, base
 * RNG state } is all a resumed run needs to see exactly the batches an uninterrupted run would.
 *
 * Overlap. With `workers > 0`, up to `prefetch` batches are assembled ahead in worker threads
 * (./worker-pool); the main thread only makes finished buffers into tensors. With `workers: 0`
 * each batch is assembled on demand on the main thread (same batches, no overlap). Either way the
 * pixels are written into reused buffers (./batch-buffers: one per batch in flight), which no
 * yielded tensor shares memory with.
 *
 * Batches per epoch: floor(n / B) with dropLast, else ceil(n / B) (the last one smaller).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng, RngState } from '../random';
import { assertInt, assertKnownKeys } from '../validate';
import { checkTransform, transformOutputShape } from './augment';
import { assembleBatch, BatchArrays, BatchTask, checkNormalization, PixelNormalization } from './batch';
import { BatchBuffers } from './batch-buffers';
import { sourceForItems } from './source';
import type { Dataset, ImageShape, TransformSpec } from './types';
import { WorkerPool } from './worker-pool';

export interface BatchLoaderOptions {
  batchSize: number;
  /** Shuffle every epoch (default true); false: dataset order. */
  shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Per-example transform (default: the dataset's evaluation transform, `dataset.transforms.eval`). */
  transform?: TransformSpec;
  /** Seed of the base stream, or an Rng whose current state is copied (default 0). */
  seed?: number | Rng;
  /** Worker threads assembling batches ahead (default 1); 0: synchronous, on the main thread. */
  workers?: number;
  /** Batches kept in flight ahead of the consumer with workers (default 2 x workers). */
  prefetch?: number;
  /**
   * Output (v / 255 - mean_c) / std_c (torchvision's ToTensor + Normalize, ./batch) instead of the
   * default v / 255 in [0, 1]. The models here normalise inside (lib/models/normalization.ts) and
   * take [0, 1] pixels: leave it unset for them.
   */
  normalization?: PixelNormalization;
}

/** One batch. The consumer disposes `x` and `y`. */
export interface Batch {
  /** [B, h, w, c] float32 pixels in [0, 1] (normalised with the `normalization` option). */
  x: tf.Tensor4D;
  /** [B] int32 class indices. */
  y: tf.Tensor1D;
  epoch: number;
  /** Batch index within the epoch. */
  index: number;
  /** Dataset item indices of the examples, in batch order. */
  indices: Int32Array;
}

/**
 * The loader's position: the next batch it will yield, plus what must match for a resume to be
 * exact (restoring into a loader with another dataset size or batching is an error).
 */
export interface LoaderState {
  epoch: number;
  batch: number;
  rng: RngState;
  datasetSize: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
  transform: TransformSpec;
}

const OPTION_KEYS = ['batchSize', 'shuffle', 'dropLast', 'transform', 'seed', 'workers', 'prefetch', 'normalization'];
const ignore = (): void => undefined;

export class BatchLoader implements AsyncIterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly transform: TransformSpec;
  readonly workers: number;
  readonly prefetch: number;
  readonly normalization: PixelNormalization | undefined;
  /** Shape of every example of every batch. */
  readonly exampleShape: ImageShape;
  private readonly base: Rng;
  private readonly buffers: BatchBuffers;
  private epochIndex = 0;
  private batchIndex = 0;
  private pool: WorkerPool | null = null;
  private running = false;
  private cachedOrder: { epoch: number; order: Int32Array } | null = null;

  constructor(dataset: Dataset, options: BatchLoaderOptions) {
    const where = 'BatchLoader';
    assertKnownKeys(where, options, OPTION_KEYS);
    assertInt(where, 'batchSize', options.batchSize, 1);
    this.dataset = dataset;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.transform = checkTransform(options.transform ?? dataset.transforms.eval);
    this.workers = options.workers ?? 1;
    assertInt(where, 'workers', this.workers, 0);
    this.prefetch = options.prefetch ?? Math.max(1, 2 * this.workers);
    assertInt(where, 'prefetch', this.prefetch, 1);
    const seed = options.seed ?? 0;
    this.base = seed instanceof Rng ? new Rng(seed.getState()) : new Rng(seed);
    this.exampleShape = transformOutputShape(this.transform, dataset.imageShape);
    this.normalization = options.normalization && { mean: [...options.normalization.mean], std: [...options.normalization.std] };
    if (this.normalization) checkNormalization(where, this.normalization, this.exampleShape[2]);
    this.buffers = new BatchBuffers(this.batchSize * this.exampleShape[0] * this.exampleShape[1] * this.exampleShape[2]);
    if (this.batchesPerEpoch === 0) {
      throw new Error(`${where}: ${dataset.name} has ${dataset.size} items, fewer than batchSize ${this.batchSize} with dropLast: no batches`);
    }
  }

  get batchesPerEpoch(): number {
    const n = this.dataset.size;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Item order of `epoch` (the identity when not shuffling). */
  epochOrder(epoch: number): Int32Array {
    assertInt('BatchLoader.epochOrder', 'epoch', epoch, 0);
    if (this.cachedOrder?.epoch !== epoch) {
      const n = this.dataset.size;
      const order = this.shuffle ? Int32Array.from(this.base.fork(`order/${epoch}`).permutation(n)) : Int32Array.from({ length: n }, (_, i) => i);
      this.cachedOrder = { epoch, order };
    }
    return this.cachedOrder.order;
  }

  /** Where the loader stands: the next batch it yields. Save it with a checkpoint. */
  getState(): LoaderState {
    return {
      epoch: this.epochIndex,
      batch: this.batchIndex,
      rng: this.base.getState(),
      datasetSize: this.dataset.size,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      transform: this.transform,
    };
  }

  /** Resume from a saved state (not while an epoch is being iterated). */
  setState(state: LoaderState): void {
    const where = 'BatchLoader.setState';
    if (this.running) throw new Error(`${where}: cannot restore while an epoch is being iterated`);
    const expected = {
      datasetSize: this.dataset.size,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      transform: JSON.stringify(this.transform),
    };
    const saved = { ...state, transform: JSON.stringify(checkTransform(state.transform)) } as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      if (saved[key] !== value) throw new Error(`${where}: saved ${key} is ${saved[key]} but this loader has ${value}; a resume would not see the same batches`);
    }
    assertInt(where, 'state.epoch', state.epoch, 0);
    assertInt(where, 'state.batch', state.batch, 0, this.batchesPerEpoch - 1);
    this.base.setState(state.rng);
    this.epochIndex = state.epoch;
    this.batchIndex = state.batch;
    this.cachedOrder = null;
  }

  /** Iterate one epoch: `for await (const batch of loader)` is `loader.epoch()`. */
  [Symbol.asyncIterator](): AsyncIterator<Batch> {
    return this.epoch();
  }

  /**
   * The remaining batches of the current epoch (all of them unless resumed mid-epoch). After the
   * last one the position moves to batch 0 of the next epoch. Leaving the loop early (break,
   * throw) terminates the workers; a later epoch starts new ones.
   */
  async *epoch(): AsyncGenerator<Batch, void, undefined> {
    if (this.running) throw new Error(`BatchLoader.epoch: ${this.dataset.name}: an epoch is already being iterated`);
    this.running = true;
    let finished = false;
    const inFlight = new Map<number, Promise<BatchArrays>>();
    try {
      const epoch = this.epochIndex;
      const count = this.batchesPerEpoch;
      if (this.workers > 0 && !this.pool) this.pool = new WorkerPool(this.workers);
      let submitted = this.batchIndex;
      for (let b = this.batchIndex; b < count; b++) {
        let arrays: BatchArrays;
        if (this.pool) {
          for (; submitted < count && submitted < b + this.prefetch; submitted++) {
            const task = this.task(epoch, submitted);
            const items = sourceForItems(this.dataset.source, task.indices);
            const pending = this.pool.runBatch(items.source, { ...task, indices: items.indices }, this.buffers.take());
            pending.catch(ignore); // rejections are seen where the batch is awaited
            inFlight.set(submitted, pending);
          }
          arrays = await (inFlight.get(b) as Promise<BatchArrays>);
          inFlight.delete(b);
        } else {
          arrays = await assembleBatch(this.dataset.source, this.task(epoch, b), this.buffers.take());
        }
        const [h, w, c] = this.exampleShape;
        const n = arrays.y.length;
        const batch: Batch = {
          x: this.buffers.tensor4d(arrays.x, [n, h, w, c]),
          y: tf.tensor1d(arrays.y, 'int32'),
          epoch,
          index: b,
          indices: this.batchIndices(epoch, b),
        };
        if (b + 1 < count) {
          this.batchIndex = b + 1;
        } else {
          this.epochIndex = epoch + 1;
          this.batchIndex = 0;
        }
        yield batch;
      }
      finished = true;
    } finally {
      this.running = false;
      if (!finished) await this.close();
    }
  }

  /** Terminate the worker threads (a later epoch starts new ones). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    if (pool) await pool.terminate();
  }

  private batchIndices(epoch: number, b: number): Int32Array {
    const start = b * this.batchSize;
    return this.epochOrder(epoch).slice(start, Math.min(start + this.batchSize, this.dataset.size));
  }

  private task(epoch: number, b: number): BatchTask {
    return {
      indices: this.batchIndices(epoch, b),
      rngState: this.base.fork(`augment/${epoch}/${b}`).getState(),
      transform: this.transform,
      shape: this.exampleShape,
      ...(this.normalization ? { normalization: this.normalization } : {}),
    };
  }
}
