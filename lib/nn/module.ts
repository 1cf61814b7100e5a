/**
 * The module tree: parameters, buffers and child modules with hierarchical paths.
 *
 * A `Module` owns
 *   - trainable parameters (weights, biases, BN scale/shift) as trainable `tf.Variable`s,
 *   - buffers (BN running statistics) as non-trainable `tf.Variable`s,
 *   - named child modules.
 * Paths join names with '.', e.g. `encoder.layer1.0.bn1.gamma`, exactly like PyTorch's
 * `named_parameters()`; list-like containers name their children '0', '1', ...
 *
 * Variables are created WITHOUT explicit tfjs names: tfjs variable names live in one global
 * registry, so two models built with the same explicit names would collide. The tfjs-generated
 * name (`variable.name`) is what `tf.variableGrads` keys gradients by; the path is what state
 * dicts, checkpoints and optimiser state use, because it is stable across runs.
 *
 * Training vs evaluation is never hidden state: every forward call takes a `Mode` argument.
 */
import * as tf from '@tensorflow/tfjs-core';
import { shapeStr } from '../validate';

/** 'train': batch statistics and running-stat updates in BN; 'eval': running statistics. */
export type Mode = 'train' | 'eval';

export type NamedVariable = [path: string, variable: tf.Variable];

export interface LoadStateOptions {
  /**
   * true (default): every parameter and buffer must be present and no other key may appear.
   * false: load the keys that match and ignore the rest (shapes of matching keys are still checked).
   */
  strict?: boolean;
}

/** A module whose forward maps an NHWC tensor to an NHWC tensor (stages, blocks, containers). */
export interface Forward4D {
  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D;
}

const NAME_RE = /^[A-Za-z0-9_]+$/;

export abstract class Module {
  private readonly params = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();

  /** Register a trainable parameter. Takes ownership of `value` (the variable shares its data). */
  protected registerParameter(name: string, value: tf.Tensor): tf.Variable {
    return this.registerVariable(name, value, true, this.params);
  }

  /** Register a non-trainable buffer (saved in the state dict, never given gradients). */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    return this.registerVariable(name, value, false, this.buffers);
  }

  /** Register a child module; returns it for assignment to a field. */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    this.children.set(name, module);
    return module;
  }

  /** Trainable parameters with their paths, in registration order (depth first). */
  namedParameters(prefix = ''): NamedVariable[] {
    return this.collect(prefix, (m) => m.params);
  }

  /** Non-trainable buffers with their paths. */
  namedBuffers(prefix = ''): NamedVariable[] {
    return this.collect(prefix, (m) => m.buffers);
  }

  /** Direct children with their names. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Number of trainable scalars (what PyTorch's `sum(p.numel() for p in m.parameters())` counts). */
  numParameters(): number {
    return this.namedParameters().reduce((n, [, v]) => n + v.size, 0);
  }

  /**
   * Parameters and buffers by path, as new tensors that share the current values (tf.clone: no
   * copy of the data; later training steps assign new data to the variables and leave these
   * snapshots unchanged). The caller disposes the returned tensors.
   */
  stateDict(): Record<string, tf.Tensor> {
    const out: Record<string, tf.Tensor> = {};
    for (const [path, v] of [...this.namedParameters(), ...this.namedBuffers()]) out[path] = tf.clone(v);
    return out;
  }

  /**
   * Assign values by path. All problems (missing keys, unexpected keys, wrong shapes or dtypes)
   * are collected and reported in one error before anything is assigned, so a failed load leaves
   * the module unchanged. Does not dispose `state`.
   */
  loadStateDict(state: Record<string, tf.Tensor>, options: LoadStateOptions = {}): void {
    const strict = options.strict ?? true;
    const own = new Map<string, tf.Variable>([...this.namedParameters(), ...this.namedBuffers()]);
    const missing = [...own.keys()].filter((k) => !(k in state));
    const unexpected = Object.keys(state).filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [path, v] of own) {
      const t = state[path];
      if (!t) continue;
      if (t.rank !== v.rank || t.shape.some((d, i) => d !== v.shape[i])) {
        mismatched.push(`'${path}' expects ${shapeStr(v.shape)} but got ${shapeStr(t.shape)}`);
      } else if (t.dtype !== v.dtype) {
        mismatched.push(`'${path}' expects dtype ${v.dtype} but got ${t.dtype}`);
      }
    }
    const problems: string[] = [];
    if (strict && missing.length) problems.push(`missing keys: ${listKeys(missing)}`);
    if (strict && unexpected.length) problems.push(`unexpected keys: ${listKeys(unexpected)}`);
    if (mismatched.length) problems.push(`shape/dtype mismatch: ${mismatched.join('; ')}`);
    if (problems.length) throw new Error(`Module.loadStateDict (${this.constructor.name}): ${problems.join('; ')}`);
    for (const [path, v] of own) {
      const t = state[path];
      if (t) v.assign(t);
    }
  }

  /** Dispose every variable of this module and its children. The module is unusable afterwards. */
  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
    for (const c of this.children.values()) c.dispose();
  }

  private registerVariable(name: string, value: tf.Tensor, trainable: boolean, into: Map<string, tf.Variable>): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, trainable);
    value.dispose();
    into.set(name, v);
    return v;
  }

  private checkName(name: string): void {
    if (!NAME_RE.test(name)) throw new Error(`Module.register (${this.constructor.name}): name '${name}' must match ${NAME_RE}`);
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new Error(`Module.register (${this.constructor.name}): name '${name}' is already used`);
    }
  }

  private collect(prefix: string, pick: (m: Module) => Map<string, tf.Variable>): NamedVariable[] {
    const out: NamedVariable[] = [];
    for (const [name, v] of pick(this)) out.push([prefix + name, v]);
    for (const [name, child] of this.children) out.push(...child.collect(`${prefix}${name}.`, pick));
    return out;
  }
}

function listKeys(keys: string[]): string {
  const shown = keys.slice(0, 8).map((k) => `'${k}'`).join(', ');
  return keys.length > 8 ? `${shown} and ${keys.length - 8} more` : shown;
}

/** Children applied in order; named '0', '1', ... (PyTorch's nn.Sequential). */
export class Sequential extends Module implements Forward4D {
  readonly layers: readonly (Module & Forward4D)[];

  constructor(layers: (Module & Forward4D)[]) {
    super();
    this.layers = layers.map((l, i) => this.registerModule(String(i), l));
  }

  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    let h = x;
    for (const l of this.layers) h = l.forward(h, mode);
    return h;
  }
}
