/**
 * The datasets a training config names, with the quick-run caps applied (stratified, seeded: a
 * capped subset is always the same images for the same splitSeed).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  Dataset, DatasetSplits, loadCifar10, loadCifar100, loadFashionMnist, loadImageNetFolder, loadTinyImageNet,
  makeSyntheticDataset, stratifiedSplit, subsetDataset,
} from '../data/index';
import type { DataConfig, DatasetName } from './config';

/**
 * Where each file-based dataset is looked for under a data root (`root/<folder>`, or `root`
 * itself), the entries that show it is there, its class count, and whether its loader can
 * download it. Datasets shipped with the library (Fashion-MNIST, synthetic) need no folder.
 */
export const DATASET_FOLDERS: Partial<Record<DatasetName, { folder: string; required: string[]; classes: number; downloadable: boolean }>> = {
  cifar10: { folder: 'cifar-10-batches-bin', required: ['data_batch_1.bin', 'test_batch.bin'], classes: 10, downloadable: true },
  cifar100: { folder: 'cifar-100-binary', required: ['train.bin', 'test.bin'], classes: 100, downloadable: true },
  tinyimagenet: { folder: 'tiny-imagenet-200', required: ['wnids.txt', 'train', 'val'], classes: 200, downloadable: true },
  imagenet: { folder: 'imagenet', required: ['train', 'val'], classes: 1000, downloadable: false },
};

/** The folder holding dataset `name` under `root` (`root/<folder>` or `root`), `root` for embedded datasets, or null when absent. */
export function datasetFolder(name: DatasetName, root: string): string | null {
  const spec = DATASET_FOLDERS[name];
  if (!spec) return root;
  const holds = (dir: string) => spec.required.every((entry) => fs.existsSync(path.join(dir, entry)));
  return [path.join(root, spec.folder), root].find(holds) ?? null;
}

/**
 * Throw unless the data a config names can be loaded (before a run directory is written): CUB
 * cannot be trained on, and a file-based dataset needs data.root holding its files, or
 * data.download for the datasets the library can fetch. Errors name the key.
 */
export function assertDataAvailable(c: DataConfig, where = 'config.data'): void {
  if (c.name === 'cub') {
    throw new Error(`${where}.name: training on 'cub' (CUB-200-2011) is not supported (lib/eval/cub.ts reads it for localisation only); use dataset 'imagenet' with a folder layout`);
  }
  const spec = DATASET_FOLDERS[c.name];
  if (!spec) return;
  if (!c.root) {
    throw new Error(`${where}.root: dataset '${c.name}' needs data.root (the folder holding ${spec.folder})${spec.downloadable ? ', with data.download=true to fetch it' : ''}`);
  }
  if (spec.downloadable && c.download) return;
  if (datasetFolder(c.name, path.resolve(c.root)) === null) {
    throw new Error(`${where}.root: dataset '${c.name}' is not under ${path.resolve(c.root)} (looked for ${spec.required.join(', ')} there and in ${spec.folder}/)${spec.downloadable ? '; set data.download=true to fetch it' : ''}`);
  }
}

export interface TrainData {
  /** The split the model trains on (config.data.trainSplit, capped). */
  train: Dataset;
  /** Held-out validation split (model selection); never the test set. */
  val: Dataset;
  test: Dataset;
}

function requireRoot(c: DataConfig): string {
  if (!c.root) {
    throw new Error(`dataset '${c.name}' needs data.root (the folder with its files)${c.name === 'cifar10' || c.name === 'cifar100' || c.name === 'tinyimagenet' ? ', or data.download=true to fetch it' : ''}`);
  }
  return path.resolve(c.root);
}

async function loadSplits(c: DataConfig): Promise<DatasetSplits> {
  switch (c.name) {
    case 'fashion-mnist':
      // Caps are applied by the reader itself (it parses only what it keeps).
      return loadFashionMnist({ splitSeed: c.splitSeed, perClass: { train: c.trainPerClass, val: c.valPerClass, test: c.testPerClass } });
    case 'synthetic':
      return makeSyntheticDataset({
        numClasses: 4, imageSize: 16, channels: 3, seed: c.splitSeed,
        perClass: { train: c.trainPerClass ?? 64, val: c.valPerClass ?? 16, test: c.testPerClass ?? 32 },
      });
    case 'cifar10':
      return loadCifar10({ root: requireRoot(c), download: c.download, splitSeed: c.splitSeed });
    case 'cifar100':
      return loadCifar100({ root: requireRoot(c), download: c.download, splitSeed: c.splitSeed });
    case 'tinyimagenet':
      return loadTinyImageNet({ root: requireRoot(c), download: c.download, splitSeed: c.splitSeed });
    case 'imagenet':
      return loadImageNetFolder({ root: requireRoot(c), splitSeed: c.splitSeed });
    case 'cub':
      throw new Error("training on CUB-200-2011 is not supported yet (lib/eval/cub.ts reads it for localisation); use dataset 'imagenet' with a folder layout");
    default: {
      const never: never = c.name;
      throw new Error(`unknown dataset ${never}`);
    }
  }
}

/** At most `perClass` items of each class of `d` (stratified, seeded), or `d` itself. */
function capPerClass(d: Dataset, perClass: number | undefined, seed: number): Dataset {
  if (perClass === undefined) return d;
  const labels = Array.from({ length: d.size }, (_, i) => d.label(i));
  const counts = new Array(d.numClasses).fill(0);
  for (const l of labels) counts[l]++;
  if (counts.every((n) => n <= perClass)) return d;
  const [keep] = stratifiedSplit(labels, d.numClasses, [null], seed, [perClass]);
  return subsetDataset(d, keep, `${d.name}[${perClass}/class]`);
}

export async function loadTrainData(c: DataConfig): Promise<TrainData> {
  const splits = await loadSplits(c);
  const native = c.name === 'fashion-mnist' || c.name === 'synthetic';
  const cap = (d: Dataset, n: number | undefined) => (native ? d : capPerClass(d, n, c.splitSeed));
  return {
    train: cap(c.trainSplit === 'trainFull' ? splits.trainFull : splits.train, c.trainPerClass),
    val: cap(splits.val, c.valPerClass),
    test: cap(splits.test, c.testPerClass),
  };
}
