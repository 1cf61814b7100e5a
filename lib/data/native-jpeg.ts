/**
 * JPEG decoding with TensorFlow's own kernels (libjpeg-turbo inside the native TensorFlow library),
 * called through tfjs-node's addon directly: no TensorFlow.js in the loader's worker threads, each
 * of which gets its own eager context from the addon (the library itself is loaded once per
 * process). ./image-file routes a file here or to sharp (`nativeJpegApplies`).
 *
 * RandomResizedCrop's crop + resize (`decodeJpegCropResize`), for a crop `box` of an
 * H x W image to out_h x out_w:
 *   1. DCT-domain downscaling: libjpeg decodes at 1/r scale (r in 1, 2, 4, 8) for a fraction of
 *      the work (the inverse DCT of the low frequencies only); r is the largest with
 *      box.width >= r out_w and box.height >= r out_h, so what follows never upscales what the
 *      scaled decode gave unless the box itself is smaller than the output.
 *   2. Only the box's rows and columns of the 1/r-scale image (ceil(H / r) x ceil(W / r)) are
 *      decoded (DecodeAndCropJpeg's crop window, which is in 1/r-scale pixels): the box's edges
 *      rounded to the nearest scaled pixel, so an edge moves by at most r / 2 source pixels, i.e.
 *      at most half an output pixel; with r = 1 the window is the box exactly.
 *   3. ResizeBilinear with half-pixel centres to out_h x out_w (TensorFlow's standard ImageNet
 *      preprocessing); the float result is rounded half up to uint8 and mirrored left-right when
 *      `flip` by its reader.
 * Differences from PIL's (and sharp's) antialiased bilinear: for a downscale the bilinear kernel
 * is not widened by the factor; after step 1 the factor left is below 2 on the axis that limits r
 * whenever r < 8 (under 8/3 on the other axis for RandomResizedCrop's aspect ratios, 3/4 to 4/3),
 * and the scaled IDCT itself averages over r x r pixels, so the aliasing is small (README, Benchmarks: pixel differences measured).
 * The inverse DCT is libjpeg's accurate integer one (dct_method INTEGER_ACCURATE, as libvips and
 * PIL use): a whole-image decode here is byte-identical to sharp's.
 *
 * Availability (`nativeJpeg`): the addon of @tensorflow/tfjs-node, found as tfjs-node finds it;
 * not used when ALIGNMIX_BACKEND is 'wasm' or 'cpu' (the process runs without native TensorFlow),
 * when @tensorflow/tfjs-node-gpu is installed (so that one process never loads two TensorFlow
 * builds), or when the addon does not load; then sharp decodes everything.
 *
 * No TensorFlow.js imports: runs in the loader's worker threads.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { isMainThread, threadId } from 'worker_threads';
import { TfBinding, TfeOpAttr, withScratchHandles } from '../backends/native-binding';
import { defaultThreads, quietNativeLoad, setTfEnvDefaults } from '../backends/native-library';
import type { Box } from './resize';

/** What this thread got when it first asked for the decoder: the addon, or why not. */
let loaded: { binding: TfBinding | null; reason: string } | null = null;

