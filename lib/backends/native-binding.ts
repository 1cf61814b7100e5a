/**
 * tfjs-node's raw op binding (its addon, binding/tfjs_binding.cc): TensorFlow tensors as handle
 * ids, and any TensorFlow op run by name on them. No TensorFlow.js imports: the image loader's
 * worker threads call it directly (lib/data/native-jpeg.ts); on the main thread
 * lib/backends/native-ops.ts and native-sgd.ts call it below TF.js's engine, where per-kernel costs
 * outweigh the arithmetic.
 */

/** An op attribute as the binding takes it. */
export interface TfeOpAttr { name: string; type: number; value: unknown }

/** What the binding returns per op output: a tensor handle id and its metadata. */
export interface TensorMetadata { id: number; shape: number[]; dtype: number }

/** The parts of the binding used in this project. */
export interface TfBinding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_UINT8: number;
  TF_STRING: number;
  TF_ATTR_INT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_STRING: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_SHAPE: number;
  createTensor(shape: number[], dtype: number, values: Float32Array | Int32Array | Uint8Array[]): number;
  executeOp(name: string, attrs: TfeOpAttr[], inputIds: number[], numOutputs: number): TensorMetadata[];
  /** A copy of a float32 tensor's values. */
  tensorDataSync(id: number): Float32Array;
  deleteTensor(id: number): void;
}

/** Scratch handles: `run` executes a one-output op, `keep` adopts a handle made otherwise; both return the id. */
export interface ScratchHandles {
  run(op: string, attrs: TfeOpAttr[], inputIds: number[]): number;
  keep(id: number): number;
}

/**
 * `body(scratch)`, deleting every handle made through `scratch` when it returns or throws: the
 * intermediate tensors of a short chain of ops run on the binding. A result that must outlive the
 * chain is made with binding.executeOp directly.
 */
export function withScratchHandles<T>(binding: TfBinding, body: (scratch: ScratchHandles) => T): T {
  const ids: number[] = [];
  const keep = (id: number) => {
    ids.push(id);
    return id;
  };
  try {
    return body({ run: (op, attrs, inputIds) => keep(binding.executeOp(op, attrs, inputIds, 1)[0].id), keep });
  } finally {
    for (const id of ids) binding.deleteTensor(id);
  }
}
