/**
 * Native TensorFlow ops that tfjs-node has no TF.js kernel for (or registers only in a slower
 * form), run through its op executor: any TensorFlow op by name, with its attributes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TensorMetadata, TfBinding, TfeOpAttr, withScratchHandles } from './native-binding';

/** The parts of tfjs-node's NodeJSKernelBackend used here: its op binding and op executor. */
export interface NativeOpExecutor {
  binding: TfBinding;
  executeMultipleOutputs(name: string, attrs: TfeOpAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

/** The native op executor when the active backend is tfjs-node's 'tensorflow', else null. */
export function nativeOpExecutor(): NativeOpExecutor | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const backend = tf.backend() as unknown as Partial<NativeOpExecutor>;
  return typeof backend.executeMultipleOutputs === 'function' && backend.binding ? backend as NativeOpExecutor : null;
}

/**
 * The parts of tfjs-node's NodeJSKernelBackend below its op executor (backend internals; the
 * version is pinned in package.json, and nodeBackendInternals checks that they are there):
 * tensor handle ids, TF.js tensors made from op outputs, and the raw op binding, which runs an
 * op on handle ids without making a TF.js tensor per input or output.
 */
export interface NodeBackendInternals extends NativeOpExecutor {
  /** Per data id: the TensorFlow tensor handle id and how many TF.js tensors share the data id. */
  tensorMap: { get(dataId: object): { id: number; refCount: number } | undefined };
  /** Handle ids of tensors (creating the handles of tensors whose values are still in JS). */
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  /** A TF.js tensor (in the current tidy scope) owning the handle of an op output. */
  createOutputTensor(metadata: TensorMetadata): tf.Tensor;
}

/** nativeOpExecutor() with the internals of NodeBackendInternals, or null. */
export function nodeBackendInternals(): NodeBackendInternals | null {
  const native = nativeOpExecutor();
  const b = native as unknown as Partial<NodeBackendInternals> | null;
  const ok = !!b && typeof b.tensorMap?.get === 'function' && typeof b.getInputTensorIds === 'function'
    && typeof b.createOutputTensor === 'function' && typeof b.binding?.executeOp === 'function'
    && typeof b.binding?.createTensor === 'function' && typeof b.binding?.deleteTensor === 'function';
  return ok ? (b as NodeBackendInternals) : null;
}

/** Handle ids of int32 scalars holding reduction axes, made once per backend and kept. */
const axisHandles = new WeakMap<object, Map<number, number>>();

function axisHandle(internals: NodeBackendInternals, axis: number): number {
  let handles = axisHandles.get(internals);
  if (!handles) axisHandles.set(internals, (handles = new Map()));
  let id = handles.get(axis);
  if (id === undefined) {
    id = internals.binding.createTensor([], internals.binding.TF_INT32, Int32Array.of(axis));
    handles.set(axis, id);
  }
  return id;
}

/** The attribute T = float32, and a reduction's (keep_dims, float32, int32 axis). */
function floatAttrs(b: TfBinding): { floatT: TfeOpAttr[]; reduceKeepDims: TfeOpAttr[] } {
  const floatT = { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  return { floatT: [floatT], reduceKeepDims: [{ name: 'keep_dims', type: b.TF_ATTR_BOOL, value: true }, floatT, { name: 'Tidx', type: b.TF_ATTR_TYPE, value: b.TF_INT32 }] };
}

/**
 * sum over `axis` (kept, as size 1) of x / y, y broadcast against x: tf.sum(tf.div(x, y), axis,
 * true). On the native backend, TensorFlow's RealDiv and Sum run straight on the op binding: the
 * same two kernels, so the same result, without the TF.js tensor of the quotient and the axis
 * tensor that tfjs-node's Sum kernel uploads on every call. Batched Sinkhorn (lib/ot/sinkhorn.ts)
 * runs one per half-step on small matrices, where those costs are a good part of the time.
 */
export function sumOfQuotient(x: tf.Tensor, y: tf.Tensor, axis: number): tf.Tensor {
  const internals = nodeBackendInternals();
  if (!internals || x.dtype !== 'float32' || y.dtype !== 'float32') return tf.tidy(() => tf.sum(tf.div(x, y), axis, true));
  const b = internals.binding;
  const { floatT, reduceKeepDims } = floatAttrs(b);
  return withScratchHandles(b, ({ run }) => {
    const quotient = run('RealDiv', floatT, internals.getInputTensorIds([x, y]));
    return internals.createOutputTensor(b.executeOp('Sum', reduceKeepDims, [quotient, axisHandle(internals, axis)], 1)[0]);
  });
}

/**
 * offset - log sum over `axis` (kept, as size 1) of exp(x + y), y broadcast against x, computed
 * stably as offset - (m + log sum exp(x + y - m)) with m the max over `axis`: the log-domain
 * Sinkhorn half-step (lib/ot/sinkhorn.ts, f <- log(1/r) - logsumexp_j(S_ij + g_j)). On the native
 * backend its 8 kernels (AddV2, Max, Sub, Exp, Sum, Log, AddV2, Sub) run straight on the op binding,
 * as sumOfQuotient's do: on Sinkhorn's small matrices per-kernel costs outweigh the arithmetic.
 */
export function offsetMinusLogSumExp(offset: number, x: tf.Tensor, y: tf.Tensor, axis: number): tf.Tensor {
  const internals = nodeBackendInternals();
  if (!internals || x.dtype !== 'float32' || y.dtype !== 'float32') {
    return tf.tidy(() => {
      const z = tf.add(x, y);
      const m = tf.max(z, axis, true);
      return tf.sub(offset, tf.add(m, tf.log(tf.sum(tf.exp(tf.sub(z, m)), axis, true))));
    });
  }
  const b = internals.binding;
  const { floatT, reduceKeepDims } = floatAttrs(b);
  return withScratchHandles(b, ({ run, keep }) => {
    const axisId = axisHandle(internals, axis);
    const z = run('AddV2', floatT, internals.getInputTensorIds([x, y]));
    const m = run('Max', reduceKeepDims, [z, axisId]);
    const sum = run('Sum', reduceKeepDims, [run('Exp', floatT, [run('Sub', floatT, [z, m])]), axisId]);
    const lse = run('AddV2', floatT, [m, run('Log', floatT, [sum])]);
    const offsetId = keep(b.createTensor([], b.TF_FLOAT, Float32Array.of(offset)));
    return internals.createOutputTensor(b.executeOp('Sub', floatT, [offsetId, lse], 1)[0]);
  });
}

/**
 * ReLU's gradient as TensorFlow's single ReluGrad kernel (dy where x > 0, else 0). TF.js computes
 * it as dy * step(x), and tfjs-node's Step is a composite of IsNan, Fill and Select: measured with
 * tf.profile on a PreActResNet18 step at batch 32 (2-core CPU, 2026-11-23), its 17 ReLU gradients
 * took 60-100 ms of a 540 ms step. Registered for the Relu kernel when the native backend loads;
 * on other backends the gradient is TF.js's own.
 */
export function registerNativeReluGrad(): void {
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [x] = saved;
      const g = dy as tf.Tensor;
      const native = nativeOpExecutor();
      if (!native || x.dtype !== 'float32') return { x: () => tf.mul(g, tf.cast(tf.step(x), 'float32')) };
      const attrs = [{ name: 'T', type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT }];
      return { x: () => native.executeMultipleOutputs('ReluGrad', attrs, [g, x], 1)[0] };
    },
  });
}
