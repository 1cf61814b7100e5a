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
 * The handle swap uses tfjs-node's backend internals (its tensor map and op binding:
 * NodeBackendInternals in ./native-ops.ts, which checks that they are there).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { SgdKernel, SgdRule } from '../train/optim';
import type { TfeOpAttr } from './native-binding';
import { NodeBackendInternals, nodeBackendInternals } from './native-ops';

/** A resource variable: the TF.js tensor holding its handle, and that handle's id. */
interface Variable {
  handle: tf.Tensor;
  id: number;
}

interface Slot {
  param: Variable;
  buffer: Variable | null;
  /** Tensor handle id of the TF.js variable when `param` last matched it (-1: never). */
  syncedHandle: number;
}

/** Distinct resource names within the process (TF keeps named resources until destroyed). */
let nextVariableId = 0;

/**
 * Scalar constants kept before the cache is emptied. A step uses a handful (learning rate per
 * group, the weight decay factors, the momentum); a schedule that changes the learning rate every
 * step adds one per group and step, so the cache is emptied at the start of an update (which adds
 * at most three) once it holds this many.
 */
const MAX_SCALARS = 64;

export class NativeSgdKernel implements SgdKernel {
  private readonly slots = new Map<string, Slot>();
  /** float32 scalar constants as TensorFlow tensor handle ids, by value (see scalar()). */
  private readonly scalars = new Map<number, number>();
  private readonly dtype: TfeOpAttr[];
  private readonly gradientDescentAttrs: TfeOpAttr[];
  private readonly momentumAttrs: TfeOpAttr[];

