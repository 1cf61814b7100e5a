/**
 * Test helpers: run the same computation on several TF.js backends in one process.
 *
 * lib/backend.ts fixes the process's backend at start-up; these helpers switch with tf.setBackend
 * for the duration of one computation and always switch back, so other test files still run on the
 * backend the root hook chose. Inputs are passed as plain arrays and results come back as
 * Float32Arrays, so no tensor outlives the switch.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerCpuKernelFixes } from '../../lib/backends/cpu-kernel-fixes';
import { registerWasmTrainingKernels } from '../../lib/backends/wasm-training';

export type BackendId = 'cpu' | 'wasm' | 'tensorflow';

/**
 * Make `name` available in this process; returns null when it is, otherwise why not (the
 * caller skips). wasm gets its training kernels and cpu its corrected kernel (lib/backends).
 */
export function ensureBackend(name: BackendId): string | null {
  try {
    if (name === 'wasm') {
      require('@tensorflow/tfjs-backend-wasm');
      registerWasmTrainingKernels();
    } else if (name === 'cpu') {
      registerCpuKernelFixes();
    } else if (name === 'tensorflow' && !tf.findBackendFactory('tensorflow')) {
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      require('@tensorflow/tfjs-node');
    }
  } catch (e) {
    return `${name} backend not installed (${String(e instanceof Error ? e.message : e).split('\n')[0]})`;
  }
  return tf.findBackendFactory(name) ? null : `${name} backend not registered`;
}

/** Run `fn` on backend `name` inside tf.tidy and return its outputs' values. */
export async function runOn(name: BackendId, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} failed to start`);
  try {
    return tf.tidy(() => {
      const out = fn();
      return (Array.isArray(out) ? out : [out]).map((t) => Float32Array.from(t.dataSync()));
    });
  } finally {
    await tf.setBackend(previous);
  }
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Normal(0, 1) values from the project's Rng, as a plain array. */
export function normals(rng: { normal(): number }, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}