function load(): { binding: TfBinding | null; reason: string } {
  const backend = process.env.ALIGNMIX_BACKEND;
  if (backend === 'wasm' || backend === 'cpu') return { binding: null, reason: `ALIGNMIX_BACKEND=${backend}` };
  try {
    require.resolve('@tensorflow/tfjs-node-gpu/package.json');
    return { binding: null, reason: '@tensorflow/tfjs-node-gpu is installed' };
  } catch {
    // the CPU package's addon is the one to use
  }
  try {
    const packageJson = require.resolve('@tensorflow/tfjs-node/package.json');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const addon: string = require('@mapbox/node-pre-gyp').find(packageJson);
    if (isMainThread) setTfEnvDefaults(defaultThreads());
    // Worker threads load it without the stderr gate (it diverts the whole process's stderr);
    // WorkerPool loads it on the main thread first, after which loading prints nothing.
    const binding = (isMainThread ? quietNativeLoad(() => require(addon)) : loadPrivateCopy(addon)) as TfBinding;
    if (typeof binding.executeOp !== 'function') return { binding: null, reason: `${path.basename(addon)} has no executeOp` };
    return { binding, reason: `TensorFlow's JPEG kernels via ${addon}` };
  } catch (e) {
    return { binding: null, reason: `@tensorflow/tfjs-node's addon does not load: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
  }
}

/**
 * The addon file a worker thread loads: a private copy of `addon`. tfjs-node's addon keeps every op
 * attribute name it has seen in one std::set per loaded copy (binding/tfjs_backend.cc,
 * ATTR_NAME_SET) and inserts into it from whichever thread calls executeOp, without a lock: threads
 * sharing one copy can corrupt the set (segfaults in AssignOpAttr were seen with two loader workers
 * starting together, and the main thread running a new op while workers decode is the same race).
 * A file loaded from another path is a separate shared object with its own set (it links to the same
 * TensorFlow libraries, loaded once per process). The copy sits next to the original, whose RUNPATH
 * is $ORIGIN-relative, or in the temp folder when that is not writable (TensorFlow's libraries are
 * then found as already loaded: the pool loads the original on the main thread first); it is
 * unlinked once loaded.
 */
function loadPrivateCopy(addon: string): TfBinding {
  const name = `.alignmix-${path.basename(addon, '.node')}-${process.pid}-${threadId}.node`;
  let copy = path.join(path.dirname(addon), name);
  try {
    fs.copyFileSync(addon, copy);
  } catch {
    copy = path.join(os.tmpdir(), name);
    fs.copyFileSync(addon, copy);
  }
  try {
    return require(copy) as TfBinding;
  } finally {
    fs.rmSync(copy, { force: true });
  }
}

/** The addon when TensorFlow's JPEG kernels are usable in this thread (module comment), else null. */
export function nativeJpeg(): TfBinding | null {
  loaded ??= load();
  return loaded.binding;
}

/** Which decoder JPEG crops get in this thread, in words (for reports and skipped tests). */
export function nativeJpegStatus(): { available: boolean; reason: string } {
  nativeJpeg();
  const { binding, reason } = loaded as { binding: TfBinding | null; reason: string };
  return { available: binding !== null, reason };
}

/** The DCT scale denominator r of step 1 (module comment). */
export function dctScale(box: Box, outHeight: number, outWidth: number): 1 | 2 | 4 | 8 {
  let r: 1 | 2 | 4 | 8 = 1;
  while (r < 8 && box.width >= 2 * r * outWidth && box.height >= 2 * r * outHeight) r = (2 * r) as 2 | 4 | 8;
  return r;
}

/** The span of 1/r-scale pixels for [start, start + size) of an axis of `length` source pixels (step 2). */
function scaledSpan(start: number, size: number, length: number, r: number): { start: number; size: number } {
  const scaledLength = Math.ceil(length / r);
  const lo = Math.min(Math.round(start / r), scaledLength - 1);
  const hi = Math.max(lo + 1, Math.min(Math.round((start + size) / r), scaledLength));
  return { start: lo, size: hi - lo };
}

/**
 * `box` of the JPEG `bytes` (height x width pixels) resized to outHeight x outWidth (module
 * comment, steps 1-3), as unrounded float RGB HWC; rounding and the flip are left to whoever
 * reads the values (./image-file cropPixels, ./batch), in JavaScript rather than as TensorFlow's
 * Round, Cast and ReverseV2: those run on TensorFlow's intra-op thread pool (shared by the process),
 * and with two loader threads on a 2-thread pool Round and Cast took several times as long as with
 * a 1-thread pool (README, Benchmarks). Throws TensorFlow's error when it cannot decode.
 */
export function decodeJpegCropResize(
  tf: TfBinding,
  bytes: Uint8Array,
  height: number,
  width: number,
  box: Box,
  outHeight: number,
  outWidth: number,
): Float32Array {
  const r = dctScale(box, outHeight, outWidth);
  const rows = scaledSpan(box.top, box.height, height, r);
  const cols = scaledSpan(box.left, box.width, width, r);
  const attr = (name: string, type: number, value: unknown): TfeOpAttr => ({ name, type, value });
  const type = (name: string, dtype: number) => attr(name, tf.TF_ATTR_TYPE, dtype);
  return withScratchHandles(tf, ({ run, keep }) => {
    const int32 = (shape: number[], ...values: number[]) => keep(tf.createTensor(shape, tf.TF_INT32, Int32Array.from(values)));
    const contents = keep(tf.createTensor([], tf.TF_STRING, [bytes]));
    const crop = run('DecodeAndCropJpeg', [
      attr('channels', tf.TF_ATTR_INT, 3), attr('ratio', tf.TF_ATTR_INT, r), attr('fancy_upscaling', tf.TF_ATTR_BOOL, true),
      attr('try_recover_truncated', tf.TF_ATTR_BOOL, false), attr('acceptable_fraction', tf.TF_ATTR_FLOAT, 1),
      attr('dct_method', tf.TF_ATTR_STRING, 'INTEGER_ACCURATE'),
    ], [contents, int32([4], rows.start, cols.start, rows.size, cols.size)]);
    const batched = run('ExpandDims', [type('T', tf.TF_UINT8), type('Tdim', tf.TF_INT32)], [crop, int32([], 0)]);
    const resized = run('ResizeBilinear', [type('T', tf.TF_UINT8), attr('align_corners', tf.TF_ATTR_BOOL, false), attr('half_pixel_centers', tf.TF_ATTR_BOOL, true)], [batched, int32([2], outHeight, outWidth)]);
    return tf.tensorDataSync(resized);
  });
}
