/**
 * CIFAR-10 and CIFAR-100 from the official binary archives.
 *
 * Record layout (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary version"):
 *   CIFAR-10:  1 label byte, then 3072 pixel bytes;  files data_batch_1..5.bin, test_batch.bin
 *   CIFAR-100: 1 coarse label byte, 1 fine label byte, then 3072 pixel bytes; train.bin, test.bin
 * The 3072 bytes are channel-major (CHW): 1024 red, 1024 green, 1024 blue, each 32 rows of 32.
 * Stored here as HWC: out[(y * 32 + x) * 3 + c] = record[c * 1024 + y * 32 + x].
 * Class names: batches.meta.txt (10 lines), fine_label_names.txt (100), coarse_label_names.txt (20).
 *
 * Splits: `test` is the official test file; `val` is a stratified holdout of `valPerClass` images
 * per class from the official training files (seeded by `splitSeed`; defaults 500 per class for
 * CIFAR-10, 50 for CIFAR-100 fine and 250 for its 20 coarse classes: 5,000 of 50,000 each time);
 * `train` is the remaining 45,000; `trainFull` all 50,000. Augmentation: train = pad 4, random 32x32 crop, flip; eval none.
 */
import * as fs from 'fs';
import * as path from 'path';
import { assertInt, assertKnownKeys, assertOneOf } from '../validate';
import { NO_TRANSFORM, padCropFlip } from './augment';
import { checkLabels, ImageDataset, memorySource, subsetDataset } from './dataset';
import { ARCHIVES, DownloadOptions, locateDataset } from './download';
import { sharedBytes } from './source';
import { stratifiedSplit } from './split';
import type { DatasetSplits, ImageShape, TransformPair } from './types';

const CIFAR_SHAPE: ImageShape = [32, 32, 3];
const PIXELS = 3072;

export interface CifarRecords {
  /** Shared uint8 HWC pixels, 3072 bytes per image. */
  pixels: Uint8Array;
  labels: Int32Array;
}

export interface CifarFormat {
  /** Label bytes before the pixels (1 for CIFAR-10, 2 for CIFAR-100). */
  labelBytes: 1 | 2;
  /** Which label byte to use. */
  labelIndex: 0 | 1;
  numClasses: number;
}

/**
 * Read CIFAR binary files (concatenated in the given order), converting CHW records to HWC.
 * @throws naming the file when it is missing, its size is not a positive multiple of the record
 *   size, or a label is out of range.
 */
export function readCifarBinary(files: string[], format: CifarFormat): CifarRecords {
  const where = 'readCifarBinary';
  const recordBytes = format.labelBytes + PIXELS;
  const sizes = files.map((file) => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new Error(`${where}: ${file} does not exist`);
    }
    if (size === 0 || size % recordBytes !== 0) {
      throw new Error(`${where}: ${file} has ${size} bytes, not a positive multiple of the ${recordBytes}-byte record (${format.labelBytes} label byte(s) + 3072 pixels): wrong or truncated file`);
    }
    return size / recordBytes;
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  const pixels = sharedBytes(total * PIXELS);
  const labels = new Int32Array(total);
  let offset = 0;
  files.forEach((file, f) => {
    const bytes = fs.readFileSync(file);
    const fileLabels = new Int32Array(sizes[f]);
    for (let r = 0; r < sizes[f]; r++) {
      const base = r * recordBytes;
      fileLabels[r] = bytes[base + format.labelIndex];
      const src = base + format.labelBytes;
      const dst = (offset + r) * PIXELS;
      for (let p = 0; p < 1024; p++) {
        pixels[dst + 3 * p] = bytes[src + p];
        pixels[dst + 3 * p + 1] = bytes[src + 1024 + p];
        pixels[dst + 3 * p + 2] = bytes[src + 2048 + p];
      }
    }
    checkLabels(fileLabels, format.numClasses, where, file);
    labels.set(fileLabels, offset);
    offset += sizes[f];
  });
  return { pixels, labels };
}

/** Non-empty trimmed lines of a class-name file; exactly `count` of them. */
export function readClassNames(file: string, count: number, where: string): string[] {
  if (!fs.existsSync(file)) throw new Error(`${where}: ${file} does not exist`);
  const names = fs.readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (names.length !== count) throw new Error(`${where}: ${file} lists ${names.length} class names, expected ${count}`);
  return names;
}

