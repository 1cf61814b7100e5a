/**
 * Stage-1 encoder E: x -> A, as a list of stages so hidden activations can be mixed between
 * stages (manifold mixup, Verma et al. 2019).
 *
 * Hidden states: h_0 = x (pixels in [0, 1]); h_i = stage_i(h_{i-1}) for i = 1..n; A = h_n.
 * Stage 1 first normalises the pixels (./normalization). After stage n come the optional final
 * normalisation of the architecture (WRN's BN + ReLU) and, for the 'pooled' alignment
 * resolution, a 2x2 average pooling, so that h_n is always exactly the tensor A that is aligned
 * and mixed. `forwardRange(h_i, i, j)` returns h_j; mixing h_k between
 * `forwardRange(x, 0, k)` and `forwardRange(h_k, k, n)` is manifold mixup at layer k
 * (k = 0: input mixup), with no copy of the forward code.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Forward4D, Mode, Module } from '../nn/module';
import { avgPool2d } from '../nn/pool';
import { assertInt, assertShape } from '../validate';
import { Normalization } from './normalization';

/** Spatial size and channels of an NHWC activation, per example: [h, w, c]. */
export type ActivationShape = [number, number, number];

export interface EncoderStage {
  name: string;
  module: Module & Forward4D;
  /** Shape of this stage's output for the encoder's input shape (before any final norm/pool). */
  outShape: ActivationShape;
}

export interface EncoderSpec {
  inputShape: ActivationShape;
  stages: EncoderStage[];
  normalization: Normalization | null;
  /** Applied after the last stage (shape-preserving), e.g. WRN's final BN + ReLU. */
  finalNorm?: { name: string; module: Module & Forward4D };
  /** Average-pool A by this factor (1: none; 2: the 'pooled' alignment resolution). */
  featurePool: number;
}

export class Encoder extends Module {
  readonly inputShape: ActivationShape;
  /** shapes[i] is the shape of h_i: shapes[0] = input, shapes[n] = A. */
  readonly shapes: readonly ActivationShape[];
  readonly stageNames: readonly string[];
  readonly featurePool: number;
  private readonly stages: (Module & Forward4D)[];
  private readonly finalNorm: (Module & Forward4D) | null;
  /** x * scale + shift implements (x - mean) / std; null: identity. */
  private readonly norm: { scale: tf.Tensor1D; shift: tf.Tensor1D } | null;

  constructor(spec: EncoderSpec) {
    super();
    if (spec.stages.length === 0) throw new Error('Encoder: needs at least one stage');
    assertInt('Encoder', 'featurePool', spec.featurePool, 1);
    this.inputShape = spec.inputShape;
    this.stages = spec.stages.map((s) => this.registerModule(s.name, s.module));
    this.stageNames = spec.stages.map((s) => s.name);
    this.finalNorm = spec.finalNorm ? this.registerModule(spec.finalNorm.name, spec.finalNorm.module) : null;
    this.featurePool = spec.featurePool;
    const shapes: ActivationShape[] = [spec.inputShape, ...spec.stages.map((s) => s.outShape)];
    const [h, w, c] = shapes[shapes.length - 1];
    const p = spec.featurePool;
    if (h < p || w < p) throw new Error(`Encoder: cannot average-pool a ${h}x${w} feature map by ${p}`);
    shapes[shapes.length - 1] = [Math.floor(h / p), Math.floor(w / p), c];
    this.shapes = shapes;
    const n = spec.normalization;
    this.norm = n
      ? {
        scale: tf.keep(tf.tensor1d(n.std.map((s) => 1 / s))),
        shift: tf.keep(tf.tensor1d(n.mean.map((m, i) => -m / n.std[i]))),
      }
      : null;
  }

  /** Number of stages n (hidden states h_0..h_n). */
  get numStages(): number {
    return this.stages.length;
  }

  /** Shape of A per example: [h, w, c]. */
  get featureShape(): ActivationShape {
    return this.shapes[this.shapes.length - 1];
  }

  /** A = E(x) for pixel input x [B, H, W, C]. Result in the current tidy scope. */
  forward(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    return this.forwardRange(x, 0, this.stages.length, mode);
  }

  /**
   * h_to from h_from (0 <= from <= to <= n); h_0 is the pixel input. Result in the current tidy
   * scope (h itself when from === to).
   */
  forwardRange(h: tf.Tensor4D, from: number, to: number, mode: Mode): tf.Tensor4D {
    const n = this.stages.length;
    assertInt('Encoder.forwardRange', 'from', from, 0, n);
    assertInt('Encoder.forwardRange', 'to', to, from, n);
    assertShape('Encoder.forwardRange', `h_${from}`, h, [null, ...this.shapes[from]]);
    let out = h;
    for (let i = from; i < to; i++) {
      if (i === 0 && this.norm) out = tf.add(tf.mul(out, this.norm.scale), this.norm.shift);
      out = this.stages[i].forward(out, mode);
    }
    if (to === n && from < n) {
      if (this.finalNorm) out = this.finalNorm.forward(out, mode);
      if (this.featurePool > 1) out = avgPool2d(out, this.featurePool);
    }
    return out;
  }

  override dispose(): void {
    super.dispose();
    this.norm?.scale.dispose();
    this.norm?.shift.dispose();
  }
}
