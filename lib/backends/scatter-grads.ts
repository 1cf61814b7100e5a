/**
 * Scatter-type gradients as plain loops over typed arrays (NHWC, row-major). They are
 * memory-bound (one read of dy, one scattered add per element), so JS loops are as fast as a
 * kernel library would be; the backend adapters (./wasm-scatter-grads, ./cpu-kernel-fixes) only
 * find the arrays.
 *
 * Max-pool gradient, as in TensorFlow and the cpu backend:
 *   dx[p] = sum of dy[w] over the windows w whose FIRST maximal element (row-major scan, padding
 *           excluded) is p.
 * Nearest-neighbour resize gradient, the adjoint of the forward resize:
 *   dx[b, src_r(r), src_c(c), ch] += dy[b, r, c, ch],
 *   src(r) = min(in - 1, floor(scale r))              (round with alignCorners; scale (r + 0.5)
 *            with halfPixelCenters, then max(0, .)),  scale = in_eff / out_eff,
 *   in_eff, out_eff = in - 1, out - 1 with alignCorners (and out > 1), else in, out.
 *   A backend's gradient must use the same arithmetic as its forward op: wasm's C code computes
 *   src in float32, the cpu backend in float64, hence the `float32` switch.
 * Unsorted segment sum (the gradient of gather):
 *   out[k, ...] = sum_{i : ids[i] = k} x[i, ...], ids outside [0, numSegments) dropped.
 */
import * as tf from '@tensorflow/tfjs-core';

type Values = Float32Array | Int32Array;

/** Fill `dx` (the pooled tensor's input shape) with the max-pool gradient; `info` from computePool2DInfo. */
export function maxPoolGradInto(dx: Values, x: Values, dy: Values, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: depth, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = info;
  const { top, left } = info.padInfo;
  dx.fill(0);
  const best = new Float32Array(depth);
  const argmax = new Int32Array(depth);
  for (let b = 0; b < batchSize; b++) {
    for (let i = 0; i < outHeight; i++) {
      for (let j = 0; j < outWidth; j++) {
        best.fill(-Infinity);
        argmax.fill(-1);
        for (let u = 0; u < filterHeight; u++) {
          const r = i * strideHeight - top + u;
          if (r < 0 || r >= inHeight) continue;
          for (let v = 0; v < filterWidth; v++) {
            const c = j * strideWidth - left + v;
            if (c < 0 || c >= inWidth) continue;
            const base = ((b * inHeight + r) * inWidth + c) * depth;
            for (let ch = 0; ch < depth; ch++) {
              if (x[base + ch] > best[ch]) {
                best[ch] = x[base + ch];
                argmax[ch] = base + ch;
              }
            }
          }
        }
        const dyBase = ((b * outHeight + i) * outWidth + j) * depth;
        for (let ch = 0; ch < depth; ch++) {
          if (argmax[ch] >= 0) dx[argmax[ch]] += dy[dyBase + ch];
        }
      }
    }
  }
}

/** Source index of each output position along one axis (see the header). */
export function nearestSources(
  inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean, float32: boolean,
): Int32Array {
  const round = float32 ? Math.fround : (v: number) => v;
  const aligned = alignCorners && outSize > 1;
  const scale = round((aligned ? inSize - 1 : inSize) / (aligned ? outSize - 1 : outSize));
  const src = new Int32Array(outSize);
  for (let r = 0; r < outSize; r++) {
    const at = round(halfPixelCenters ? scale * (r + 0.5) : scale * r);
    const k = Math.min(inSize - 1, alignCorners ? Math.round(at) : Math.floor(at));
    src[r] = halfPixelCenters ? Math.max(0, k) : k;
  }
  return src;
}

/** Fill `dx` [B, inH, inW, C] with the nearest-resize gradient of `dy` [B, outH, outW, C]. */
export function resizeNearestGradInto(
  dx: Values, dy: Values, dxShape: readonly number[], dyShape: readonly number[], alignCorners: boolean,
  halfPixelCenters: boolean, float32: boolean,
): void {
  const [batch, inHeight, inWidth, depth] = dxShape;
  const [, outHeight, outWidth] = dyShape;
  const srcRow = nearestSources(inHeight, outHeight, alignCorners, halfPixelCenters, float32);
  const srcCol = nearestSources(inWidth, outWidth, alignCorners, halfPixelCenters, float32);
  dx.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < outHeight; r++) {
      for (let c = 0; c < outWidth; c++) {
        const to = ((b * inHeight + srcRow[r]) * inWidth + srcCol[c]) * depth;
        const from = ((b * outHeight + r) * outWidth + c) * depth;
        for (let ch = 0; ch < depth; ch++) dx[to + ch] += dy[from + ch];
      }
    }
  }
}

/** Fill `out` [numSegments, inner] with the segment sums of `x` [ids.length, inner]. */
export function unsortedSegmentSumInto(out: Values, x: Values, ids: Values, numSegments: number): void {
  const inner = ids.length === 0 ? 0 : x.length / ids.length;
  out.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const k = ids[i];
    if (k < 0 || k >= numSegments) continue;
    const to = k * inner;
    const from = i * inner;
    for (let e = 0; e < inner; e++) out[to + e] += x[from + e];
  }
}
