/**
 * A batch of NHWC images in [0, 1] (1 or 3 channels) tiled row by row into one RGBA mosaic with
 * `gap` white pixels between tiles: what notebook image grids (lib/display/images.ts) and
 * TensorBoard image summaries (lib/train/tensorboard.ts) encode as one PNG.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertFinite, assertInt, assertRank, shapeStr } from '../validate';

/** The tiled mosaic: RGBA bytes, its size, and the tile geometry. */
export interface ImageMosaic {
  rgba: Uint8Array;
  width: number;
  height: number;
  rows: number;
  columns: number;
  /** Offset (in mosaic pixels) from one tile's left/top edge to the next one's. */
  stepX: number;
  stepY: number;
}

/**
 * Tile `images` [N, H, W, C] (C = 1 or 3, values in [0, 1]; outside values are clipped) into an
 * RGBA mosaic, row-major: image k at row floor(k / columns), column k % columns. Reads the tensor
 * back (one sync); does not dispose it.
 */
export function tileImages(images: tf.Tensor4D, columns: number, gap: number): ImageMosaic {
  const where = 'tileImages';
  assertRank(where, 'images', images, 4);
  const [n, h, w, c] = images.shape;
  if (n < 1 || (c !== 1 && c !== 3)) {
    throw new Error(`${where}: images must be [N >= 1, H, W, 1 or 3], got shape ${shapeStr(images.shape)}`);
  }
  assertInt(where, 'columns', columns, 1);
  assertInt(where, 'gap', gap, 0);
  assertFinite(where, 'images', images);
  const rows = Math.ceil(n / columns);
  const cols = Math.min(columns, n);
  const stepX = w + gap;
  const stepY = h + gap;
  const width = cols * stepX - gap;
  const height = rows * stepY - gap;
  const rgba = new Uint8Array(width * height * 4).fill(255);
  const values = images.dataSync();
  const byte = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  for (let k = 0; k < n; k++) {
    const left = (k % cols) * stepX;
    const top = Math.floor(k / cols) * stepY;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const src = ((k * h + y) * w + x) * c;
        const dst = ((top + y) * width + left + x) * 4;
        for (let ch = 0; ch < 3; ch++) rgba[dst + ch] = byte(values[src + (c === 3 ? ch : 0)]);
      }
    }
  }
  return { rgba, width, height, rows, columns: cols, stepX, stepY };
}
