/**
 * Per-example image transforms on uint8 HWC pixels, seeded through an `Rng` (torchvision's
 * definitions, so results are comparable with the PyTorch reference pipelines).
 *
 * - `padCropFlip` (CIFAR: RandomCrop(32, padding=4) + RandomHorizontalFlip): the image of size
 *   h x w is zero-padded by p on every side and an h x w window at (top, left) is cut out, top and
 *   left uniform in {0, ..., 2p}:  out[y, x] = src[y + top - p, x + left - p] (0 outside src).
 *   Then, with probability 1/2, mirrored: out[y, x] <- out[y, w - 1 - x].
 * - `randomResizedCrop` (ImageNet: RandomResizedCrop(224) + flip): up to 10 tries of
 *   area fraction a ~ U(scale), log aspect ratio ~ U(log ratio), crop w = round(sqrt(a H W r)),
 *   h = round(sqrt(a H W / r)) (Python rounding, halves to even); the first that fits is placed uniformly; else the whole image
 *   clamped to the ratio range, centred. The crop is resized to `size` (./resize), then flipped
 *   with probability 1/2.
 * - `resizeCenterCrop` (ImageNet eval: Resize(256) + CenterCrop(224)): shorter side to `resize`,
 *   centred `crop` x `crop` window. Deterministic.
 * - `none`: the item unchanged.
 * - `color` (an option of `randomResizedCrop`; the authors' ImageNet recipe, their utils/util.py
 *   after convNet.pytorch, applied after ToTensor): on values v = pixel / 255,
 *     brightness  v <- (1 - a_b) v
 *     contrast    v <- v + a_c (m - v),   m = mean over the image of gray(v)
 *     saturation  v <- v + a_s (gray(v) - v),   gray = 0.299 R + 0.587 G + 0.114 B
 *   a_b, a_c, a_s ~ U(-jitter, jitter); then PCA lighting v_i <- v_i + sum_k V_ik alpha_k e_k with
 *   alpha_k ~ N(0, lighting) and the ImageNet eigenvalues e / eigenvectors V (IMAGENET_PCA).
 *   The original applies the three jitters in a random order; they commute (each is an affine map
 *   that keeps the mean gray level m, and gray of a grey image is itself), so no order is drawn.
 *   Pixels are stored as bytes here, so the result is rounded and clamped to 0..255 once at the
 *   end (the original keeps unclamped floats).
 *
 * Random draws, per example and in this order (part of the reproducibility contract: the loader
 * relies on it to give identical batches in workers and on the main thread):
 *   padCropFlip: top = int(2p + 1), left = int(2p + 1), then flip if flip: uniform() < 0.5;
 *   randomResizedCrop: per try uniform() for the area then uniform() for the log ratio, for a
 *   fitting try int(H - h + 1) for top then int(W - w + 1) for left; then flip as above; with
 *   `color`, uniform() for a_b, a_c, a_s, then normal() for alpha_0..2.
 *
 * Runs in worker threads.
 */
import { Rng } from '../random';
import { assertInRange, assertInt, assertOneOf, assertKnownKeys, assertPositive } from '../validate';
import { Box, centreCropOffset, resizeBilinear, roundHalfEven, shorterSideSize } from './resize';
import type { ColorAugment, ImageShape, TransformSpec } from './types';

export interface TransformedImage {
  pixels: Uint8Array;
  shape: ImageShape;
}

/** CIFAR-style augmentation: zero-pad by `padding`, random crop back to size, random flip. */
export function padCropFlip(padding = 4, flip = true): TransformSpec {
  return checkTransform({ kind: 'padCropFlip', padding, flip });
}

/** ImageNet-style training augmentation: random-resized crop to `size` and random flip. */
export function randomResizedCrop(
  size = 224,
  options: { scale?: [number, number]; ratio?: [number, number]; flip?: boolean; color?: ColorAugment } = {},
): TransformSpec {
  return checkTransform({
    kind: 'randomResizedCrop',
    size: [size, size],
    scale: options.scale ?? [0.08, 1],
    ratio: options.ratio ?? [3 / 4, 4 / 3],
    flip: options.flip ?? true,
    ...(options.color ? { color: options.color } : {}),
  });
}

/** The authors' ImageNet colour augmentation: jitter 0.4, lighting 0.1. */
export const AUTHORS_COLOR_AUGMENT: ColorAugment = Object.freeze({ jitter: 0.4, lighting: 0.1 });

/** `spec` with the authors' colour augmentation added (a random-resized-crop transform only). */
export function withColorAugment(spec: TransformSpec, color: ColorAugment = AUTHORS_COLOR_AUGMENT): TransformSpec {
  if (spec.kind !== 'randomResizedCrop') {
    throw new Error(`withColorAugment: colour augmentation follows a random-resized crop (ImageNet-style training transform), got transform '${spec.kind}'`);
  }
  return checkTransform({ ...spec, color });
}