  constructor(private readonly native: NodeBackendInternals, private readonly rule: SgdRule) {
    const b = native.binding;
    this.dtype = [{ name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT }];
    const floatT = { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
    const noLocking = { name: 'use_locking', type: b.TF_ATTR_BOOL, value: false };
    this.gradientDescentAttrs = [floatT, noLocking];
    this.momentumAttrs = [floatT, noLocking, { name: 'use_nesterov', type: b.TF_ATTR_BOOL, value: rule.nesterov }];
  }

  /**
   * The hot path of a training step: every kernel runs through tfjs-node's op binding on handle
   * ids, with cached scalar constants: a parameter costs its two kernels, a ReadVariableOp and a
   * handle deletion, and creates no TF.js tensor (unless dampening scales its gradient).
   */
  update(path: string, p: tf.Variable, g: tf.Tensor, lr: number): void {
    const { momentum, weightDecay, dampening, nesterov } = this.rule;
    if (this.scalars.size >= MAX_SCALARS) this.clearScalars();
    const s = this.slot(path, p);
    let [pId, gId] = this.native.getInputTensorIds([p, g]);
    if (s.syncedHandle !== pId) this.assign(s.param, p);
    let scaledGrad: tf.Tensor | null = null;
    try {
      if (momentum) {
        const first = !s.buffer;
        if (!s.buffer) s.buffer = this.newVariable(p.shape, 0);
        const scale = first ? 1 : 1 - dampening;
        if (weightDecay) this.gradientDescent(s.buffer, (-scale * weightDecay) / momentum, pId);
        if (nesterov && weightDecay) this.gradientDescent(s.param, lr * weightDecay, pId);
        if (scale !== 1) {
          scaledGrad = tf.mul(g, scale);
          [gId] = this.native.getInputTensorIds([scaledGrad]);
        }
        pId = this.finalUpdate(p, s.param, 'ResourceApplyMomentum', this.momentumAttrs,
          [s.param.id, s.buffer.id, this.scalar(lr), gId, this.scalar(momentum)]);
      } else {
        if (weightDecay) this.gradientDescent(s.param, lr * weightDecay, pId);
        pId = this.finalUpdate(p, s.param, 'ResourceApplyGradientDescent', this.gradientDescentAttrs, [s.param.id, this.scalar(lr), gId]);
      }
    } finally {
      scaledGrad?.dispose();
    }
    s.syncedHandle = pId;
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
    this.clearScalars();
  }

  private slot(path: string, p: tf.Variable): Slot {
    let slot = this.slots.get(path);
    if (!slot) {
      slot = { param: this.newVariable(p.shape), buffer: null, syncedHandle: -1 };
      this.slots.set(path, slot);
    }
    return slot;
  }

  /** The handle id of a float32 scalar tensor holding `value`, made on first use and kept. */
  private scalar(value: number): number {
    let id = this.scalars.get(value);
    if (id === undefined) {
      id = this.native.binding.createTensor([], this.native.binding.TF_FLOAT, Float32Array.of(value));
      this.scalars.set(value, id);
    }
    return id;
  }

  private clearScalars(): void {
    for (const id of this.scalars.values()) this.native.binding.deleteTensor(id);
    this.scalars.clear();
  }

  /**
   * Run the step's last kernel `op` on input handle ids (it updates `param` and no longer reads
   * p) and leave the new value in the TF.js variable p: in place when p is the only TF.js tensor
   * on its data id (see the file comment), else by assignment. Returns p's new handle id.
   */
  private finalUpdate(p: tf.Variable, param: Variable, op: string, attrs: TfeOpAttr[], inputIds: number[]): number {
    const { tensorMap, binding } = this.native;
    const data = tensorMap.get(p.dataId);
    if (data && data.refCount === 1) {
      binding.deleteTensor(data.id);
      try {
        binding.executeOp(op, attrs, inputIds, 0);
      } finally {
        data.id = binding.executeOp('ReadVariableOp', this.dtype, [param.id], 1)[0].id;
      }
      return data.id;
    }
    binding.executeOp(op, attrs, inputIds, 0);
    p.assign(this.read(param));
    return this.native.getInputTensorIds([p])[0];
  }

  /**
   * A float32 resource variable of `shape` (its handle kept out of any enclosing tidy),
   * optionally set to `init`: a tensor, or a number to fill it with.
   */
  private newVariable(shape: number[], init?: tf.Tensor | number): Variable {
    const b = this.native.binding;
    const handle = tf.keep(this.native.executeMultipleOutputs('VarHandleOp', [
      { name: 'container', type: b.TF_ATTR_STRING, value: '' },
      { name: 'shared_name', type: b.TF_ATTR_STRING, value: `alignmix-sgd-${nextVariableId++}` },
      ...this.dtype,
      { name: 'shape', type: b.TF_ATTR_SHAPE, value: shape },
    ], [], 1)[0]);
    const variable = { handle, id: this.native.getInputTensorIds([handle])[0] };
    if (typeof init === 'number') {
      const value = tf.fill(shape, init);
      this.assign(variable, value);
      value.dispose();
    } else if (init) {
      this.assign(variable, init);
    }
    return variable;
  }

  private assign(variable: Variable, value: tf.Tensor): void {
    this.native.executeMultipleOutputs('AssignVariableOp', this.dtype, [variable.handle, value], 0);
  }

  private read(variable: Variable): tf.Tensor {
    return this.native.executeMultipleOutputs('ReadVariableOp', this.dtype, [variable.handle], 1)[0];
  }

  /** variable -= alpha * delta (a handle id), in place (unless the variable's memory is shared). */
  private gradientDescent(variable: Variable, alpha: number, deltaId: number): void {
    this.native.binding.executeOp('ResourceApplyGradientDescent', this.gradientDescentAttrs, [variable.id, this.scalar(alpha), deltaId], 0);
  }

  private destroy(variable: Variable): void {
    const b = this.native.binding;
    this.native.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: b.TF_ATTR_BOOL, value: true }], [variable.handle], 0);
    variable.handle.dispose();
  }
}

/**
 * The native SGD kernel when the active backend is tfjs-node's (with the internals it needs),
 * every parameter is float32 (the kernels are used for float32 here) and the weight decay's
 * factor wd / m stays moderate (momentum 0 or at least 1e-3: a tiny momentum would scale p by a
 * huge factor before multiplying it back, losing the buffer's digits or overflowing), else null.
 */
export function nativeSgdKernel(params: tf.Variable[], rule: SgdRule): NativeSgdKernel | null {
  const native = nodeBackendInternals();
  if (!native || params.some((p) => p.dtype !== 'float32')) return null;
  if (rule.weightDecay && rule.momentum > 0 && rule.momentum < 1e-3) return null;
  return new NativeSgdKernel(native, rule);
}
