/**
 * Reader for CUB-200-2011 (Wah et al. 2011), the WSOL benchmark of main paper Table 4.
 *
 * Layout (the CUB_200_2011 folder of CUB_200_2011.tgz); ids are 1-based and every file lists
 * every image id once:
 *   images.txt              "<image_id> <class_folder>/<file>.jpg"   (path under images/)
 *   image_class_labels.txt  "<image_id> <class_id>"                  class_id in 1..200
 *   train_test_split.txt    "<image_id> <is_training_image>"         1 train, 0 test
 *   bounding_boxes.txt      "<image_id> <x> <y> <width> <height>"    pixels of the original image
 *   classes.txt             "<class_id> <class_name>"
 *   images/<class_folder>/<file>.jpg
 * Labels here are 0-based (class_id - 1). Test-time protocol (supplementary, after CutMix):
 * the image is resized directly to 224 x 224 (bilinear, half-pixel centres, no antialiasing),
 * and the box is rescaled with it: x' = x * W'/W, y' = y * H'/H, width and height likewise.
 * Images are decoded by lib/data/image-file (sharp/libvips; its colour rules: grey and CMYK JPEGs
 * as RGB), then resized here with the protocol's own resize.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImageFile, DecodedImage } from '../data/image-file';
import { assertInt, assertKnownKeys, assertOneOf } from '../validate';
import { Box, LocalizationBatch } from './cam';

export const CUB_FILES = ['images.txt', 'image_class_labels.txt', 'train_test_split.txt', 'bounding_boxes.txt', 'classes.txt'] as const;

const LAYOUT = 'expected the CUB_200_2011 folder of CUB_200_2011.tgz, holding images.txt, image_class_labels.txt, '
  + 'train_test_split.txt, bounding_boxes.txt, classes.txt and images/<class>/<file>.jpg';

export interface CubItem {
  /** 1-based image id of the dataset files. */
  id: number;
  /** Path relative to <root>/images. */
  file: string;
  /** 0-based class. */
  label: number;
  isTrain: boolean;
  /** Ground-truth box in the pixels of the original image. */
  box: Box;
}

export interface CubMetadata {
  root: string;
  classNames: string[];
  /** In image-id order. */
  items: CubItem[];
}

function readLines(root: string, name: string): { file: string; lines: string[][] } {
  const file = path.join(root, name);
  if (!fs.existsSync(file)) throw new Error(`CUB-200-2011: missing ${file}; ${LAYOUT}`);
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0).map((l) => l.split(/\s+/));
  return { file, lines };
}

function parseIdTable(root: string, name: string, fields: number): { file: string; rows: Map<number, string[]> } {
  const { file, lines } = readLines(root, name);
  const rows = new Map<number, string[]>();
  lines.forEach((parts, i) => {
    const id = Number(parts[0]);
    if (!Number.isInteger(id) || id < 1 || parts.length < fields + 1) {
      throw new Error(`CUB-200-2011: ${file} line ${i + 1} must be "<id> ${fields} field(s)", got "${parts.join(' ')}"`);
    }
    if (rows.has(id)) throw new Error(`CUB-200-2011: ${file} lists id ${id} twice (line ${i + 1})`);
    rows.set(id, parts.slice(1));
  });
  return { file, rows };
}

/** Read and cross-check the metadata files (module comment); images are not opened. */
export function readCubMetadata(root: string): CubMetadata {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new Error(`CUB-200-2011 not found at ${root}; ${LAYOUT}`);
  for (const name of CUB_FILES) {
    const file = path.join(root, name);
    if (!fs.existsSync(file)) throw new Error(`CUB-200-2011: missing ${file}; ${LAYOUT}`);
  }
  const classes = parseIdTable(root, 'classes.txt', 1);
  const numClasses = classes.rows.size;
  const classNames: string[] = [];
  for (let c = 1; c <= numClasses; c++) {
    const row = classes.rows.get(c);
    if (!row) throw new Error(`CUB-200-2011: ${classes.file} must number classes 1..${numClasses}; class ${c} is missing`);
    classNames.push(row.join(' '));
  }
  const images = parseIdTable(root, 'images.txt', 1);
  const labels = parseIdTable(root, 'image_class_labels.txt', 1);
  const split = parseIdTable(root, 'train_test_split.txt', 1);
  const boxes = parseIdTable(root, 'bounding_boxes.txt', 4);

  const items: CubItem[] = [];
  const ids = [...images.rows.keys()].sort((a, b) => a - b);
  for (const id of ids) {
    const need = (table: { file: string; rows: Map<number, string[]> }) => {
      const row = table.rows.get(id);
      if (!row) throw new Error(`CUB-200-2011: image id ${id} of ${images.file} is missing from ${table.file}`);
      return row;
    };
    const classId = Number(need(labels)[0]);
    if (!Number.isInteger(classId) || classId < 1 || classId > numClasses) {
      throw new Error(`CUB-200-2011: ${labels.file}: image ${id} has class ${need(labels)[0]}; expected 1..${numClasses} (classes.txt)`);
    }
    const isTrain = need(split)[0];
    if (isTrain !== '0' && isTrain !== '1') throw new Error(`CUB-200-2011: ${split.file}: image ${id} has is_training_image ${isTrain}; expected 0 or 1`);
    const [x, y, width, height] = need(boxes).map(Number);
    if (![x, y, width, height].every(Number.isFinite) || width <= 0 || height <= 0) {
      throw new Error(`CUB-200-2011: ${boxes.file}: image ${id} has box "${need(boxes).join(' ')}"; expected x y width height with width, height > 0`);
    }
    items.push({ id, file: images.rows.get(id)![0], label: classId - 1, isTrain: isTrain === '1', box: { x, y, width, height } });
  }
  for (const table of [labels, split, boxes]) {
    if (table.rows.size !== images.rows.size) {
      const extra = [...table.rows.keys()].find((id) => !images.rows.has(id));
      throw new Error(`CUB-200-2011: ${table.file} lists image id ${extra}, which ${images.file} does not`);
    }
  }
  return { root, classNames, items };
}

