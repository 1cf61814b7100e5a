/**
 * A corrected kernel for the pure-JS cpu backend (@tensorflow/tfjs-backend-cpu 4.22).
 *
 * ResizeNearestNeighborGrad there is not the gradient of its own forward op: it reads dy with the
 * image's batch stride (wrong for every batch index > 0), returns NaN when down-sampling, and
 * ignores halfPixelCenters. The decoder's nearest up-sampling trains through it, so on the cpu
 * backend (and in tests that use cpu as the reference) it is replaced by the adjoint of the
 * forward resize (./scatter-grads), with the forward's float64 source indices.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { installKernel } from './install-kernel';
import { resizeNearestGradInto } from './scatter-grads';

function resizeNearestNeighborGrad(args: { inputs: tf.NamedTensorInfoMap; backend: MathBackendCPU; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { images, dy } = args.inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = args.attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
  const dx = new Float32Array(tf.util.sizeFromShape(images.shape));
  const dyValues = args.backend.data.get(dy.dataId).values as Float32Array;
  resizeNearestGradInto(dx, dyValues, images.shape, dy.shape, alignCorners, halfPixelCenters, false);
  return args.backend.makeTensorInfo(images.shape, 'float32', dx);
}

export const cpuResizeNearestNeighborGradConfig: tf.KernelConfig = {
  kernelName: tf.ResizeNearestNeighborGrad,
  backendName: 'cpu',
  kernelFunc: resizeNearestNeighborGrad as unknown as tf.KernelFunc,
};

/**
 * Install the corrected cpu kernel (idempotent). Call after @tensorflow/tfjs-backend-cpu (or the
 * @tensorflow/tfjs bundle) is loaded, since loading it registers its own kernel.
 */
export function registerCpuKernelFixes(): void {
  installKernel(cpuResizeNearestNeighborGradConfig);
}
