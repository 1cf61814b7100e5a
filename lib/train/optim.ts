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
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertInRange, assertKnownKeys, assertPositive } from '../validate';

export interface SgdOptions {
  momentum: number;
  weightDecay: number;
  dampening?: number;
  nesterov?: boolean;
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
  private buffers = new Map<string, tf.Variable>();
  private stepCount = 0;

  constructor(groups: ParamGroup[], options: SgdOptions) {
    assertKnownKeys('SGD', options, ['momentum', 'weightDecay', 'dampening', 'nesterov']);
    assertInRange('SGD', 'momentum', options.momentum, 0, 1);
    assertInRange('SGD', 'weightDecay', options.weightDecay, 0, Infinity);
    this.options = { dampening: 0, nesterov: false, ...options };
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
    const { momentum, weightDecay, dampening, nesterov } = this.options;
    for (const group of this.groups) {
      const rate = lr[group.name];
      if (rate === undefined) throw new Error(`SGD.step: no learning rate for group '${group.name}'`);
      assertInRange('SGD.step', `lr[${group.name}]`, rate, 0, Infinity);
      for (const [path, p] of group.params) {
        const g = grads[p.name];
        if (!g) continue;
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
          p.assign(tf.sub(p, tf.mul(d, rate)));
        });
      }
    }
    this.stepCount++;
  }

  /** Copy of the state (caller disposes the returned tensors). */
  getState(): SgdState {
    const buffers: Record<string, tf.Tensor> = {};
    for (const [path, b] of this.buffers) buffers[path] = tf.clone(b);
    return { step: this.stepCount, buffers };
  }

  /** Restore a state saved by getState(); shapes must match the parameters. */
  setState(state: SgdState): void {
    const shapes = new Map<string, number[]>();
    for (const g of this.groups) for (const [path, p] of g.params) shapes.set(path, p.shape);
    for (const [path, t] of Object.entries(state.buffers)) {
      const shape = shapes.get(path);
      if (!shape) throw new Error(`SGD.setState: momentum buffer for unknown parameter '${path}'`);
      if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i])) {
        throw new Error(`SGD.setState: buffer '${path}' has shape [${t.shape}] but the parameter has [${shape}]`);
      }
    }
    this.disposeBuffers();
    for (const [path, t] of Object.entries(state.buffers)) this.buffers.set(path, tf.variable(tf.clone(t), false));
    this.stepCount = state.step;
  }

  dispose(): void {
    this.disposeBuffers();
  }

  private disposeBuffers(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
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
