/**
 * Antialiased bilinear resampling of uint8 HWC images, as PIL's `Image.resize(..., BILINEAR)` (what
 * torchvision's Resize / RandomResizedCrop use on PIL images).
 *
 * Separable: each output coordinate u (0-based) along an axis of input length L resampled to
 * length N takes the input samples x (pixel centres at x + 0.5) weighted by a triangle filter
 * stretched by the downscale factor, so that downscaling averages over the footprint instead of
 * aliasing:
 *
 *     s = L / N,  f = max(s, 1),  centre c = (u + 0.5) s,
 *     w_x ∝ max(0, 1 - |x + 0.5 - c| / f)   for x in [floor(c - f + 0.5), floor(c + f + 0.5)) ∩ [0, L),
 *
 * normalised to sum 1. Rows are filtered first (into float32), then columns; the result is rounded
 * half up and clipped to [0, 255]. PIL rounds the intermediate to uint8 and uses fixed-point
 * weights, so values can differ from PIL's by 1.
 *
 * Runs in worker threads: no TensorFlow.js imports.
 */
import type { ImageShape } from './types';

/** A rectangle of an image, in pixels. */
export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

interface AxisWeights {
  /** First input index used by output u (absolute, i.e. including the box offset). */
  start: Int32Array;
  /** Number of input samples used by output u. */
  count: Int32Array;
  /** Weights, `stride` per output. */
  weights: Float64Array;
  stride: number;
}

/** Filter weights for outputs `from`..`from + n - 1` of an axis resampled from `length` to `outSize`. */
function axisWeights(offset: number, length: number, outSize: number, from: number, n: number): AxisWeights {
  const scale = length / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the bilinear (triangle) filter has support 1
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float64Array(n * stride);
  for (let k = 0; k < n; k++) {
    const centre = (from + k + 0.5) * scale;
    const lo = Math.max(Math.floor(centre - support + 0.5), 0);
    const hi = Math.min(Math.floor(centre + support + 0.5), length);
    let total = 0;
    for (let x = lo; x < hi; x++) {
      const w = Math.max(0, 1 - Math.abs((x + 0.5 - centre) / filterScale));
      weights[k * stride + (x - lo)] = w;
      total += w;
    }
    for (let x = lo; x < hi; x++) weights[k * stride + (x - lo)] /= total;
    start[k] = offset + lo;
    count[k] = hi - lo;
  }
  return { start, count, weights, stride };
}

/**
 * Resample the region `box` of an image to `outHeight` x `outWidth`, returning only the output
 * rectangle `window` (default: all of it). Samples outside `box` are never used (the box is the
 * image, as for a crop followed by a resize).
 * @returns a new uint8 HWC array of window.height x window.width x c.
 */
export function resizeBilinear(
  pixels: Uint8Array,
  shape: ImageShape,
  box: Box,
  outHeight: number,
  outWidth: number,
  window: Box = { top: 0, left: 0, height: outHeight, width: outWidth },
): Uint8Array {
  const [h, w, c] = shape;
  if (box.top < 0 || box.left < 0 || box.height < 1 || box.width < 1 || box.top + box.height > h || box.left + box.width > w) {
    throw new Error(`resizeBilinear: box ${JSON.stringify(box)} is not inside the ${h}x${w} image`);
  }
  if (window.top < 0 || window.left < 0 || window.top + window.height > outHeight || window.left + window.width > outWidth) {
    throw new Error(`resizeBilinear: window ${JSON.stringify(window)} is not inside the ${outHeight}x${outWidth} output`);
  }
  const ys = axisWeights(box.top, box.height, outHeight, window.top, window.height);
  const xs = axisWeights(box.left, box.width, outWidth, window.left, window.width);
  // Input rows the vertical pass reads: one contiguous range.
  let rowLo = h;
  let rowHi = 0;
  for (let k = 0; k < window.height; k++) {
    rowLo = Math.min(rowLo, ys.start[k]);
    rowHi = Math.max(rowHi, ys.start[k] + ys.count[k]);
  }
  const ow = window.width;
  const rows = new Float32Array((rowHi - rowLo) * ow * c);
  for (let y = rowLo; y < rowHi; y++) {
    const srcRow = y * w * c;
    const dstRow = (y - rowLo) * ow * c;
    for (let u = 0; u < ow; u++) {
      const x0 = xs.start[u];
      const base = u * xs.stride;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = 0; t < xs.count[u]; t++) acc += xs.weights[base + t] * pixels[srcRow + (x0 + t) * c + ch];
        rows[dstRow + u * c + ch] = acc;
      }
    }
  }
  const out = new Uint8Array(window.height * ow * c);
  for (let v = 0; v < window.height; v++) {
    const y0 = ys.start[v] - rowLo;
    const base = v * ys.stride;
    for (let i = 0; i < ow * c; i++) {
      let acc = 0;
      for (let t = 0; t < ys.count[v]; t++) acc += ys.weights[base + t] * rows[(y0 + t) * ow * c + i];
      out[v * ow * c + i] = Math.min(255, Math.max(0, Math.floor(acc + 0.5)));
    }
  }
  return out;
}

/**
 * Output size of torchvision's `Resize(size)` with an int size: the shorter side becomes `size`,
 * the longer one `floor(size * long / short)`. Returns [height, width].
 */
export function shorterSideSize(height: number, width: number, size: number): [number, number] {
  return height <= width ? [size, Math.floor((size * width) / height)] : [Math.floor((size * height) / width), size];
}

/** Python's round(): halves go to the even neighbour (torchvision's centre crop uses it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** torchvision's CenterCrop offset: round((length - crop) / 2) with Python rounding. */
export function centreCropOffset(length: number, crop: number): number {
  return roundHalfEven((length - crop) / 2);
}
