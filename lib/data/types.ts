/**
 * The data model shared by every dataset, transform and the batch loader.
 *
 * An item is one image as uint8 pixels, row-major HWC (index (y * w + x) * c + channel), with an
 * int class label. In-memory datasets keep all items in one `SharedArrayBuffer`, so loader workers
 * read them without copies; file-backed datasets (ImageNet folders) decode one file per item.
 *
 * A dataset's `source` is a plain, structured-cloneable description of where its items live.
 * The main thread and the loader's worker threads both read items through ./source (`readItem`,
 * `transformItem`), which is what makes worker batches identical to synchronous ones.
 */

/** [height, width, channels]. */
export type ImageShape = [number, number, number];

/** One image: uint8 HWC pixels of `shape`, and its class index. */
export interface ImageItem {
  pixels: Uint8Array;
  shape: ImageShape;
  label: number;
}

/**
 * An RGB crop as TensorFlow's resize leaves it (./native-jpeg): float values in [0, 255], HWC of
 * `shape`, whose pixels are the values rounded half up and mirrored left-right when `flip`
 * (./image-file cropPixels). The batch writer maps these to its output in one pass (./batch).
 */
export interface FloatCrop {
  values: Float32Array;
  shape: ImageShape;
  flip: boolean;
}

/** Where a dataset's items live; plain data, so it can be posted to worker threads. */
export type DatasetSource = MemorySource | FileSource | SubsetSource;

/** All images of one shape in one buffer (`SharedArrayBuffer`-backed: workers share it). */
export interface MemorySource {
  kind: 'memory';
  /** size * h * w * c bytes, item i at offset i * h * w * c. */
  pixels: Uint8Array;
  labels: Int32Array;
  shape: ImageShape;
}

/** One image file per item (JPEG or PNG, detected from the file's first bytes), decoded on read. */
export interface FileSource {
  kind: 'files';
  files: string[];
  labels: Int32Array;
  /** 3: RGB (greyscale files are replicated); 1: luma. */
  channels: 1 | 3;
}

/** Items `indices[i]` of another source. */
export interface SubsetSource {
  kind: 'subset';
  base: DatasetSource;
  indices: Int32Array;
}

/**
 * A per-example image transform, as plain data (workers rebuild it from this). See ./augment for
 * the maths of each kind and the order of random draws.
 */
/** Colour jitter strength (U(-jitter, jitter) per jitter) and PCA lighting std (lib/data/augment.ts). */
export interface ColorAugment {
  jitter: number;
  lighting: number;
}

export type TransformSpec =
  | { kind: 'none' }
  | { kind: 'padCropFlip'; padding: number; flip: boolean }
  | { kind: 'randomResizedCrop'; size: [number, number]; scale: [number, number]; ratio: [number, number]; flip: boolean; color?: ColorAugment }
  | { kind: 'resizeCenterCrop'; resize: number; crop: number };

/** The standard training augmentation and evaluation transform of a dataset. */
export interface TransformPair {
  train: TransformSpec;
  eval: TransformSpec;
}

export interface Dataset {
  /** e.g. 'cifar10/train'. */
  readonly name: string;
  readonly size: number;
  /**
   * Shape of the examples a model sees: the stored image shape for in-memory datasets, the output
   * of the evaluation transform for file-backed ones (ImageNet: [224, 224, 3]).
   */
  readonly imageShape: ImageShape;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly transforms: TransformPair;
  readonly source: DatasetSource;
  /**
   * Item `index` of an in-memory dataset (pixels may be a view into shared memory: do not modify
   * them). File-backed datasets (ImageNet folders) decode asynchronously: `get` throws, use `read`.
   */
  get(index: number): ImageItem;
  /** Item `index` of any dataset (file-backed ones decode the file). */
  read(index: number): Promise<ImageItem>;
  /** Label of item `index`, without reading its pixels. */
  label(index: number): number;
}

/**
 * The splits every loader returns. `test` is the official held-out set (for ImageNet and
 * TinyImageNet, whose test labels are not public, the official validation set); `val` is a seeded,
 * stratified holdout from the official training set; `train` is the rest; `trainFull` =
 * train + val (the paper's protocol trains on it and reports test accuracy).
 */
export interface DatasetSplits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
  trainFull: Dataset;
}
