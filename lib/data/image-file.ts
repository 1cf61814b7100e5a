/**
 * Decoding image files to uint8 HWC pixels, optionally cropped, resized and decoded at reduced
 * scale in the same pass. Runs in worker threads (no TensorFlow.js imports).
 *
 * Two decoders; `nativeJpegApplies` decides, per file and operation:
 *   - TensorFlow's JPEG kernels (./native-jpeg: DCT-scaled decode of only the crop's rows and
 *     columns, ResizeBilinear, flip) for RandomResizedCrop's crop of a YCbCr or greyscale JPEG
 *     without an ICC profile that ends in its end-of-image marker, when the native library is
 *     there (not with ALIGNMIX_BACKEND=wasm or cpu). If TensorFlow cannot decode such a file,
 *     sharp decodes it (or fails, naming it).
 *   - sharp (libvips) for everything else: other formats, CMYK JPEGs and JPEGs with an ICC
 *     profile (colour-managed below; TensorFlow would not convert them), files cut short (no
 *     end-of-image marker: libvips fails on them, while TensorFlow decodes a crop that ends
 *     before the cut without complaint),
 *     whole-image decodes and Resize + CenterCrop.
 *
 * The format comes from the file's first bytes, not its extension: ImageNet's training set holds
 * a PNG and CMYK JPEGs named .JPEG. Colour rules (every image comes out 8-bit RGB first):
 *   - greyscale: replicated to R = G = B;
 *   - CMYK / YCCK JPEG: converted to sRGB by libvips through the file's ICC profile, else
 *     libvips's built-in CMYK profile (a colour-managed conversion; PIL's and jpeg-js's naive
 *     255 - C - K formula gives other, usually darker, colours);
 *   - alpha (PNG): dropped, not composited; 16-bit PNG: scaled to 8 bits;
 *   - channels 1: luma L = (299 R + 587 G + 114 B) / 1000, rounded (PIL's 'L' conversion), of the
 *     RGB result (after any resize).
 * EXIF orientation is ignored (as PIL and torchvision do).
 * sharp converts a JPEG or PNG with an embedded ICC profile to sRGB through the profile.
 * Errors: a file that cannot be read, is not an image format libvips knows, or is truncated
 * (`failOn: 'truncated'`, PIL's default) fails with an error naming the file. Recoverable
 * libjpeg warnings (e.g. extraneous bytes before a marker, which some ImageNet files have) do not
 * fail, as with PIL.
 *
 * Resampling by sharp (`ImageOp`) uses libvips's linear (triangle) kernel scaled by the downscale factor,
 * i.e. antialiased bilinear like PIL's BILINEAR that torchvision uses (values differ from PIL's
 * by a few levels: libvips computes in its own fixed point and may box-shrink first).
 * Shrink-on-load: libjpeg can decode a JPEG at 1/2, 1/4 or 1/8 scale for a fraction of the cost;
 * libvips does so when the whole image is resized, not after a crop. So a crop whose shrink
 * factor s = min(box width / out width, box height / out height) is >= 3 (where sharp's rule picks
 * a load shrink of at least 2) is computed as "resize the whole image by out / box, then cut the
 * out-sized window at the scaled box corner" (libvips only computes the window's pixels). Its
 * sizes and corner are rounded to whole pixels, so the crop matches the requested box to within
 * half an output pixel in position and scale. Smaller shrinks (most crops of ImageNet-sized
 * photos) cut the box first and resize it: the exact box, as torchvision's crop-then-resize.
 */
import * as fs from 'fs';
import sharp from 'sharp';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { decodeJpegCropResize, nativeJpeg } from './native-jpeg';
import type { Box } from './resize';
import type { FloatCrop, ImageShape } from './types';

// One libvips thread per pipeline: parallelism comes from the loader's worker threads, so N
// workers use N cores (as N DataLoader processes do); no operation cache (each file is seen once).
// sharp runs on libuv's thread pool, shared by all worker threads (4 threads unless the
// environment sets UV_THREADPOOL_SIZE before Node starts): more than 4 loader workers need it.
sharp.concurrency(1);
sharp.cache(false);

export interface DecodedImage {
  pixels: Uint8Array;
  shape: ImageShape;
}

/** What to produce from a file: all of it, or a box resized, or a window of the resized image. */
export type ImageOp =
  | { kind: 'whole' }
  /** The `box` of the image resized to outHeight x outWidth, mirrored left-right when `flip` (RandomResizedCrop + flip). */
  | { kind: 'cropResize'; box: Box; outHeight: number; outWidth: number; flip: boolean }
  /** The whole image resized to outHeight x outWidth, then `window` of that (Resize + CenterCrop). */
  | { kind: 'resizeWindow'; outHeight: number; outWidth: number; window: Box };

/** Load shrink at which the whole-image route pays (module comment). */
const SHRINK_ON_LOAD_FROM = 3;

function fail(what: string, e: unknown): Error {
  return new Error(`cannot decode image ${what}: ${e instanceof Error ? e.message : String(e)}`);
}