/** ImageNet RGB eigenvalues and eigenvectors (columns) of AlexNet's PCA lighting. */
export const IMAGENET_PCA = Object.freeze({
  eigval: [0.2175, 0.0188, 0.0045],
  eigvec: [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.814], [-0.5836, -0.6948, 0.4203]],
});

/** The random draws of one colour augmentation. */
export interface ColorDraws {
  brightness: number;
  contrast: number;
  saturation: number;
  /** alpha_k of the PCA lighting, k = 0..2. */
  lighting: [number, number, number];
}

/** Draw a_b, a_c, a_s ~ U(-jitter, jitter), then alpha_k ~ N(0, lighting). */
export function sampleColorDraws(rng: Rng, color: ColorAugment): ColorDraws {
  const u = () => color.jitter * (2 * rng.uniform() - 1);
  const brightness = u();
  const contrast = u();
  const saturation = u();
  const n = () => color.lighting * rng.normal();
  return { brightness, contrast, saturation, lighting: [n(), n(), n()] };
}

/**
 * Colour jitter then PCA lighting (module header) of an RGB image with the given draws; a new
 * array, rounded and clamped to 0..255.
 */
export function applyColorDraws(pixels: Uint8Array, shape: ImageShape, d: ColorDraws): Uint8Array {
  const [h, w, c] = shape;
  if (c !== 3) throw new Error(`applyColorDraws: colour augmentation needs RGB images, got ${c} channel(s)`);
  const n = h * w;
  const gray = (i: number) => (0.299 * pixels[3 * i] + 0.587 * pixels[3 * i + 1] + 0.114 * pixels[3 * i + 2]) / 255;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += gray(i);
  mean /= n;
  const shift = [0, 1, 2].map((ch) => IMAGENET_PCA.eigvec[ch].reduce((acc, v, k) => acc + v * d.lighting[k] * IMAGENET_PCA.eigval[k], 0));
  // Brightness, contrast, saturation in sequence; the gray level of a pixel follows the same
  // affine maps as its channels, and the mean gray level after brightness stays put.
  const m = (1 - d.brightness) * mean;
  const out = new Uint8Array(pixels.length);
  for (let i = 0; i < n; i++) {
    let g = (1 - d.brightness) * gray(i);
    g += d.contrast * (m - g);
    for (let ch = 0; ch < 3; ch++) {
      let v = (1 - d.brightness) * (pixels[3 * i + ch] / 255);
      v += d.contrast * (m - v);
      v += d.saturation * (g - v);
      out[3 * i + ch] = Math.min(255, Math.max(0, Math.round(255 * (v + shift[ch]))));
    }
  }
  return out;
}

/** ImageNet-style evaluation: shorter side to `resize`, centre crop `crop` x `crop`. */
export function resizeCenterCrop(resize = 256, crop = 224): TransformSpec {
  return checkTransform({ kind: 'resizeCenterCrop', resize, crop });
}

export const NO_TRANSFORM: TransformSpec = Object.freeze({ kind: 'none' });

const KINDS = ['none', 'padCropFlip', 'randomResizedCrop', 'resizeCenterCrop'] as const;

/**
 * Validate a transform spec (e.g. one read from a config file); returns a copy with its keys in
 * canonical order, so equal specs serialise to equal JSON.
 */
export function checkTransform(spec: TransformSpec): TransformSpec {
  const where = 'checkTransform';
  assertOneOf(where, 'kind', spec.kind, KINDS);
  const checkFlip = (flip: unknown) => {
    if (typeof flip !== 'boolean') throw new Error(`${where}: flip must be a boolean, got ${flip}`);
  };
  switch (spec.kind) {
    case 'none':
      assertKnownKeys(where, spec, ['kind']);
      return { kind: 'none' };
    case 'padCropFlip':
      assertKnownKeys(where, spec, ['kind', 'padding', 'flip']);
      assertInt(where, 'padding', spec.padding, 0);
      checkFlip(spec.flip);
      return { kind: 'padCropFlip', padding: spec.padding, flip: spec.flip };
    case 'randomResizedCrop':
      assertKnownKeys(where, spec, ['kind', 'size', 'scale', 'ratio', 'flip', 'color']);
      if (spec.color !== undefined) {
        assertKnownKeys(`${where}.color`, spec.color, ['jitter', 'lighting']);
        assertInRange(`${where}.color`, 'jitter', spec.color.jitter, 0, 1);
        assertInRange(`${where}.color`, 'lighting', spec.color.lighting, 0, Infinity);
      }
      spec.size.forEach((s, i) => assertInt(where, `size[${i}]`, s, 1));
      assertInRange(where, 'scale[0]', spec.scale[0], Number.MIN_VALUE, 1);
      assertInRange(where, 'scale[1]', spec.scale[1], spec.scale[0], 1);
      assertPositive(where, 'ratio[0]', spec.ratio[0]);
      assertInRange(where, 'ratio[1]', spec.ratio[1], spec.ratio[0], Infinity);
      checkFlip(spec.flip);
      return {
        kind: 'randomResizedCrop', size: [spec.size[0], spec.size[1]], scale: [spec.scale[0], spec.scale[1]], ratio: [spec.ratio[0], spec.ratio[1]], flip: spec.flip,
        ...(spec.color ? { color: { jitter: spec.color.jitter, lighting: spec.color.lighting } } : {}),
      };
    case 'resizeCenterCrop':
      assertKnownKeys(where, spec, ['kind', 'resize', 'crop']);
      assertInt(where, 'crop', spec.crop, 1);
      assertInt(where, 'resize', spec.resize, spec.crop);
      return { kind: 'resizeCenterCrop', resize: spec.resize, crop: spec.crop };
  }
}

