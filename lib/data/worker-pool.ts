/**
 * A small pool of worker threads that assemble batches (or decode images), so that the CPU work
 * of loading overlaps the training step on the main thread.
 *
 * The native TensorFlow backend runs ops synchronously on the main thread; only work in other
 * threads can overlap it. Each request carries what it reads: in-memory pixels live in a
 * `SharedArrayBuffer` (shared, not copied), file datasets send the few paths a batch needs.
 * A batch request also carries the buffer its pixels are written into (transferred to the worker,
 * transferred back with the result: ./batch-buffers).
 *
 * Lifetime: workers hold the event loop only while they have work (ref'd when a task is sent,
 * unref'd when idle), so a pool that is never terminated cannot keep Node from exiting, and a
 * pending task cannot be dropped by an early exit. `terminate()` ends them.
 */
import * as path from 'path';
import { Worker } from 'worker_threads';
import type { BatchArrays, BatchTask } from './batch';
import { nativeJpeg } from './native-jpeg';
import type { DatasetSource, FileSource, ImageShape } from './types';

type RequestBody =
  | { kind: 'batch'; source: DatasetSource; task: BatchTask; into: Float32Array }
  | { kind: 'decode'; source: FileSource; target: Uint8Array; shape: ImageShape; firstSlot: number };

export type WorkerRequest = RequestBody & { id: number };

/** A worker's answer: `error` set when the request failed; `x`, `y` for batch requests. */
export interface WorkerReply {
  id: number;
  error?: string;
  x?: Float32Array;
  y?: Int32Array;
}

interface Job {
  id: number;
  body: RequestBody;
  /** Buffers moved to the worker with the request. */
  transfer: ArrayBuffer[];
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** Path of the worker entry file (plain JS; it loads the TypeScript body). */
export const WORKER_SCRIPT = path.join(__dirname, 'batch-worker.js');

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private failure: Error | null = null;
  private terminated = false;

  /** Start `size` workers. */
  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 1)) throw new Error(`WorkerPool: size must be an integer >= 1, got ${size}`);
    // TensorFlow's library (the workers' JPEG decoder) loads here first, with its environment set
    // and its start-up log kept quiet; the workers' own loads then print nothing (./native-jpeg).
    nativeJpeg();
    this.slots = Array.from({ length: size }, () => {
      const worker = new Worker(WORKER_SCRIPT);
      const slot: Slot = { worker, job: null };
      worker.on('message', (reply: WorkerReply) => this.onReply(slot, reply));
      worker.on('error', (e: Error) => this.fail(new Error(`data loader worker failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!this.terminated) this.fail(new Error(`data loader worker exited unexpectedly (code ${code})`));
      });
      worker.unref();
      return slot;
    });
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Assemble one batch in a worker (./batch assembleBatch) into `into`, whose buffer moves to the
   * worker (detached here) and comes back as the result's `x` (a view of its first values). The
   * returned arrays belong to the caller; a failed batch does not return the buffer.
   */
  runBatch(source: DatasetSource, task: BatchTask, into: Float32Array): Promise<BatchArrays> {
    const transfer = [into.buffer as ArrayBuffer];
    return this.submit({ kind: 'batch', source, task, into }, transfer).then((reply) => ({ x: reply.x as Float32Array, y: reply.y as Int32Array }));
  }

  /** Decode the files of `source` into the shared `target` from slot `firstSlot` (./batch decodeInto). */
  runDecode(source: FileSource, target: Uint8Array, shape: ImageShape, firstSlot: number): Promise<void> {
    return this.submit({ kind: 'decode', source, target, shape, firstSlot }).then(() => undefined);
  }

  /** Stop every worker; pending and queued tasks are rejected. Safe to call more than once. */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    this.rejectAll(new Error('data loader workers were terminated'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private submit(body: RequestBody, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.terminated) return Promise.reject(new Error('WorkerPool: used after terminate()'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, body, transfer, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0) continue;
      const job = this.queue.shift() as Job;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage({ id: job.id, ...job.body } as WorkerRequest, job.transfer);
    }
  }

  private onReply(slot: Slot, reply: WorkerReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = null;
    slot.worker.unref();
    if (reply.error === undefined) job.resolve(reply);
    else job.reject(new Error(reply.error));
    this.dispatch();
  }

  private fail(error: Error): void {
    if (this.failure || this.terminated) return;
    this.failure = error;
    this.rejectAll(error);
    for (const slot of this.slots) void slot.worker.terminate();
  }

  private rejectAll(error: Error): void {
    for (const slot of this.slots) {
      if (slot.job) slot.job.reject(error);
      slot.job = null;
      slot.worker.unref();
    }
    for (const job of this.queue.splice(0)) job.reject(error);
  }
}