export interface CubImage {
  /** [H', W', 3] pixels in [0, 1] at the requested size. Caller disposes. */
  x: tf.Tensor3D;
  /** The ground-truth box rescaled to [H', W']. */
  box: Box;
  /** Size of the original image [H, W]. */
  originalSize: [number, number];
}

/** Scale a box from an image of [H, W] to one of [H', W'] (module comment). */
export function rescaleBox(box: Box, from: readonly [number, number], to: readonly [number, number]): Box {
  const sy = to[0] / from[0];
  const sx = to[1] / from[1];
  return { x: box.x * sx, y: box.y * sy, width: box.width * sx, height: box.height * sy };
}

/** Decode one image, resize it to `size` [H', W'] and rescale its box. */
export async function loadCubImage(root: string, item: CubItem, size: readonly [number, number] = [224, 224]): Promise<CubImage> {
  const file = path.join(root, 'images', item.file);
  if (!fs.existsSync(file)) throw new Error(`CUB-200-2011: missing image ${file} (id ${item.id}); ${LAYOUT}`);
  let decoded: DecodedImage;
  try {
    decoded = await decodeImageFile(file);
  } catch (e) {
    throw new Error(`CUB-200-2011: ${e instanceof Error ? e.message : String(e)}`);
  }
  const [height, width] = decoded.shape;
  const data = decoded.pixels;
  const x = tf.tidy(() => {
    const pixels = tf.div(tf.tensor3d(Float32Array.from(data), [height, width, 3]), 255) as tf.Tensor3D;
    if (height === size[0] && width === size[1]) return pixels;
    return tf.clipByValue(tf.image.resizeBilinear(pixels, [size[0], size[1]], false, true), 0, 1) as tf.Tensor3D;
  });
  return { x, box: rescaleBox(item.box, [height, width], size), originalSize: [height, width] };
}

export interface CubBatchOptions {
  /** Which images: 'test' (default), 'train' or 'all'. */
  split?: 'train' | 'test' | 'all';
  /** Model input size [H, W]; default [224, 224]. */
  size?: readonly [number, number];
  /** Default 32. */
  batchSize?: number;
  /** Use only the first `limit` images of the split (quick runs). */
  limit?: number;
}

/**
 * Localisation batches `{ x, y, boxes }` of a split, in image-id order (one box per image).
 * Each batch's tensors are fresh; the consumer disposes them (evaluateLocalization does).
 */
export function cubBatches(metadata: CubMetadata, options: CubBatchOptions = {}): AsyncGenerator<LocalizationBatch> {
  const where = 'cubBatches';
  assertKnownKeys(where, options, ['split', 'size', 'batchSize', 'limit']);
  const split = assertOneOf(where, 'split', options.split ?? 'test', ['train', 'test', 'all'] as const);
  const size = options.size ?? [224, 224];
  if (!(size.length === 2 && size.every((d) => Number.isInteger(d) && d >= 1))) {
    throw new Error(`${where}: size must be [H, W] with positive integers, got ${JSON.stringify(size)}`);
  }
  const batchSize = options.batchSize ?? 32;
  assertInt(where, 'batchSize', batchSize, 1);
  let items = metadata.items.filter((it) => split === 'all' || it.isTrain === (split === 'train'));
  if (options.limit !== undefined) {
    assertInt(where, 'limit', options.limit, 1);
    items = items.slice(0, options.limit);
  }
  if (items.length === 0) throw new Error(`${where}: the ${split} split of ${metadata.root} has no images`);
  // Checked above, read lazily: a bad argument fails at the call, images load batch by batch.
  return (async function* () {
    for (let start = 0; start < items.length; start += batchSize) {
      const chunk = items.slice(start, start + batchSize);
      const images: CubImage[] = [];
      let x: tf.Tensor4D;
      try {
        for (const it of chunk) images.push(await loadCubImage(metadata.root, it, size));
        x = tf.stack(images.map((im) => im.x)) as tf.Tensor4D;
      } finally {
        images.forEach((im) => im.x.dispose());
      }
      yield {
        x,
        y: tf.tensor1d(chunk.map((it) => it.label), 'int32'),
        boxes: images.map((im) => [im.box]),
      };
    }
  })();
}
