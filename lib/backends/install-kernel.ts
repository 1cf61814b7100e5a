/**
 * Install a kernel in the TF.js registry, replacing the backend's own if it has one. Idempotent.
 * (tf.registerKernel over an existing entry works but logs a warning, hence the unregister.)
 * Call after the backend package has registered its kernels, or its import would put them back.
 */
import * as tf from '@tensorflow/tfjs-core';

export function installKernel(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, config.backendName);
  if (current === config) return;
  if (current) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/** A kernel config for the wasm backend (the kernel functions take wasm's own argument types). */
export function wasmKernel(kernelName: string, kernelFunc: unknown): tf.KernelConfig {
  return { kernelName, backendName: 'wasm', kernelFunc: kernelFunc as tf.KernelFunc };
}