/** Shape of a transform's output for an input image of `shape`. */
export function transformOutputShape(spec: TransformSpec, shape: ImageShape): ImageShape {
  switch (spec.kind) {
    case 'none':
    case 'padCropFlip':
      return [...shape] as ImageShape;
    case 'randomResizedCrop':
      return [spec.size[0], spec.size[1], shape[2]];
    case 'resizeCenterCrop':
      return [spec.crop, spec.crop, shape[2]];
  }
}

/** Draw the crop offsets of `padCropFlip`: top and left uniform in {0, ..., 2 padding}. */
export function samplePadCrop(rng: Rng, padding: number): { top: number; left: number } {
  const top = rng.int(2 * padding + 1);
  const left = rng.int(2 * padding + 1);
  return { top, left };
}

/**
 * The h x w window at (top, left) of the image zero-padded by `padding`, mirrored horizontally
 * when `flip`; written to `out` (h * w * c bytes) or a new array.
 */
export function cropPadded(
  pixels: Uint8Array,
  shape: ImageShape,
  padding: number,
  top: number,
  left: number,
  flip: boolean,
  out: Uint8Array = new Uint8Array(pixels.length),
): Uint8Array {
  const [h, w, c] = shape;
  for (let y = 0; y < h; y++) {
    const sy = y + top - padding;
    const rowOut = y * w * c;
    if (sy < 0 || sy >= h) {
      out.fill(0, rowOut, rowOut + w * c);
      continue;
    }
    for (let x = 0; x < w; x++) {
      const sx = (flip ? w - 1 - x : x) + left - padding;
      const o = rowOut + x * c;
      if (sx < 0 || sx >= w) {
        for (let ch = 0; ch < c; ch++) out[o + ch] = 0;
      } else {
        const s = (sy * w + sx) * c;
        for (let ch = 0; ch < c; ch++) out[o + ch] = pixels[s + ch];
      }
    }
  }
  return out;
}

/** Mirror an image horizontally (a new array). */
export function flipHorizontal(pixels: Uint8Array, shape: ImageShape): Uint8Array {
  return cropPadded(pixels, shape, 0, 0, 0, true);
}

/** torchvision's `RandomResizedCrop.get_params`: the crop box for an h x w image. */
export function sampleResizedCropBox(rng: Rng, height: number, width: number, scale: [number, number], ratio: [number, number]): Box {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * rng.uniform());
    const aspect = Math.exp(logLo + (logHi - logLo) * rng.uniform());
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = rng.int(height - h + 1);
      const left = rng.int(width - w + 1);
      return { top, left, height: h, width: w };
    }
  }
  // Fallback: the whole image, cut to the nearest allowed aspect ratio, centred.
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Apply `spec` to one image. Random choices come from `rng` in the documented order. Returns new
 * pixels, except for `none`, which returns the input arrays themselves.
 */
export function applyTransform(pixels: Uint8Array, shape: ImageShape, spec: TransformSpec, rng: Rng): TransformedImage {
  switch (spec.kind) {
    case 'none':
      return { pixels, shape };
    case 'padCropFlip': {
      const { top, left } = samplePadCrop(rng, spec.padding);
      const flip = spec.flip && rng.uniform() < 0.5;
      return { pixels: cropPadded(pixels, shape, spec.padding, top, left, flip), shape: [...shape] as ImageShape };
    }
    case 'randomResizedCrop': {
      const box = sampleResizedCropBox(rng, shape[0], shape[1], spec.scale, spec.ratio);
      const [oh, ow] = spec.size;
      const resized = resizeBilinear(pixels, shape, box, oh, ow);
      const outShape: ImageShape = [oh, ow, shape[2]];
      const flip = spec.flip && rng.uniform() < 0.5;
      const cropped = flip ? flipHorizontal(resized, outShape) : resized;
      return { pixels: spec.color ? applyColorDraws(cropped, outShape, sampleColorDraws(rng, spec.color)) : cropped, shape: outShape };
    }
    case 'resizeCenterCrop': {
      const [rh, rw] = shorterSideSize(shape[0], shape[1], spec.resize);
      const window: Box = { top: centreCropOffset(rh, spec.crop), left: centreCropOffset(rw, spec.crop), height: spec.crop, width: spec.crop };
      const full: Box = { top: 0, left: 0, height: shape[0], width: shape[1] };
      return { pixels: resizeBilinear(pixels, shape, full, rh, rw, window), shape: [spec.crop, spec.crop, shape[2]] };
    }
  }
}
