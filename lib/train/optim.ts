/**
 * SGD with momentum and weight decay, with parameter groups — PyTorch's `torch.optim.SGD`
 * semantics, which the papers and the authors' code use:
 *
 *   d = g + weightDecay * p                       (L2 through the gradient, not decoupled)
 *   buf = d                       on the first step of a parameter
 *   buf = momentum * buf + (1 - dampening) * d   afterwards
 *   d = nesterov ? d + momentum * buf : buf
 *   p = p - lr * d
 *
 * Groups carry their own learning rate (the ImageNet and CUB protocols train the classifier with
 * a 10x larger rate than the rest). The state (momentum buffers and step counts) can be saved
 * and restored exactly, keyed by parameter path.
 *
 * Two implementations of the same rule, picked when the optimiser is built: on the native
 * backend, TensorFlow's training kernels updating resource variables in place
 * (lib/backends/native-sgd.ts); elsewhere (wasm, cpu), TF.js element-wise ops (TfjsSgdKernel
 * below). They agree up to float32 rounding; a saved state restores into either.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeSgdKernel } from '../backends/native-sgd';
import { assertInRange, assertKnownKeys, assertOneOf, assertPositive } from '../validate';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  dampening?: number;
  nesterov?: boolean;
  /**
   * 'auto' (default): TensorFlow's in-place training kernels on the native backend, TF.js ops
   * elsewhere. 'tfjs': TF.js ops on every backend (the reference the native path is tested against).
   */
  implementation?: 'auto' | 'tfjs';
}

/** The update rule's constants, as the implementations see them. */
export type SgdRule = Required<Omit<SgdOptions, 'implementation'>>;

/**
 * One implementation of the update: it owns the momentum buffers (keyed by parameter path) and
 * whatever else it keeps per parameter.
 */
export interface SgdKernel {
  /** Update `p` in place from its gradient `g` with learning rate `lr` (the rule above). */
  update(path: string, p: tf.Variable, g: tf.Tensor, lr: number): void;
  /** Paths that have a momentum buffer (those updated at least once, or restored). */
  bufferPaths(): string[];
  /** A new tensor with the buffer's value (the caller disposes it). */
  readBuffer(path: string): tf.Tensor;
  /** Set the buffer of parameter `p` at `path` to (a copy of) `value`. */
  writeBuffer(path: string, p: tf.Variable, value: tf.Tensor): void;
  /** Forget every buffer (the next update of each parameter is its first). */
  clearBuffers(): void;
  dispose(): void;
}

/** The update as TF.js element-wise ops; runs on every backend. */
class TfjsSgdKernel implements SgdKernel {
  private readonly buffers = new Map<string, tf.Variable>();

  constructor(private readonly rule: SgdRule) {}

  update(path: string, p: tf.Variable, g: tf.Tensor, lr: number): void {
    const { momentum, weightDecay, dampening, nesterov } = this.rule;
    tf.tidy(() => {
      let d: tf.Tensor = weightDecay ? tf.add(g, tf.mul(p, weightDecay)) : g;
      if (momentum) {
        const buf = this.buffers.get(path);
        let next: tf.Tensor;
        if (!buf) {
          next = d;
          this.buffers.set(path, tf.variable(tf.clone(d), false));
        } else {
          next = dampening ? tf.add(tf.mul(buf, momentum), tf.mul(d, 1 - dampening)) : tf.add(tf.mul(buf, momentum), d);
          buf.assign(next);
        }
        d = nesterov ? tf.add(d, tf.mul(next, momentum)) : next;
      }
      p.assign(tf.sub(p, tf.mul(d, lr)));
    });
  }

  bufferPaths(): string[] {
    return [...this.buffers.keys()];
  }

  readBuffer(path: string): tf.Tensor {
    const buffer = this.buffers.get(path);
    if (!buffer) throw new Error(`SGD: no momentum buffer for '${path}'`);
    return tf.clone(buffer);
  }

  writeBuffer(path: string, _p: tf.Variable, value: tf.Tensor): void {
    this.buffers.get(path)?.dispose();
    this.buffers.set(path, tf.variable(tf.clone(value), false));
  }

  clearBuffers(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }

  dispose(): void {
    this.clearBuffers();
  }
}

export interface ParamGroup {
  /** Name used in logs and the saved state, e.g. 'classifier', 'body'. */
  name: string;
  /** Parameters as [path, variable] pairs (paths are stable across runs; used in checkpoints). */
  params: [string, tf.Variable][];
}