/**
 * Read a file; errors name it. Synchronous: in the loader's worker threads a blocking read holds
 * up nothing else, while an asynchronous read's round trip through libuv's thread pool left the
 * worker idle for a sizeable part of each image (README, Benchmarks).
 */
export function readImageBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read image ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** What decoding needs from the header: size, format, colour space ('srgb', 'b-w', 'cmyk', 'rgb16', ...), alpha, ICC profile. */
export interface ImageHeader {
  height: number;
  width: number;
  format: string;
  space: string;
  hasAlpha: boolean;
  hasProfile: boolean;
}

/** Whether a PNG has an iCCP chunk (it comes before the image data). */
function pngHasProfile(b: Buffer): boolean {
  for (let i = 8; i + 8 <= b.length; i += 12 + b.readUInt32BE(i)) {
    const chunk = b.toString('latin1', i + 4, i + 8);
    if (chunk === 'iCCP') return true;
    if (chunk === 'IDAT' || chunk === 'IEND') return false;
  }
  return false;
}

/**
 * The header of a baseline/progressive JPEG or a non-palette PNG read directly (the start-of-frame
 * segment; the IHDR chunk), null for anything else. Saves a libvips header load per image.
 * JPEG components: 1 grey, 3 YCbCr/RGB (libvips: 'srgb'), 4 CMYK/YCCK. An ICC profile is an APP2
 * segment starting "ICC_PROFILE\0" before the frame header (JPEG), an iCCP chunk (PNG).
 */
function parseHeader(b: Buffer): ImageHeader | null {
  if (b.length > 26 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    const depth = b[24];
    const colourType = b[25];
    if (colourType === 3 || depth < 8) return null; // palette or packed bits: libvips decides the bands
    const grey = colourType === 0 || colourType === 4;
    const space = depth === 16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20), format: 'png', space, hasAlpha: colourType === 4 || colourType === 6, hasProfile: pngHasProfile(b) };
  }
  if (!(b.length > 4 && b[0] === 0xff && b[1] === 0xd8)) return null;
  let i = 2;
  let hasProfile = false;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0-SOF15, except DHT (c4), JPG (c8) and DAC (cc).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const components = b[i + 9];
      const space = components === 1 ? 'b-w' : components === 3 ? 'srgb' : components === 4 ? 'cmyk' : null;
      const height = b.readUInt16BE(i + 5);
      const width = b.readUInt16BE(i + 7);
      return space && height > 0 && width > 0 ? { height, width, format: 'jpeg', space, hasAlpha: false, hasProfile } : null;
    }
    if (marker === 0xe2 && b.toString('latin1', i + 4, i + 16) === 'ICC_PROFILE\0') hasProfile = true;
    if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before a frame header
    i += 2 + b.readUInt16BE(i + 2);
  }
  return null;
}

/** The image header (no pixel decoding; JPEG and PNG parsed here, others by libvips); `what` names the file in errors. */
export async function imageHeader(bytes: Buffer, what: string): Promise<ImageHeader> {
  const parsed = parseHeader(bytes);
  if (parsed) return parsed;
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { failOn: 'truncated' }).metadata();
  } catch (e) {
    throw fail(what, e);
  }
  if (!(meta.width && meta.height && meta.width > 0 && meta.height > 0)) throw fail(what, new Error('no image size in the header'));
  return {
    height: meta.height, width: meta.width, format: meta.format ?? 'unknown', space: meta.space ?? 'unknown', hasAlpha: meta.hasAlpha ?? false, hasProfile: meta.hasProfile ?? false,
  };
}

/**
 * The sharp pipeline of `op` (module comment: the two crop routes). sharp mirrors (flop) after
 * the resize and before a post-resize extract, so the resize-then-window route cuts the mirrored
 * window.
 */
function pipeline(bytes: Buffer, { format, height, width }: ImageHeader, op: ImageOp): Sharp {
  const image = sharp(bytes, { failOn: 'truncated' });
  const resize = (w: number, h: number) => image.resize(w, h, { fit: 'fill', kernel: 'linear' });
  switch (op.kind) {
    case 'whole':
      return image;
    case 'resizeWindow':
      resize(op.outWidth, op.outHeight);
      return image.extract({ left: op.window.left, top: op.window.top, width: op.window.width, height: op.window.height });
    case 'cropResize': {
      const { box, outHeight, outWidth } = op;
      const shrink = Math.min(box.width / outWidth, box.height / outHeight);
      if (format === 'jpeg' && shrink >= SHRINK_ON_LOAD_FROM) {
        const fullWidth = Math.round((width * outWidth) / box.width);
        const fullHeight = Math.round((height * outHeight) / box.height);
        const left = Math.min(Math.round((box.left * fullWidth) / width), fullWidth - outWidth);
        const top = Math.min(Math.round((box.top * fullHeight) / height), fullHeight - outHeight);
        resize(fullWidth, fullHeight).flop(op.flip);
        return image.extract({ left: op.flip ? fullWidth - outWidth - left : left, top, width: outWidth, height: outHeight });
      }
      image.extract({ left: box.left, top: box.top, width: box.width, height: box.height });
      return resize(outWidth, outHeight).flop(op.flip);
    }
  }
}

