/**
 * Kernel-level plumbing for the extra wasm kernels: running other registered wasm kernels on
 * `TensorInfo`s from inside a kernel, and reading/writing tensor memory on the wasm heap.
 *
 * A kernel may not call tf ops (they would create engine-tracked tensors inside the kernel), so
 * composite kernels call the registered kernel functions directly and must free every
 * intermediate themselves: `withKernelCalls` does that bookkeeping. Every wasm kernel returns a
 * fresh allocation or a reference-counted alias (Reshape increments the count), so disposing each
 * intermediate exactly once is always right.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The backend argument of a wasm kernel function. */
export type WasmBackend = BackendWasm;

export class WasmKernelCalls {
  private readonly made: tf.TensorInfo[] = [];

  constructor(readonly backend: WasmBackend) {}

  /** Run the wasm kernel `kernelName` (result freed by `withKernelCalls` unless returned). */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap | tf.TensorInfo[], attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, 'wasm');
    if (!config) throw new Error(`wasm training kernels: kernel '${kernelName}' is not registered for backend 'wasm'`);
    // Concat takes its inputs as an array; the registry's type only knows named maps.
    const out = config.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, attrs, backend: this.backend }) as tf.TensorInfo;
    this.made.push(out);
    return out;
  }

  /** A new uninitialised output (freed by `withKernelCalls` unless returned). */
  output(shape: number[], dtype: tf.DataType = 'float32'): tf.TensorInfo {
    const out = this.backend.makeOutput(shape, dtype);
    this.made.push(out);
    return out;
  }

  /** @internal Free every intermediate except `keep` (all of them when `keep` is null). */
  release(keep: tf.TensorInfo | null): void {
    for (const t of this.made) if (t !== keep) this.backend.disposeData(t.dataId);
    this.made.length = 0;
  }
}

/**
 * Run `body` with a kernel-call scope; intermediates made through `calls.run` are freed when it
 * returns (or throws), except the returned TensorInfo, which the engine then owns.
 */
export function withKernelCalls(backend: WasmBackend, body: (calls: WasmKernelCalls) => tf.TensorInfo): tf.TensorInfo {
  const calls = new WasmKernelCalls(backend);
  let result: tf.TensorInfo | null = null;
  try {
    result = body(calls);
    return result;
  } finally {
    calls.release(result);
  }
}

/**
 * A live Float32Array / Int32Array view of a tensor on the wasm heap (no copy). Valid until the
 * next allocation may grow the heap, so take views after allocating outputs.
 */
export function heapView(backend: WasmBackend, t: tf.TensorInfo): Float32Array | Int32Array {
  const view = backend.typedArrayFromHeap(t);
  if (!(view instanceof Float32Array || view instanceof Int32Array)) {
    throw new Error(`wasm training kernels: expected a float32 or int32 tensor, got dtype '${t.dtype}'`);
  }
  return view;
}
