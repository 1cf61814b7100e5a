/**
 * Decoding image files to uint8 HWC pixels with pure-JS decoders (jpeg-js, pngjs), so decoding
 * works on every backend and inside worker threads.
 *
 * The format comes from the file's first bytes, not its extension: ImageNet's training set holds
 * a PNG and CMYK JPEGs named .JPEG. Colour conversions:
 *   - JPEG: jpeg-js returns RGB for greyscale (replicated), YCbCr and CMYK/YCCK files.
 *   - PNG: pngjs returns RGBA; alpha is dropped (not composited).
 *   - channels 1: luma L = (299 R + 587 G + 114 B) / 1000, rounded (PIL's 'L' conversion).
 * jpeg-js decodes tolerantly (as libjpeg does): a file with damaged entropy-coded data may decode
 * with wrong pixels instead of failing; a file that is not a JPEG/PNG, or whose headers are broken,
 * fails with an error naming the file.
 */
import * as fs from 'fs';
import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImageShape } from './types';

export interface DecodedImage {
  pixels: Uint8Array;
  shape: ImageShape;
}

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

function isPng(bytes: Uint8Array): boolean {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length > 8 && signature.every((b, i) => bytes[i] === b);
}

/** Drop channels of an interleaved image: keep `keep` leading channels of `from`. */
function keepChannels(data: Uint8Array, pixelsCount: number, from: number, keep: number): Uint8Array {
  const out = new Uint8Array(pixelsCount * keep);
  for (let p = 0; p < pixelsCount; p++) {
    for (let k = 0; k < keep; k++) out[p * keep + k] = data[p * from + k];
  }
  return out;
}

function rgbToLuma(rgb: Uint8Array, pixelsCount: number): Uint8Array {
  const out = new Uint8Array(pixelsCount);
  for (let p = 0; p < pixelsCount; p++) {
    out[p] = Math.round((299 * rgb[3 * p] + 587 * rgb[3 * p + 1] + 114 * rgb[3 * p + 2]) / 1000);
  }
  return out;
}

/** Decode JPEG or PNG bytes; `what` names the file in errors. */
export function decodeImageBytes(bytes: Uint8Array, channels: 1 | 3, what: string): DecodedImage {
  let rgb: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false });
      rgb = img.data;
      width = img.width;
      height = img.height;
    } else if (isPng(bytes)) {
      const img = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      width = img.width;
      height = img.height;
      rgb = keepChannels(img.data, width * height, 4, 3);
    } else {
      throw new Error('not a JPEG or PNG file (unknown signature)');
    }
  } catch (e) {
    throw new Error(`cannot decode image ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!(width > 0 && height > 0) || rgb.length !== width * height * 3) {
    throw new Error(`cannot decode image ${what}: decoder returned ${rgb.length} bytes for ${width}x${height}`);
  }
  const pixels = channels === 3 ? rgb : rgbToLuma(rgb, width * height);
  return { pixels, shape: [height, width, channels] };
}

/** Read and decode one image file. */
export function decodeImageFile(file: string, channels: 1 | 3 = 3): DecodedImage {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`cannot read image ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return decodeImageBytes(bytes, channels, file);
}
