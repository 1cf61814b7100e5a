/**
 * The SGD update (lib/train/optim.ts) on the native backend, with TensorFlow's own training
 * kernels on resource variables: two kernels per parameter that update their variables in place,
 * where the TF.js formulation runs six element-wise kernels that each write a fresh tensor.
 *
 * Each parameter gets two TensorFlow resource variables, created on its first update: `param`
 * (holding the TF.js variable's value) and `buffer` (the momentum buffer, starting at zero).
 * With d = g + wd p, PyTorch's rule (optim.ts) is computed as
 *
 *   buffer += (s wd / m) p                        ResourceApplyGradientDescent, alpha = -s wd / m
 *   buffer = m buffer + s g;  param -= lr buffer  ResourceApplyMomentum (grad = s g)
 *          = m buffer_old + s d
 *   nesterov: param -= lr (s g + m buffer), and   ResourceApplyMomentum's use_nesterov
 *             param -= lr wd p                    ResourceApplyGradientDescent, alpha = lr wd
 *   no momentum: param -= lr wd p; param -= lr g
 *
 * where s = 1 on a parameter's first step (buffer = d, as PyTorch: the buffer starts at zero, so
 * m * 0 + d = d) and s = 1 - dampening afterwards. p is the value before the step throughout.
 * The result agrees with the TF.js formulation up to float32 rounding (the sums are grouped
 * differently: m (buffer + (wd/m) p) for m buffer + wd p).
 *
 * In place, and why that is safe: TensorFlow updates a resource variable's memory in place only
 * while nothing else holds that memory, and copies it first otherwise (copy-on-write), so no
 * other tensor ever sees a change. After a step the TF.js variable holds the new value as a read
 * of `param` (ReadVariableOp: the same memory, not a copy), so the next step would copy. To avoid
 * that copy, the last kernel of a step (the one that no longer needs p) runs after the TF.js
 * variable's tensor handle is released, and the handle of the new value is put in its place
 * under the same data id — but only when that variable is the sole TF.js tensor on its data id
 * (tfjs-node's reference count is 1; a clone or a tensor the autodiff tape saved shares the data
 * id and raises it). Otherwise the step copies and the variable is assigned the new value.
 *
 * Before a step, the variable's current tensor handle is compared with the one this left there:
 * if anything else changed the variable meanwhile (a checkpoint load, another optimiser), `param`
 * is reloaded from it.
 *
 * The handle swap uses tfjs-node's backend internals (its tensor map and op binding; the version
 * is pinned in package.json); nativeSgdKernel checks that they are there.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SgdKernel, SgdRule } from '../train/optim';
import { NativeOpExecutor, TfeOpAttr, nativeOpExecutor } from './native-ops';

/** The parts of tfjs-node's NodeJSKernelBackend behind a tensor's data id. */
interface NodeBackendInternals {
  /** Per data id: the TensorFlow tensor handle id and how many TF.js tensors share the data id. */
  tensorMap: { get(dataId: object): { id: number; refCount: number } | undefined };
  /** Handle ids of tensors (creating the handles of tensors whose values are still in JS). */
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  binding: {
    executeOp(name: string, attrs: TfeOpAttr[], inputIds: number[], numOutputs: number): { id: number }[];
    deleteTensor(id: number): void;
  };
}

function backendInternals(native: NativeOpExecutor): NodeBackendInternals | null {
  const b = native as unknown as Partial<NodeBackendInternals>;
  const ok = typeof b.tensorMap?.get === 'function' && typeof b.getInputTensorIds === 'function'
    && typeof b.binding?.executeOp === 'function' && typeof b.binding?.deleteTensor === 'function';
  return ok ? (b as NodeBackendInternals) : null;
}

interface Slot {
  param: tf.Tensor;
  buffer: tf.Tensor | null;
  /** Tensor handle id of the TF.js variable when `param` last matched it (-1: never). */
  syncedHandle: number;
}

/** Distinct resource names within the process (TF keeps named resources until destroyed). */
let nextVariableId = 0;

export class NativeSgdKernel implements SgdKernel {
  private readonly slots = new Map<string, Slot>();
  private readonly dtype: TfeOpAttr[];
  private readonly floatT: TfeOpAttr;
  private readonly noLocking: TfeOpAttr;

