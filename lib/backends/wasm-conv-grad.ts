/**
 * The two convolution gradients for the wasm backend, both computed with wasm's own Conv2D
 * kernel (XNNPACK: SIMD, and threaded when wasm threads are on).
 *
 * Notation: x [B, H, W, C] (NHWC), filter W [fh, fw, C, O] (HWIO), strides (sh, sw), leading
 * padding (top, left), dy [B, OH, OW, O]. The forward convolution is
 *   y[b, i, j, o] = sum_{u, v, c} x[b, sh i + u - top, sw j + v - left, c] W[u, v, c, o]
 * with x read as zero outside its bounds.
 *
 * Filter gradient (wasm has no Conv2DBackpropFilter kernel at all):
 *   dW[u, v, c, o] = sum_{b, i, j} x[b, sh i + u - top, sw j + v - left, c] dy[b, i, j, o].
 * Read x's channel c as a batch index and its batch b as an input channel, and dy as a filter whose
 * taps (i, j) lie sh / sw apart in x: this is a stride-1 convolution with DILATION (sh, sw) of
 * xT = x^[C, H, W, B] with the filter dyT = dy^[OH, OW, B, O], padded (top, left) in front, whose
 * output out[c, u, v, o] is dW[u, v, c, o]. The trailing padding (or crop, when the forward conv
 * never read the last rows) is chosen so the output is exactly fh x fw.
 *
 * Input gradient (wasm's Conv2DBackpropInput is a scalar C loop, ~7x slower than its conv):
 * along one axis, with padded coordinate t = row + top,
 *   dx[t - top] = sum_{i, u : s i + u = t} dy[i] W[u]^T            (W^T: channels swapped).
 * Split t by phase rho = t mod s, t = s q + rho: only taps u = rho + s k contribute, from i = q - k,
 * so each phase is a stride-1 correlation of dy with a flipped sub-filter:
 *   dx_rho[q] = sum_{m < K} dy[q - (K - 1) + m] Wf_rho[m],  Wf_rho[m] = W[rho + s (K - 1 - m)]^T,
 *   K = K_rho = ceil((f - rho) / s).
 * The sh * sw phase convolutions together do the forward conv's multiply-adds (zero-inserting dy
 * instead would cost s^2 times as much); their outputs are interleaved into dx. For stride 1 there
 * is one phase and its output is dx itself.
 *
 * Both kernels return a new tensor owned by the engine; intermediates are freed inside.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernel } from './install-kernel';
import { heapView, WasmBackend, withKernelCalls, WasmKernelCalls } from './wasm-kernel-calls';

type ConvInfo = tf.backend_util.Conv2DInfo;

function channelsLastInfo(
  kernel: string, xShape: number[], filterShape: number[], attrs: tf.Conv2DBackpropFilterAttrs | tf.Conv2DBackpropInputAttrs,
): ConvInfo {
  const format = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  if (format !== 'channelsLast') {
    throw new Error(`wasm ${kernel}: only dataFormat 'NHWC' is supported, got '${attrs.dataFormat}'`);
  }
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, format,
  );
}

function conv2DBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = channelsLastInfo('Conv2DBackpropFilter', x.shape, attrs.filterShape, attrs);
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw, inHeight, inWidth, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  // Padded extent the forward conv reads is s (out - 1) + f from -pad: the rest is trailing pad
  // (> 0) or rows it never read (< 0, cropped).
  const rowsAfter = sh * (outHeight - 1) + fh - top - inHeight;
  const colsAfter = sw * (outWidth - 1) + fw - left - inWidth;
  return withKernelCalls(args.backend, (calls) => {
    const xUsed = rowsAfter < 0 || colsAfter < 0
      ? calls.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [-1, inHeight + Math.min(0, rowsAfter), inWidth + Math.min(0, colsAfter), -1] })
      : x;
    const xT = calls.run('Transpose', { x: xUsed }, { perm: [3, 1, 2, 0] });
    const dyT = calls.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const pad = [[0, 0], [top, Math.max(0, rowsAfter)], [left, Math.max(0, colsAfter)], [0, 0]];
    const out = calls.run('Conv2D', { x: xT, filter: dyT }, { strides: 1, pad, dataFormat: 'NHWC', dilations: [sh, sw] } as unknown as tf.NamedAttrMap);
    return calls.run('Transpose', { x: out }, { perm: [1, 2, 0, 3] });
  });
}

/** One phase of the input gradient along one axis (see the header), or null if it gets no tap. */
interface PhaseAxis {
  /** Phase rho. */
  rho: number;
  /** Number of filter taps in the phase, K. */
  taps: number;
  /** Range of dy rows it reads, and the zero rows added before / after them. */
  dyStart: number;
  dyEnd: number;
  padBefore: number;
  padAfter: number;
}

/** Phase rho producing outputs q in [q0, q0 + count) from dy rows [0, dyRows). */
function phaseAxis(f: number, s: number, rho: number, q0: number, count: number, dyRows: number): PhaseAxis | null {
  const taps = Math.ceil((f - rho) / s);
  if (taps <= 0) return null;
  const first = q0 - (taps - 1); // dy row read by output q0 at m = 0
  const dyStart = Math.max(0, first);
  const dyEnd = Math.min(dyRows, q0 + count);
  if (dyStart >= dyEnd) return null;
  return { rho, taps, dyStart, dyEnd, padBefore: dyStart - first, padAfter: q0 + count - dyEnd };
}