function rgbToLuma(rgb: Uint8Array, pixelsCount: number): Uint8Array {
  const out = new Uint8Array(pixelsCount);
  for (let p = 0; p < pixelsCount; p++) {
    out[p] = Math.round((299 * rgb[3 * p] + 587 * rgb[3 * p + 1] + 114 * rgb[3 * p + 2]) / 1000);
  }
  return out;
}

/**
 * Whether TensorFlow's JPEG kernels decode `op` of these bytes (module comment): a crop + resize
 * of a 1- or 3-component JPEG without an ICC profile that ends in its end-of-image marker (FF D9).
 */
export function nativeJpegApplies(bytes: Buffer, header: ImageHeader, op: ImageOp): boolean {
  return op.kind === 'cropResize' && header.format === 'jpeg' && (header.space === 'srgb' || header.space === 'b-w') && !header.hasProfile
    && bytes.length > 4 && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9;
}

/**
 * `op` by TensorFlow's kernels when they apply and are there (as float values), else null: also
 * when TensorFlow fails on the file (the addon's "Invalid TF_Status" errors), for sharp to decode
 * it or fail naming it. Any other error is a fault of this code path and fails, naming the file.
 */
function decodeNative(bytes: Buffer, header: ImageHeader, op: ImageOp, what: string): FloatCrop | null {
  if (op.kind !== 'cropResize' || !nativeJpegApplies(bytes, header, op)) return null;
  const tf = nativeJpeg();
  if (!tf) return null;
  try {
    const values = decodeJpegCropResize(tf, bytes, header.height, header.width, op.box, op.outHeight, op.outWidth);
    return { values, shape: [op.outHeight, op.outWidth, 3], flip: op.flip };
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('Invalid TF_Status')) return null;
    throw fail(what, e);
  }
}

/** The uint8 pixels of a FloatCrop: values rounded half up, mirrored left-right when `flip`. */
export function cropPixels({ values, shape, flip }: FloatCrop): Uint8Array {
  const [height, width] = shape;
  const out = new Uint8Array(values.length);
  const row = width * 3;
  const step = flip ? -3 : 3;
  for (let y = 0; y < height; y++) {
    for (let k = 0, from = y * row, to = flip ? y * row + row - 3 : y * row; k < width; k++, from += 3, to += step) {
      out[to] = values[from] + 0.5; // values are in [0, 255]: the uint8 store truncates, so this rounds half up
      out[to + 1] = values[from + 1] + 0.5;
      out[to + 2] = values[from + 2] + 0.5;
    }
  }
  return out;
}

/** RGB pixels of `op` by sharp (module comment); `what` names the file in errors. */
export async function decodeWithSharp(bytes: Buffer, header: ImageHeader, op: ImageOp, what: string): Promise<DecodedImage> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    const image = pipeline(bytes, header, op);
    if (header.hasAlpha) image.removeAlpha();
    if (header.space !== 'srgb') image.toColourspace('srgb');
    ({ data, info } = await image.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (e) {
    throw fail(what, e);
  }
  const { width, height } = info;
  if (info.channels !== 3 || data.length !== width * height * 3) {
    throw fail(what, new Error(`decoder returned ${data.length} bytes in ${info.channels} channels for ${width}x${height}`));
  }
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), shape: [height, width, 3] };
}

/**
 * Decode image bytes (with `op` applied) to `channels` channels, by the decoder the module comment
 * says; `header` is imageHeader's answer for these bytes, `what` names the file in errors.
 * TensorFlow's RGB crops come as a FloatCrop (the loader writes those in one pass), all else as pixels.
 */
export async function decodeImageOrCrop(bytes: Buffer, header: ImageHeader, channels: 1 | 3, op: ImageOp, what: string): Promise<DecodedImage | FloatCrop> {
  const crop = decodeNative(bytes, header, op, what);
  if (crop && channels === 3) return crop;
  const rgb = crop ? { pixels: cropPixels(crop), shape: crop.shape } : await decodeWithSharp(bytes, header, op, what);
  const [height, width] = rgb.shape;
  return channels === 3 ? rgb : { pixels: rgbToLuma(rgb.pixels, height * width), shape: [height, width, 1] };
}

/** decodeImageOrCrop's result as uint8 pixels. */
export async function decodeImage(bytes: Buffer, header: ImageHeader, channels: 1 | 3, op: ImageOp, what: string): Promise<DecodedImage> {
  const image = await decodeImageOrCrop(bytes, header, channels, op, what);
  return 'values' in image ? { pixels: cropPixels(image), shape: image.shape } : image;
}

/** Read and decode one whole image file. */
export async function decodeImageFile(file: string, channels: 1 | 3 = 3): Promise<DecodedImage> {
  const bytes = readImageBytes(file);
  return decodeImage(bytes, await imageHeader(bytes, file), channels, { kind: 'whole' }, file);
}
