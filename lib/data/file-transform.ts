/**
 * A per-example transform (./augment) applied to an image file, fused with decoding where the
 * transform resamples: RandomResizedCrop and Resize + CenterCrop are done while decoding
 * (./image-file: TensorFlow's JPEG kernels or libvips, crop, resize, flip and reduced-scale
 * decoding in one pass), so only the output-sized pixels reach JavaScript. The random draws and
 * their order are applyTransform's (./augment): the crop box (from the image size in the file
 * header), then the flip, then the colour draws.
 * Other transforms decode the whole image and run applyTransform on it.
 *
 * Runs in worker threads: no TensorFlow.js imports.
 */
import { Rng } from '../random';
import { applyColorDraws, applyTransform, sampleColorDraws, sampleResizedCropBox, TransformedImage } from './augment';
import { cropPixels, decodeImage, decodeImageOrCrop, imageHeader, readImageBytes } from './image-file';
import { centreCropOffset, shorterSideSize } from './resize';
import type { FloatCrop, ImageShape, TransformSpec } from './types';

/**
 * Read `file`, decode it to `channels` channels and apply `spec` with draws from `rng`. Errors name
 * the file. A RandomResizedCrop without colour draws that TensorFlow's kernels decoded comes as
 * their FloatCrop (./image-file), which the batch writer reads in one pass.
 */
export async function transformImageFile(file: string, channels: 1 | 3, spec: TransformSpec, rng: Rng): Promise<TransformedImage | FloatCrop> {
  const bytes = readImageBytes(file);
  const header = await imageHeader(bytes, file);
  switch (spec.kind) {
    case 'randomResizedCrop': {
      const box = sampleResizedCropBox(rng, header.height, header.width, spec.scale, spec.ratio);
      const [outHeight, outWidth] = spec.size;
      const flip = spec.flip && rng.uniform() < 0.5;
      const image = await decodeImageOrCrop(bytes, header, channels, { kind: 'cropResize', box, outHeight, outWidth, flip }, file);
      if (!spec.color) return image;
      const pixels = 'values' in image ? cropPixels(image) : image.pixels;
      return { pixels: applyColorDraws(pixels, image.shape, sampleColorDraws(rng, spec.color)), shape: image.shape };
    }
    case 'resizeCenterCrop': {
      const [outHeight, outWidth] = shorterSideSize(header.height, header.width, spec.resize);
      const window = { top: centreCropOffset(outHeight, spec.crop), left: centreCropOffset(outWidth, spec.crop), height: spec.crop, width: spec.crop };
      return decodeImage(bytes, header, channels, { kind: 'resizeWindow', outHeight, outWidth, window }, file);
    }
    case 'none':
    case 'padCropFlip': {
      const { pixels, shape } = await decodeImage(bytes, header, channels, { kind: 'whole' }, file);
      return applyTransform(pixels, shape as ImageShape, spec, rng);
    }
  }
}
