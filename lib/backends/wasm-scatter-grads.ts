/**
 * Scatter-type gradient kernels for the wasm backend (loops in ./scatter-grads, run on views of
 * the wasm heap):
 *   MaxPoolGrad — replaces wasm's, which is wrong whenever a window holds no positive value: its
 *     running maximum starts at FLT_MIN (the smallest POSITIVE float) instead of -inf, so the
 *     gradient of an all-zero window (common after a ReLU) or an all-negative window is lost; it
 *     also sends ties to the last maximum where TensorFlow and the cpu backend pick the first.
 *   ResizeNearestNeighborGrad — replaces wasm's, which ignores halfPixelCenters (its gradient is
 *     then not the adjoint of the forward resize) and searches a window of dy for every input
 *     pixel; this one adds each dy element once, with wasm's float32 source indices.
 *   UnsortedSegmentSum — missing on wasm; tf.gather's gradient needs it.
 * Each returns a new tensor owned by the engine.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernel } from './install-kernel';
import { maxPoolGradInto, resizeNearestGradInto, unsortedSegmentSumInto } from './scatter-grads';
import { heapView, WasmBackend, withKernelCalls } from './wasm-kernel-calls';

interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: WasmBackend;
  attrs: tf.NamedAttrMap;
}

function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode,
  );
  return withKernelCalls(backend, (calls) => {
    const dx = calls.output(input.shape);
    maxPoolGradInto(heapView(backend, dx), heapView(backend, input), heapView(backend, dy), info);
    return dx;
  });
}

function resizeNearestNeighborGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
  const { alignCorners, halfPixelCenters } = attrs as unknown as tf.ResizeNearestNeighborGradAttrs;
  return withKernelCalls(backend, (calls) => {
    const dx = calls.output(images.shape);
    resizeNearestGradInto(heapView(backend, dx), heapView(backend, dy), images.shape, dy.shape, alignCorners, halfPixelCenters, true);
    return dx;
  });
}

function unsortedSegmentSum({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
  return withKernelCalls(backend, (calls) => {
    const out = calls.output([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
    unsortedSegmentSumInto(heapView(backend, out), heapView(backend, x), heapView(backend, segmentIds), numSegments);
    return out;
  });
}

export const maxPoolGradConfig = wasmKernel(tf.MaxPoolGrad, maxPoolGrad);

export const resizeNearestNeighborGradConfig = wasmKernel(tf.ResizeNearestNeighborGrad, resizeNearestNeighborGrad);

export const unsortedSegmentSumConfig = wasmKernel(tf.UnsortedSegmentSum, unsortedSegmentSum);