export interface CifarOptions {
  /** The folder holding the binary files, or the folder containing 'cifar-10-batches-bin' / 'cifar-100-binary'. */
  root: string;
  /** Download and extract the official archive into `root` when the files are missing (default false). */
  download?: boolean;
  /** Validation images per class held out from the training files (default 500 / 50). */
  valPerClass?: number;
  /** Seed of the validation holdout (default 0). */
  splitSeed?: number;
  onProgress?: DownloadOptions['onProgress'];
}

export interface Cifar100Options extends CifarOptions {
  /** 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  labels?: 'fine' | 'coarse';
}

const CIFAR_TRANSFORMS: TransformPair = { train: padCropFlip(4, true), eval: NO_TRANSFORM };

function buildSplits(
  name: string,
  train: CifarRecords,
  test: CifarRecords,
  classNames: string[],
  valPerClass: number,
  splitSeed: number,
): DatasetSplits {
  const make = (records: CifarRecords, split: string) =>
    new ImageDataset({ name: `${name}/${split}`, source: memorySource(records.pixels, records.labels, CIFAR_SHAPE), imageShape: CIFAR_SHAPE, classNames, transforms: CIFAR_TRANSFORMS });
  const trainFull = make(train, 'trainFull');
  const [valIdx, trainIdx] = stratifiedSplit(train.labels, classNames.length, [valPerClass, null], splitSeed);
  return {
    train: subsetDataset(trainFull, trainIdx, `${name}/train`),
    val: subsetDataset(trainFull, valIdx, `${name}/val`),
    test: make(test, 'test'),
    trainFull,
  };
}

const OPTION_KEYS = ['root', 'download', 'valPerClass', 'splitSeed', 'onProgress'];

/** CIFAR-10 splits (see module comment). */
export async function loadCifar10(options: CifarOptions): Promise<DatasetSplits> {
  const where = 'loadCifar10';
  assertKnownKeys(where, options, OPTION_KEYS);
  const valPerClass = options.valPerClass ?? 500;
  assertInt(where, 'valPerClass', valPerClass, 0);
  const trainFiles = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
  const dir = await locateDataset({
    where,
    dataset: 'CIFAR-10',
    root: options.root,
    required: [...trainFiles, 'test_batch.bin', 'batches.meta.txt'],
    layout: 'data_batch_1.bin ... data_batch_5.bin, test_batch.bin, batches.meta.txt',
    archive: ARCHIVES.cifar10,
    download: options.download ?? false,
    onProgress: options.onProgress,
  });
  const format: CifarFormat = { labelBytes: 1, labelIndex: 0, numClasses: 10 };
  const classNames = readClassNames(path.join(dir, 'batches.meta.txt'), 10, where);
  const train = readCifarBinary(trainFiles.map((f) => path.join(dir, f)), format);
  const test = readCifarBinary([path.join(dir, 'test_batch.bin')], format);
  return buildSplits('cifar10', train, test, classNames, valPerClass, options.splitSeed ?? 0);
}

/** CIFAR-100 splits, fine or coarse labels (see module comment). */
export async function loadCifar100(options: Cifar100Options): Promise<DatasetSplits> {
  const where = 'loadCifar100';
  assertKnownKeys(where, options, [...OPTION_KEYS, 'labels']);
  const labelKind = assertOneOf(where, 'labels', options.labels ?? 'fine', ['fine', 'coarse'] as const);
  const valPerClass = options.valPerClass ?? (labelKind === 'fine' ? 50 : 250);
  assertInt(where, 'valPerClass', valPerClass, 0);
  const namesFile = `${labelKind}_label_names.txt`;
  const dir = await locateDataset({
    where,
    dataset: 'CIFAR-100',
    root: options.root,
    required: ['train.bin', 'test.bin', namesFile],
    layout: `train.bin, test.bin, ${namesFile}`,
    archive: ARCHIVES.cifar100,
    download: options.download ?? false,
    onProgress: options.onProgress,
  });
  const numClasses = labelKind === 'fine' ? 100 : 20;
  const format: CifarFormat = { labelBytes: 2, labelIndex: labelKind === 'fine' ? 1 : 0, numClasses };
  const classNames = readClassNames(path.join(dir, namesFile), numClasses, where);
  const train = readCifarBinary([path.join(dir, 'train.bin')], format);
  const test = readCifarBinary([path.join(dir, 'test.bin')], format);
  return buildSplits(labelKind === 'fine' ? 'cifar100' : 'cifar100-coarse', train, test, classNames, valPerClass, options.splitSeed ?? 0);
}