export interface SgdState {
  step: number;
  /** Momentum buffer per parameter path (absent before a parameter's first update). */
  buffers: Record<string, tf.Tensor>;
}

export class SGD {
  readonly options: Required<SgdOptions>;
  readonly groups: ParamGroup[];
  /** Which implementation runs the update: 'native' (TensorFlow training kernels) or 'tfjs'. */
  readonly implementation: 'native' | 'tfjs';
  private readonly kernel: SgdKernel;
  private stepCount = 0;

  constructor(groups: ParamGroup[], options: SgdOptions) {
    assertKnownKeys('SGD', options, ['momentum', 'weightDecay', 'dampening', 'nesterov', 'implementation']);
    assertInRange('SGD', 'momentum', options.momentum, 0, 1);
    assertInRange('SGD', 'weightDecay', options.weightDecay, 0, Infinity);
    this.options = { dampening: 0, nesterov: false, implementation: 'auto', ...options };
    assertOneOf('SGD', 'implementation', this.options.implementation, ['auto', 'tfjs'] as const);
    if (this.options.nesterov && (this.options.momentum <= 0 || this.options.dampening !== 0)) {
      throw new Error('SGD: nesterov momentum requires momentum > 0 and dampening = 0');
    }
    const seen = new Set<string>();
    for (const g of groups) {
      for (const [path] of g.params) {
        if (seen.has(path)) throw new Error(`SGD: parameter '${path}' appears in more than one group`);
        seen.add(path);
      }
    }
    this.groups = groups;
    const { momentum, weightDecay, dampening, nesterov } = this.options;
    const rule: SgdRule = { momentum, weightDecay, dampening, nesterov };
    const native = this.options.implementation === 'auto' ? nativeSgdKernel(groups.flatMap((g) => g.params.map(([, p]) => p)), rule) : null;
    this.kernel = native ?? new TfjsSgdKernel(rule);
    this.implementation = native ? 'native' : 'tfjs';
  }

  /** Number of steps taken so far. */
  get steps(): number {
    return this.stepCount;
  }

  /**
   * Apply one update. `grads` maps tfjs variable names (as returned by `tf.variableGrads`) to
   * gradients; `lr` maps group names to learning rates. Parameters without a gradient are left
   * untouched (PyTorch skips parameters whose .grad is None). Does not dispose `grads`.
   */
  step(grads: tf.NamedTensorMap, lr: Record<string, number>): void {
    for (const group of this.groups) {
      const rate = lr[group.name];
      if (rate === undefined) throw new Error(`SGD.step: no learning rate for group '${group.name}'`);
      assertInRange('SGD.step', `lr[${group.name}]`, rate, 0, Infinity);
    }
    for (const group of this.groups) {
      for (const [path, p] of group.params) {
        const g = grads[p.name];
        if (g) this.kernel.update(path, p, g, lr[group.name]);
      }
    }
    this.stepCount++;
  }

  /** Copy of the state (caller disposes the returned tensors). */
  getState(): SgdState {
    const buffers: Record<string, tf.Tensor> = {};
    for (const path of this.kernel.bufferPaths()) buffers[path] = this.kernel.readBuffer(path);
    return { step: this.stepCount, buffers };
  }

  /** Restore a state saved by getState(); shapes must match the parameters. */
  setState(state: SgdState): void {
    const params = new Map<string, tf.Variable>();
    for (const g of this.groups) for (const [path, p] of g.params) params.set(path, p);
    for (const [path, t] of Object.entries(state.buffers)) {
      const p = params.get(path);
      if (!p) throw new Error(`SGD.setState: momentum buffer for unknown parameter '${path}'`);
      if (p.shape.length !== t.shape.length || p.shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`SGD.setState: buffer '${path}' has shape [${t.shape}] but the parameter has [${p.shape}]`);
      }
    }
    this.kernel.clearBuffers();
    for (const [path, t] of Object.entries(state.buffers)) this.kernel.writeBuffer(path, params.get(path) as tf.Variable, t);
    this.stepCount = state.step;
  }

  dispose(): void {
    this.kernel.dispose();
  }
}

/** Learning rate of each group at a given epoch, from base rates and a schedule multiplier. */
export function groupLearningRates(baseLr: Record<string, number>, multiplier: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, lr] of Object.entries(baseLr)) {
    assertPositive('groupLearningRates', `baseLr[${name}]`, lr);
    out[name] = lr * multiplier;
  }
  return out;
}
