/**
 * Tiny hand-built models and float64 references shared by the lib/eval tests (no lib/models).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { Classifier } from '../../lib/eval/types';

/** logits = flatten(x) @ W + b, with W [D, K] and b [K] as plain float64 arrays (row-major W). */
export class LinearClassifier implements Classifier {
  readonly numClasses: number;
  readonly dim: number;
  private readonly w: tf.Tensor2D;
  private readonly b: tf.Tensor1D;

  constructor(readonly weights: Float64Array, readonly bias: Float64Array) {
    this.numClasses = bias.length;
    this.dim = weights.length / bias.length;
    this.w = tf.tensor2d(Float32Array.from(weights), [this.dim, this.numClasses]);
    this.b = tf.tensor1d(Float32Array.from(bias));
  }

  static random(dim: number, numClasses: number, seed: number, scale = 1): LinearClassifier {
    const rng = new Rng(seed);
    const w = Float64Array.from({ length: dim * numClasses }, () => scale * rng.normal());
    const b = Float64Array.from({ length: numClasses }, () => 0.1 * rng.normal());
    // Round to float32 so that the float64 references use exactly the model's parameters.
    return new LinearClassifier(Float64Array.from(Float32Array.from(w)), Float64Array.from(Float32Array.from(b)));
  }

  predictLogits(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), this.w), this.b));
  }

  /** float64 logits of one flattened image. */
  logits64(x: ArrayLike<number>): Float64Array {
    const out = Float64Array.from(this.bias);
    for (let d = 0; d < this.dim; d++) for (let k = 0; k < this.numClasses; k++) out[k] += x[d] * this.weights[d * this.numClasses + k];
    return out;
  }

  dispose(): void {
    this.w.dispose();
    this.b.dispose();
  }
}

export function softmax64(z: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) max = Math.max(max, z[i]);
  const e = Float64Array.from(z as ArrayLike<number>, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function argmax(v: ArrayLike<number>): number {
  let arg = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[arg]) arg = i;
  return arg;
}

/** Uniform pixels in [lo, hi) from a seeded Rng. */
export function randomImages(shape: [number, number, number, number], seed: number, lo = 0, hi = 1): tf.Tensor4D {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor4d(Float32Array.from({ length: size }, () => lo + (hi - lo) * rng.uniform()), shape);
}

/** Run `fn` and assert it leaves no tensor behind. */
export async function withoutLeaks<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`tensor leak: ${after - before} tensors left behind (${before} -> ${after})`);
  return out;
}
