/**
 * Reused batch buffers. A batch's float32 pixels (B x h x w x c values; 19 MB for 32 ImageNet
 * crops) are written by a worker thread (or the main thread) and made into a TF.js tensor on the
 * main thread. A new buffer per batch costs its writer the page faults of fresh pages and the main
 * thread the garbage collection of the old ones; the loader (./loader) instead keeps a free list
 * of buffers that go to a worker and come back with the batch (transferred, so one thread holds a
 * buffer at a time), and puts each back on the list as soon as the batch's tensor no longer needs
 * it.
 *
 * When that is depends on the backend; `tensor4d` below makes the tensor and decides:
 *  - native TensorFlow (tfjs-node): the tensor keeps the JS array until its first use, when
 *    tfjs-node passes the array to TensorFlow's TF_NewTensor, which shares memory aligned to
 *    EIGEN_MAX_ALIGN_BYTES (64 on x86-64) and copies memory that is not. The views handed out
 *    here start BYTE_OFFSET = 4 bytes into their ArrayBuffer, whose start is at least 8-aligned,
 *    so they are never 64-aligned: `tensor4d` forces the first use at once, TensorFlow takes its
 *    own copy, and the buffer goes back on the list.
 *  - wasm: tf.tensor copies the values into the wasm heap; the buffer goes back on the list.
 *  - any other (cpu): the tensor keeps the array itself; the buffer goes with the tensor, and the
 *    list makes a new one when it runs out.
 * No tensor therefore ever shares memory with a buffer that is written again
 * (test/data/loader.test.ts checks it on every backend it runs).
 */
import * as tf from '@tensorflow/tfjs-core';
import { nodeBackendInternals } from '../backends/native-ops';

/** Where the float32 values start in each buffer (module comment: never 64-aligned). */
const BYTE_OFFSET = 4;

export class BatchBuffers {
  private readonly free: ArrayBuffer[] = [];

  /** Buffers of `length` float32 values (a full batch). */
  constructor(readonly length: number) {
    if (!(Number.isInteger(length) && length >= 1)) throw new Error(`BatchBuffers: length must be an integer >= 1, got ${length}`);
  }

  /** A buffer of `length` values from the free list, or a new one; its contents are arbitrary. */
  take(): Float32Array {
    return new Float32Array(this.free.pop() ?? new ArrayBuffer(BYTE_OFFSET + 4 * this.length), BYTE_OFFSET, this.length);
  }

  /**
   * `values` (the first B * h * w * c values of a buffer from `take`) as a [B, h, w, c] float32
   * tensor that shares no memory with the buffer, which goes back on the free list unless the
   * tensor keeps it (module comment).
   */
  tensor4d(values: Float32Array, shape: [number, number, number, number]): tf.Tensor4D {
    if (values.byteOffset !== BYTE_OFFSET || values.buffer.byteLength !== BYTE_OFFSET + 4 * this.length) {
      throw new Error(`BatchBuffers.tensor4d: the values are not a view taken from these buffers (${this.length} values each)`);
    }
    const tensor = tf.tensor4d(values, shape, 'float32');
    const native = nodeBackendInternals();
    if (native) native.getInputTensorIds([tensor]);
    if (native || tf.getBackend() === 'wasm') this.free.push(values.buffer as ArrayBuffer);
    return tensor;
  }
}