  constructor(private readonly native: NativeOpExecutor, private readonly internals: NodeBackendInternals, private readonly rule: SgdRule) {
    const b = native.binding;
    this.dtype = [{ name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }];
    this.floatT = { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
    this.noLocking = { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false };
  }

  update(path: string, p: tf.Variable, g: tf.Tensor, lr: number): void {
    const { momentum, weightDecay, dampening, nesterov } = this.rule;
    const s = this.slot(path, p);
    if (s.syncedHandle !== this.handleOf(p)) this.assign(s.param, p);
    tf.tidy(() => {
      if (momentum) {
        const first = !s.buffer;
        if (!s.buffer) s.buffer = this.newVariable(p.shape, tf.zeros(p.shape));
        const scale = first ? 1 : 1 - dampening;
        if (weightDecay) this.gradientDescent(s.buffer, (-scale * weightDecay) / momentum, p);
        if (nesterov && weightDecay) this.gradientDescent(s.param, lr * weightDecay, p);
        const attrs = [this.floatT, this.noLocking, { name: 'use_nesterov', type: this.native.binding.TF_ATTR_BOOL, value: nesterov }];
        const grad = scale === 1 ? g : tf.mul(g, scale);
        this.finalUpdate(p, s.param, 'ResourceApplyMomentum', attrs, [s.param, s.buffer, tf.scalar(lr), grad, tf.scalar(momentum)]);
      } else {
        if (weightDecay) this.gradientDescent(s.param, lr * weightDecay, p);
        this.finalUpdate(p, s.param, 'ResourceApplyGradientDescent', [this.floatT, this.noLocking], [s.param, tf.scalar(lr), g]);
      }
    });
    s.syncedHandle = this.handleOf(p);
  }

  bufferPaths(): string[] {
    return [...this.slots].filter(([, s]) => s.buffer).map(([path]) => path);
  }

  readBuffer(path: string): tf.Tensor {
    const buffer = this.slots.get(path)?.buffer;
    if (!buffer) throw new Error(`SGD: no momentum buffer for '${path}'`);
    return this.read(buffer);
  }

  writeBuffer(path: string, p: tf.Variable, value: tf.Tensor): void {
    const slot = this.slot(path, p);
    if (slot.buffer) this.assign(slot.buffer, value);
    else slot.buffer = this.newVariable(p.shape, value);
  }

  clearBuffers(): void {
    for (const slot of this.slots.values()) {
      if (slot.buffer) this.destroy(slot.buffer);
      slot.buffer = null;
    }
  }

  dispose(): void {
    this.clearBuffers();
    for (const slot of this.slots.values()) this.destroy(slot.param);
    this.slots.clear();
  }

  private slot(path: string, p: tf.Variable): Slot {
    let slot = this.slots.get(path);
    if (!slot) {
      slot = { param: this.newVariable(p.shape), buffer: null, syncedHandle: -1 };
      this.slots.set(path, slot);
    }
    return slot;
  }

  private handleOf(t: tf.Tensor): number {
    return this.internals.getInputTensorIds([t])[0];
  }

  /**
   * Run the step's last kernel `op` (it updates `param` and no longer reads p) and leave the new
   * value in the TF.js variable p: in place when p is the only TF.js tensor on its data id (see
   * the file comment), else by assignment.
   */
  private finalUpdate(p: tf.Variable, param: tf.Tensor, op: string, attrs: TfeOpAttr[], inputs: tf.Tensor[]): void {
    const { tensorMap, binding } = this.internals;
    const ids = this.internals.getInputTensorIds(inputs);
    const handle = this.handleOf(p);
    const data = tensorMap.get(p.dataId);
    if (data && data.refCount === 1) {
      binding.deleteTensor(handle);
      try {
        binding.executeOp(op, attrs, ids, 0);
      } finally {
        data.id = binding.executeOp('ReadVariableOp', this.dtype, [ids[0]], 1)[0].id;
      }
    } else {
      this.native.executeMultipleOutputs(op, attrs, inputs, 0);
      p.assign(this.read(param));
    }
  }

  /** A float32 resource variable of `shape` (kept out of any enclosing tidy), optionally set to `init`. */
  private newVariable(shape: number[], init?: tf.Tensor): tf.Tensor {
    const b = this.native.binding;
    const handle = tf.keep(this.native.executeMultipleOutputs('VarHandleOp', [
      { name: 'container', type: b.TF_ATTR_STRING, value: '' },
      { name: 'shared_name', type: b.TF_ATTR_STRING, value: `alignmix-sgd-${nextVariableId++}` },
      ...this.dtype,
      { name: 'shape', type: b.TF_ATTR_SHAPE, value: shape },
    ], [], 1)[0]);
    if (init) this.assign(handle, init);
    return handle;
  }

  private assign(variable: tf.Tensor, value: tf.Tensor): void {
    this.native.executeMultipleOutputs('AssignVariableOp', this.dtype, [variable, value], 0);
  }

  private read(variable: tf.Tensor): tf.Tensor {
    return this.native.executeMultipleOutputs('ReadVariableOp', this.dtype, [variable], 1)[0];
  }

  /** variable -= alpha * delta, in place (unless the variable's memory is shared). */
  private gradientDescent(variable: tf.Tensor, alpha: number, delta: tf.Tensor): void {
    this.native.executeMultipleOutputs('ResourceApplyGradientDescent', [this.floatT, this.noLocking], [variable, tf.scalar(alpha), delta], 0);
  }

  private destroy(variable: tf.Tensor): void {
    const b = this.native.binding;
    this.native.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: b.TF_ATTR_BOOL, value: true }], [variable], 0);
    variable.dispose();
  }
}

/**
 * The native SGD kernel when the active backend is tfjs-node's (with the internals it needs),
 * every parameter is float32 (the kernels are used for float32 here) and the weight decay's
 * factor wd / m stays moderate (momentum 0 or at least 1e-3: a tiny momentum would scale p by a
 * huge factor before multiplying it back, losing the buffer's digits or overflowing), else null.
 */
export function nativeSgdKernel(params: tf.Variable[], rule: SgdRule): NativeSgdKernel | null {
  const native = nativeOpExecutor();
  const internals = native && backendInternals(native);
  if (!native || !internals || params.some((p) => p.dtype !== 'float32')) return null;
  if (rule.weightDecay && rule.momentum > 0 && rule.momentum < 1e-3) return null;
  return new NativeSgdKernel(native, internals, rule);
}
