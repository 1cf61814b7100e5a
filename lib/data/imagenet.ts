/**
 * ImageNet (ILSVRC-2012) in the usual class-folder layout: train/<class>/*.JPEG and
 * val/<class>/*.JPEG (the validation images sorted into class folders, e.g. by the common
 * valprep.sh). The same reader works for any dataset in that layout (ImageFolder-style).
 *
 * Items are decoded per access (lazily), in the loader's worker threads: 1.28 M images do not fit
 * in memory. Classes are the train/ sub-folder names in sorted order (torchvision's ImageFolder
 * order); val/ may only use those names. Files with .jpeg/.jpg/.png extensions (any case) count.
 *
 * Splits: `test` = val/ (the official validation set; test labels are not public); `val` =
 * `valPerClass` (default 10) training images per class held out with `splitSeed`; `train` = the
 * rest of train/; `trainFull` = all of train/. Transforms: train = random-resized crop to
 * `imageSize` (scale (0.08, 1), ratio (3/4, 4/3)) + flip; eval = shorter side to `resizeSize`,
 * centre crop `imageSize` (defaults 256 / 224).
 */
import * as fs from 'fs';
import * as path from 'path';
import { assertInt, assertKnownKeys } from '../validate';
import { randomResizedCrop, resizeCenterCrop } from './augment';
import { ImageDataset, subsetDataset } from './dataset';
import { listFolders, listImages } from './folder-scan';
import { stratifiedSplit } from './split';
import type { DatasetSplits, FileSource, ImageShape, TransformPair } from './types';

export interface ImageNetFolderOptions {
  /** The folder holding train/ and val/. */
  root: string;
  /** Model input size (default 224). */
  imageSize?: number;
  /** Shorter side before the evaluation centre crop (default 256). */
  resizeSize?: number;
  /** Validation images per class held out from train/ (default 10). */
  valPerClass?: number;
  /** Seed of the validation holdout (default 0). */
  splitSeed?: number;
}

const LAYOUT = 'train/<class>/*.JPEG and val/<class>/*.JPEG (class folders named alike in both)';

/** Files and labels of one split folder; `classes` fixes the label of each folder name. */
function scanSplit(dir: string, classes: Map<string, number>, where: string): FileSource {
  const files: string[] = [];
  const labels: number[] = [];
  for (const folder of listFolders(dir)) {
    const k = classes.get(folder);
    if (k === undefined) throw new Error(`${where}: ${path.join(dir, folder)} is not a class of train/; expected ${LAYOUT}`);
    for (const file of listImages(path.join(dir, folder))) {
      files.push(file);
      labels.push(k);
    }
  }
  if (files.length === 0) throw new Error(`${where}: no images under ${dir}; expected ${LAYOUT}`);
  return { kind: 'files', files, labels: Int32Array.from(labels), channels: 3 };
}

/** ImageNet-layout splits with lazily decoded items (see module comment). */
export function loadImageNetFolder(options: ImageNetFolderOptions): DatasetSplits {
  const where = 'loadImageNetFolder';
  assertKnownKeys(where, options, ['root', 'imageSize', 'resizeSize', 'valPerClass', 'splitSeed']);
  const imageSize = options.imageSize ?? 224;
  const resizeSize = options.resizeSize ?? Math.round((imageSize * 256) / 224);
  assertInt(where, 'imageSize', imageSize, 1);
  assertInt(where, 'resizeSize', resizeSize, imageSize);
  const valPerClass = options.valPerClass ?? 10;
  assertInt(where, 'valPerClass', valPerClass, 0);
  const { root } = options;
  const missing = ['train', 'val'].filter((d) => !fs.existsSync(path.join(root, d)) || !fs.statSync(path.join(root, d)).isDirectory());
  if (missing.length) throw new Error(`${where}: ImageNet not found at ${root}: missing ${missing.join(', ')}/; expected ${LAYOUT}`);

  const classNames = listFolders(path.join(root, 'train'));
  if (classNames.length === 0) throw new Error(`${where}: ${path.join(root, 'train')} has no class folders; expected ${LAYOUT}`);
  const classes = new Map(classNames.map((name, k) => [name, k]));
  const train = scanSplit(path.join(root, 'train'), classes, where);
  const test = scanSplit(path.join(root, 'val'), classes, where);

  const imageShape: ImageShape = [imageSize, imageSize, 3];
  const transforms: TransformPair = { train: randomResizedCrop(imageSize), eval: resizeCenterCrop(resizeSize, imageSize) };
  const make = (source: FileSource, split: string) => new ImageDataset({ name: `imagenet/${split}`, source, imageShape, classNames, transforms });
  const trainFull = make(train, 'trainFull');
  const [valIdx, trainIdx] = stratifiedSplit(train.labels, classNames.length, [valPerClass, null], options.splitSeed ?? 0);
  return { train: subsetDataset(trainFull, trainIdx, 'imagenet/train'), val: subsetDataset(trainFull, valIdx, 'imagenet/val'), test: make(test, 'test'), trainFull };
}
