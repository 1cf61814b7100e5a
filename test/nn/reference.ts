/**
 * Float64 reference implementations written from the PyTorch definitions, with explicit loops,
 * for checking the tfjs layers. Arrays are flat row-major NHWC (activations) / HWIO (weights).
 */

export interface Arr4 {
  data: Float64Array;
  shape: [number, number, number, number];
}

export function arr4(data: ArrayLike<number>, shape: [number, number, number, number]): Arr4 {
  return { data: Float64Array.from(data), shape };
}

/**
 * PyTorch Conv2d with symmetric zero padding p, NHWC input, HWIO weights:
 * y[b,i,j,o] = bias[o] + sum_{u,v,c} x[b, s i + u - p, s j + v - p, c] W[u,v,c,o] (0 outside).
 */
export function conv2dRef(x: Arr4, w: Arr4, stride: number, pad: number, bias?: ArrayLike<number>): Arr4 {
  const [n, h, wd, c] = x.shape;
  const [kh, kw, ci, co] = w.shape;
  if (ci !== c) throw new Error('conv2dRef: channel mismatch');
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const out = new Float64Array(n * oh * ow * co);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let o = 0; o < co; o++) {
          let s = bias ? bias[o] : 0;
          for (let u = 0; u < kh; u++) {
            const y = stride * i + u - pad;
            if (y < 0 || y >= h) continue;
            for (let v = 0; v < kw; v++) {
              const xx = stride * j + v - pad;
              if (xx < 0 || xx >= wd) continue;
              for (let k = 0; k < c; k++) s += x.data[((b * h + y) * wd + xx) * c + k] * w.data[((u * kw + v) * ci + k) * co + o];
            }
          }
          out[((b * oh + i) * ow + j) * co + o] = s;
        }
      }
    }
  }
  return { data: out, shape: [n, oh, ow, co] };
}

/** PyTorch MaxPool2d(k, stride, padding): padded positions never win (-inf). */
export function maxPoolRef(x: Arr4, k: number, stride: number, pad: number): Arr4 {
  const [n, h, wd, c] = x.shape;
  const oh = Math.floor((h + 2 * pad - k) / stride) + 1;
  const ow = Math.floor((wd + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(n * oh * ow * c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        for (let ch = 0; ch < c; ch++) {
          let m = -Infinity;
          for (let u = 0; u < k; u++) {
            for (let v = 0; v < k; v++) {
              const y = stride * i + u - pad;
              const xx = stride * j + v - pad;
              if (y >= 0 && y < h && xx >= 0 && xx < wd) m = Math.max(m, x.data[((b * h + y) * wd + xx) * c + ch]);
            }
          }
          out[((b * oh + i) * ow + j) * c + ch] = m;
        }
      }
    }
  }
  return { data: out, shape: [n, oh, ow, c] };
}

/** Per-channel mean and biased variance over N, H, W. */
export function channelMoments(x: Arr4): { mean: number[]; variance: number[] } {
  const c = x.shape[3];
  const count = x.data.length / c;
  const mean = new Array(c).fill(0);
  const variance = new Array(c).fill(0);
  for (let i = 0; i < x.data.length; i++) mean[i % c] += x.data[i] / count;
  for (let i = 0; i < x.data.length; i++) variance[i % c] += (x.data[i] - mean[i % c]) ** 2 / count;
  return { mean, variance };
}

/** Largest |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
