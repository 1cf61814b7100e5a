/**
 * Datasets, augmentation and the batch loader.
 *
 *   const { train, test } = loadFashionMnist();              // or loadCifar10({ root }), ...
 *   const loader = new BatchLoader(train, { batchSize: 128, transform: train.transforms.train, seed: 1 });
 *   for (let e = 0; e < epochs; e++) {
 *     for await (const { x, y } of loader) { ...; tf.dispose([x, y]); }
 *   }
 *   await loader.close();
 */
export * from './types';
export { ImageDataset, subsetDataset } from './dataset';
export { stratifiedSplit } from './split';
export {
  applyTransform,
  checkTransform,
  cropPadded,
  flipHorizontal,
  NO_TRANSFORM,
  padCropFlip,
  randomResizedCrop,
  resizeCenterCrop,
  sampleResizedCropBox,
  samplePadCrop,
  transformOutputShape,
} from './augment';
export { resizeBilinear, shorterSideSize } from './resize';
export type { Box } from './resize';
export { decodeImageFile } from './image-file';
export { BatchLoader } from './loader';
export type { Batch, BatchLoaderOptions, LoaderState } from './loader';
export { loadCifar10, loadCifar100, readCifarBinary } from './cifar';
export type { Cifar100Options, CifarOptions } from './cifar';
export { loadTinyImageNet } from './tiny-imagenet';
export type { TinyImageNetOptions } from './tiny-imagenet';
export { loadImageNetFolder } from './imagenet';
export type { ImageNetFolderOptions } from './imagenet';
export { FASHION_MNIST_CLASSES, loadFashionMnist } from './fashion-mnist';
export type { FashionMnistOptions } from './fashion-mnist';
export { makeSyntheticDataset, SYNTHETIC_PALETTE, SYNTHETIC_SHAPES } from './synthetic';
export type { SyntheticOptions } from './synthetic';
export { ARCHIVES, downloadFile, extractArchive, fetchArchive, md5File } from './download';
export type { ArchiveSpec, DownloadOptions } from './download';
