/**
 * TinyImageNet-200 (http://cs231n.stanford.edu/tiny-imagenet-200.zip): 200 classes of 64x64 RGB
 * JPEGs, 500 training and 50 validation images per class. Layout:
 *   wnids.txt                       the 200 class ids (WordNet ids), one per line
 *   words.txt                       "<wnid>\t<names>" for WordNet (optional here: names only)
 *   train/<wnid>/images/*.JPEG      training images (some greyscale: replicated to RGB)
 *   val/images/*.JPEG + val/val_annotations.txt  "<file>\t<wnid>\t<x0>\t<y0>\t<x1>\t<y1>"
 * (test/ has no labels and is not read.)
 *
 * Classes are the wnids in sorted order (what torchvision's ImageFolder gives on train/), named by
 * the first entry of their words.txt line. Images are decoded once into shared memory, in worker
 * threads. Splits: `test` = the official validation images (test labels are not public); `val` =
 * `valPerClass` (default 50) training images per class held out with `splitSeed`; `train` = the
 * other 90,000; `trainFull` = all 100,000. Augmentation: train = pad 4, random 64x64 crop, flip
 * (as for CIFAR); eval none.
 */
import * as fs from 'fs';
import * as path from 'path';
import { assertInt, assertKnownKeys } from '../validate';
import { NO_TRANSFORM, padCropFlip } from './augment';
import { ImageDataset, memorySource, subsetDataset } from './dataset';
import { ARCHIVES, DownloadOptions, locateDataset } from './download';
import { decodeAll, listFolders, listImages } from './folder-scan';
import { stratifiedSplit } from './split';
import type { DatasetSplits, FileSource, ImageShape, TransformPair } from './types';

const TINY_SHAPE: ImageShape = [64, 64, 3];

export interface TinyImageNetOptions {
  /** The 'tiny-imagenet-200' folder, or the folder containing it. */
  root: string;
  /** Download (248 MB) and extract the archive into `root` when missing (default false). */
  download?: boolean;
  /** Validation images per class held out from train (default 50). */
  valPerClass?: number;
  /** Seed of the validation holdout (default 0). */
  splitSeed?: number;
  /** Decoding threads (default: one per core; 0: decode on the calling thread). */
  workers?: number;
  onProgress?: DownloadOptions['onProgress'];
}

function readLines(file: string): string[] {
  return fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** Class names from words.txt (first synonym), falling back to the wnid. */
function classNamesFor(wnids: string[], wordsFile: string): string[] {
  if (!fs.existsSync(wordsFile)) return wnids;
  const names = new Map<string, string>();
  for (const line of readLines(wordsFile)) {
    const tab = line.indexOf('\t');
    if (tab > 0) names.set(line.slice(0, tab), line.slice(tab + 1).split(',')[0].trim());
  }
  return wnids.map((w) => names.get(w) ?? w);
}

/** File lists and labels of the TinyImageNet folder `dir` (exported for tests). */
export function scanTinyImageNet(dir: string): { wnids: string[]; train: FileSource; test: FileSource } {
  const where = 'scanTinyImageNet';
  const wnids = [...new Set(readLines(path.join(dir, 'wnids.txt')))].sort();
  if (wnids.length === 0) throw new Error(`${where}: ${path.join(dir, 'wnids.txt')} lists no class ids`);
  const classOf = new Map(wnids.map((w, k) => [w, k]));
  const trainFolders = new Set(listFolders(path.join(dir, 'train')));
  const trainFiles: string[] = [];
  const trainLabels: number[] = [];
  wnids.forEach((wnid, k) => {
    const imagesDir = path.join(dir, 'train', wnid, 'images');
    if (!trainFolders.has(wnid) || !fs.existsSync(imagesDir)) throw new Error(`${where}: missing ${imagesDir} (class ${wnid} of wnids.txt); expected train/<wnid>/images/*.JPEG`);
    const files = listImages(imagesDir);
    if (files.length === 0) throw new Error(`${where}: ${imagesDir} holds no images`);
    for (const f of files) {
      trainFiles.push(f);
      trainLabels.push(k);
    }
  });
  const annotations = path.join(dir, 'val', 'val_annotations.txt');
  const testFiles: string[] = [];
  const testLabels: number[] = [];
  readLines(annotations).forEach((line, i) => {
    const [file, wnid] = line.split('\t');
    const k = classOf.get(wnid);
    if (!file || k === undefined) throw new Error(`${where}: ${annotations} line ${i + 1}: '${line}' does not name an image and a class of wnids.txt`);
    testFiles.push(path.join(dir, 'val', 'images', file));
    testLabels.push(k);
  });
  for (const f of testFiles) if (!fs.existsSync(f)) throw new Error(`${where}: ${f} is listed in ${annotations} but does not exist`);
  return {
    wnids,
    train: { kind: 'files', files: trainFiles, labels: Int32Array.from(trainLabels), channels: 3 },
    test: { kind: 'files', files: testFiles, labels: Int32Array.from(testLabels), channels: 3 },
  };
}

const TINY_TRANSFORMS: TransformPair = { train: padCropFlip(4, true), eval: NO_TRANSFORM };

/** TinyImageNet-200 splits, decoded into memory (see module comment). */
export async function loadTinyImageNet(options: TinyImageNetOptions): Promise<DatasetSplits> {
  const where = 'loadTinyImageNet';
  assertKnownKeys(where, options, ['root', 'download', 'valPerClass', 'splitSeed', 'workers', 'onProgress']);
  const valPerClass = options.valPerClass ?? 50;
  assertInt(where, 'valPerClass', valPerClass, 0);
  if (options.workers !== undefined) assertInt(where, 'workers', options.workers, 0);
  const dir = await locateDataset({
    where,
    dataset: 'TinyImageNet',
    root: options.root,
    required: ['wnids.txt', 'train', path.join('val', 'images'), path.join('val', 'val_annotations.txt')],
    layout: 'wnids.txt, words.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG and val/val_annotations.txt',
    archive: ARCHIVES.tinyImageNet,
    download: options.download ?? false,
    onProgress: options.onProgress,
  });
  const scan = scanTinyImageNet(dir);
  const classNames = classNamesFor(scan.wnids, path.join(dir, 'words.txt'));
  const make = (source: FileSource, pixels: Uint8Array, split: string) =>
    new ImageDataset({ name: `tiny-imagenet/${split}`, source: memorySource(pixels, source.labels, TINY_SHAPE), imageShape: TINY_SHAPE, classNames, transforms: TINY_TRANSFORMS });
  const trainFull = make(scan.train, await decodeAll(scan.train, TINY_SHAPE, options.workers), 'trainFull');
  const test = make(scan.test, await decodeAll(scan.test, TINY_SHAPE, options.workers), 'test');
  const [valIdx, trainIdx] = stratifiedSplit(scan.train.labels, scan.wnids.length, [valPerClass, null], options.splitSeed ?? 0);
  return { train: subsetDataset(trainFull, trainIdx, 'tiny-imagenet/train'), val: subsetDataset(trainFull, valIdx, 'tiny-imagenet/val'), test, trainFull };
}
