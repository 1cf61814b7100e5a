/**
 * What the wasm backend (@tensorflow/tfjs-backend-wasm 4.22) needs to train this project's nets,
 * and its threads. lib/backend.ts calls both functions before starting 'wasm'.
 *
 * Kernels registered for 'wasm' (found by running the gradients of every op the models, mixing and
 * losses use on wasm and on the cpu reference backend):
 *   Conv2DBackpropFilter       missing ("not registered"): no conv net could train.
 *   Conv2DBackpropInput        present but a scalar loop ~7x slower than wasm's conv: replaced
 *                              by XNNPACK convolutions (./wasm-conv-grad). Also conv2dTranspose.
 *   MaxPoolGrad                present but WRONG for windows with no positive value: replaced.
 *   ResizeNearestNeighborGrad  present but ignores halfPixelCenters: replaced (./wasm-scatter-grads).
 *                              (The cpu backend's is wrong for batch index > 0: ./cpu-kernel-fixes.)
 *   UnsortedSegmentSum         missing: tf.gather's gradient (partner permutations) needs it.
 * Everything else these nets use agrees with the cpu backend as shipped (conv / pooling / resize
 * forward, avgPool, mean, moments, batchNorm, relu, matMul, (log)softmax, logSumExp, concat, pad,
 * slice, stack, tile, clip, max/min, sigmoid, sqrt, exp/log, squaredDifference, maximum, bilinear
 * resize and their gradients): test/backends/ checks the registered kernels and a small net.
 * Not covered: depthwise convolution gradients and Einsum (missing on wasm, unused here).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig, conv2DBackpropInputConfig } from './wasm-conv-grad';
import { installKernel } from './install-kernel';
import { maxPoolGradConfig, resizeNearestNeighborGradConfig, unsortedSegmentSumConfig } from './wasm-scatter-grads';

export { configureWasmThreads, wasmThreadStatus, MAX_WASM_THREADS } from './wasm-threads';
export type { WasmPackage, WasmThreadStatus } from './wasm-threads';

const KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  maxPoolGradConfig,
  resizeNearestNeighborGradConfig,
  unsortedSegmentSumConfig,
];

/** Names of the kernels `registerWasmTrainingKernels` installs for 'wasm'. */
export const WASM_TRAINING_KERNELS: readonly string[] = KERNELS.map((k) => k.kernelName);

/**
 * Register the training kernels for 'wasm', replacing the package's own where it has one
 * (idempotent). Call after loading @tensorflow/tfjs-backend-wasm; before or after the backend
 * starts (kernels are looked up when an op runs).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of KERNELS) installKernel(config);
}
