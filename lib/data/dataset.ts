/**
 * The `Dataset` implementation used by every reader: metadata plus a `DatasetSource`, with item
 * access delegated to ./source (the same code the loader workers run).
 */
import { assertInt } from '../validate';
import { readItem, readMemoryItem, sharedInt32, sourceLabel, sourceSize } from './source';
import type { Dataset, DatasetSource, ImageItem, ImageShape, MemorySource, SubsetSource, TransformPair } from './types';

export interface ImageDatasetOptions {
  name: string;
  source: DatasetSource;
  imageShape: ImageShape;
  classNames: readonly string[];
  transforms: TransformPair;
}

export class ImageDataset implements Dataset {
  readonly name: string;
  readonly size: number;
  readonly imageShape: ImageShape;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly transforms: TransformPair;
  readonly source: DatasetSource;

  constructor(options: ImageDatasetOptions) {
    this.name = options.name;
    this.source = options.source;
    this.size = sourceSize(options.source);
    this.imageShape = [...options.imageShape] as ImageShape;
    this.classNames = Object.freeze([...options.classNames]);
    this.numClasses = options.classNames.length;
    this.transforms = options.transforms;
  }

  get(index: number): ImageItem {
    assertInt(`${this.name}.get`, 'index', index, 0, this.size - 1);
    return readMemoryItem(this.source, index);
  }

  read(index: number): Promise<ImageItem> {
    assertInt(`${this.name}.read`, 'index', index, 0, this.size - 1);
    return readItem(this.source, index);
  }

  label(index: number): number {
    assertInt(`${this.name}.label`, 'index', index, 0, this.size - 1);
    return sourceLabel(this.source, index);
  }
}

/**
 * The items `indices` of `dataset` (in that order) as a new dataset sharing its storage.
 * Nested subsets are flattened, so item access stays one indirection deep.
 */
export function subsetDataset(dataset: Dataset, indices: ArrayLike<number>, name: string): ImageDataset {
  const where = 'subsetDataset';
  for (let i = 0; i < indices.length; i++) assertInt(where, `indices[${i}]`, indices[i], 0, dataset.size - 1);
  const parent = dataset.source;
  const source: SubsetSource =
    parent.kind === 'subset'
      ? { kind: 'subset', base: parent.base, indices: sharedInt32(Array.from(indices, (i) => parent.indices[i])) }
      : { kind: 'subset', base: parent, indices: sharedInt32(indices) };
  return new ImageDataset({ name, source, imageShape: dataset.imageShape, classNames: dataset.classNames, transforms: dataset.transforms });
}

/**
 * Check that every label is an integer class index in [0, numClasses); `where` and `what` name the
 * caller and the file in the error.
 */
export function checkLabels(labels: ArrayLike<number>, numClasses: number, where: string, what: string): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (!(Number.isInteger(y) && y >= 0 && y < numClasses)) {
      throw new Error(`${where}: ${what}: label of record ${i} is ${y}; expected an integer in 0..${numClasses - 1}`);
    }
  }
}

/** A memory source over shared `pixels` (size * h * w * c bytes) and `labels`. */
export function memorySource(pixels: Uint8Array, labels: ArrayLike<number>, shape: ImageShape): MemorySource {
  const [h, w, c] = shape;
  if (pixels.length !== labels.length * h * w * c) {
    throw new Error(`memorySource: pixels has ${pixels.length} bytes, expected ${labels.length} x ${h}x${w}x${c} = ${labels.length * h * w * c}`);
  }
  const shared = pixels.buffer instanceof SharedArrayBuffer ? pixels : new Uint8Array(new SharedArrayBuffer(pixels.length));
  if (shared !== pixels) shared.set(pixels);
  return { kind: 'memory', pixels: shared, labels: sharedInt32(labels), shape: [h, w, c] };
}