/** Output rows q in [q0, q0 + count) cover padded rows [s q0, s (q0 + count)) ⊇ [top, top + n). */
function phaseRange(n: number, s: number, top: number): { q0: number; count: number } {
  const q0 = Math.floor(top / s);
  return { q0, count: Math.ceil((top + n) / s) - q0 };
}

/**
 * The phase's flipped, channel-swapped sub-filter [Kh, Kw, O, C]:
 *   Wf[m, n, o, c] = W[rho_h + sh (Kh - 1 - m), rho_w + sw (Kw - 1 - n), c, o].
 * One JS pass over the weights: wasm's Reverse and StridedSlice kernels take ~10x longer.
 */
function phaseFilter(calls: WasmKernelCalls, filter: tf.TensorInfo, ph: PhaseAxis, pw: PhaseAxis, info: ConvInfo): tf.TensorInfo {
  const { strideHeight: sh, strideWidth: sw, filterWidth: fw, inChannels: C, outChannels: O } = info;
  const out = calls.output([ph.taps, pw.taps, O, C]);
  const dst = heapView(calls.backend, out);
  const src = heapView(calls.backend, filter);
  for (let m = 0; m < ph.taps; m++) {
    const u = ph.rho + sh * (ph.taps - 1 - m);
    for (let n = 0; n < pw.taps; n++) {
      const v = pw.rho + sw * (pw.taps - 1 - n);
      const from = (u * fw + v) * C * O;
      const to = (m * pw.taps + n) * O * C;
      for (let c = 0; c < C; c++) {
        for (let o = 0; o < O; o++) dst[to + o * C + c] = src[from + c * O + o];
      }
    }
  }
  return out;
}

/** dx_rho for one (row, column) phase pair: [B, countH, countW, C]. */
function phaseConv(calls: WasmKernelCalls, dy: tf.TensorInfo, filter: tf.TensorInfo, ph: PhaseAxis, pw: PhaseAxis, info: ConvInfo): tf.TensorInfo {
  const wholeDy = ph.dyStart === 0 && ph.dyEnd === info.outHeight && pw.dyStart === 0 && pw.dyEnd === info.outWidth;
  const dyPart = wholeDy ? dy : calls.run('Slice', { x: dy }, {
    begin: [0, ph.dyStart, pw.dyStart, 0], size: [-1, ph.dyEnd - ph.dyStart, pw.dyEnd - pw.dyStart, -1],
  });
  const pad = [[0, 0], [ph.padBefore, ph.padAfter], [pw.padBefore, pw.padAfter], [0, 0]];
  return calls.run('Conv2D', { x: dyPart, filter: phaseFilter(calls, filter, ph, pw, info) },
    { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 } as unknown as tf.NamedAttrMap);
}

function conv2DBackpropInput(args: { inputs: tf.NamedTensorInfoMap; backend: WasmBackend; attrs: tf.NamedAttrMap }): tf.TensorInfo {
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const info = channelsLastInfo('Conv2DBackpropInput', attrs.inputShape, filter.shape, attrs);
  const { batchSize, inHeight, inWidth, inChannels, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const rows = phaseRange(inHeight, sh, top);
  const cols = phaseRange(inWidth, sw, left);
  const backend = args.backend;
  return withKernelCalls(backend, (calls) => {
    const phases: { rh: number; rw: number; out: tf.TensorInfo | null }[] = [];
    for (let rh = 0; rh < sh; rh++) {
      for (let rw = 0; rw < sw; rw++) {
        const ph = phaseAxis(fh, sh, rh, rows.q0, rows.count, info.outHeight);
        const pw = phaseAxis(fw, sw, rw, cols.q0, cols.count, info.outWidth);
        phases.push({ rh, rw, out: ph && pw ? phaseConv(calls, dy, filter, ph, pw, info) : null });
      }
    }
    // Stride 1: the single phase covers exactly rows [top, top + H), i.e. it is dx.
    if (sh === 1 && sw === 1 && phases[0].out) return phases[0].out;

    const dx = calls.output([batchSize, inHeight, inWidth, inChannels]);
    const dxv = heapView(backend, dx);
    if (phases.some((p) => p.out === null)) dxv.fill(0);
    for (const { rh, rw, out } of phases) {
      if (!out) continue;
      const src = heapView(backend, out);
      const rowBase = sh * rows.q0 + rh - top; // dx row of phase row 0
      const colBase = sw * cols.q0 + rw - left;
      for (let b = 0; b < batchSize; b++) {
        for (let q = 0; q < rows.count; q++) {
          const r = rowBase + sh * q;
          if (r < 0 || r >= inHeight) continue;
          for (let qw = 0; qw < cols.count; qw++) {
            const c = colBase + sw * qw;
            if (c < 0 || c >= inWidth) continue;
            const from = ((b * rows.count + q) * cols.count + qw) * inChannels;
            dxv.set(src.subarray(from, from + inChannels), ((b * inHeight + r) * inWidth + c) * inChannels);
          }
        }
      }
    }
    return dx;
  });
}

export const conv2DBackpropFilterConfig = wasmKernel(tf.Conv2DBackpropFilter, conv2DBackpropFilter);

export const conv2DBackpropInputConfig = wasmKernel(tf.Conv2DBackpropInput, conv2DBackpropInput);
