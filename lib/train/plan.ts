/**
 * Experiment planning: which data and which config a run of a protocol gets, shared by the
 * notebooks, sweeps and the CLI.
 *
 *   findDatasetFolder  the protocol's dataset under a data root, or null (lib/train/data.ts)
 *   planExperiment     the protocol's dataset when its folder is there, else the embedded
 *                      Fashion-MNIST; a QUICK config (small CNN, a few hundred images, a few
 *                      epochs: seconds on 2 CPU cores) or the FULL protocol
 *   mergeOverrides     override objects merged section by section
 *
 * Quick or full. Quick is the default when ALIGNMIX_QUICK=1 (quickMode(), set by
 * `npm run test:notebooks`) or when the protocol's dataset is absent; the caller can force
 * either (`quick: true | false`). A quick run keeps the code path of the method (mode schedule,
 * Sinkhorn settings, alpha, the shape of the learning-rate schedule: see resolveConfig's milestone
 * scaling) and shrinks everything that costs time: the model becomes the small CNN (its last
 * feature map is 4x4, like PreActResNet18's on 32x32), the images are a few hundred (spread over
 * the classes), and there are a few epochs. On the protocol's own dataset it keeps the protocol's
 * optimiser; on the fallback it takes the fallback preset's (lr 0.05). Its accuracies are
 * noise-level: they show that the pipeline works, not which method is better.
 */
import * as path from 'path';
import { ConfigOverrides, TrainConfig, protocolDescription, resolveConfig } from './config';
import { DATASET_FOLDERS, datasetFolder } from './data';
import { assertKnownKeys } from '../validate';

/** True when ALIGNMIX_QUICK=1: notebooks run a cut-down version of their work (CI smoke test). */
export function quickMode(): boolean {
  return process.env.ALIGNMIX_QUICK === '1';
}

/**
 * The folder of a protocol's dataset under `root` (`root/<folder>` or `root` itself, whichever
 * holds the dataset's files), or null when absent. Datasets shipped with the library
 * (Fashion-MNIST, synthetic) need no folder: their protocols give `root` back.
 */
export function findDatasetFolder(protocol: string, root: string): string | null {
  return datasetFolder(resolveConfig(protocol).data.name, root);
}

/** Sizes of a quick run: images per class come from a total, so 100- or 1000-class datasets stay small. */
export interface QuickSize {
  /** Training images in all (default 600), spread evenly over the classes (at least 2 each). */
  trainImages: number;
  /** Validation and test images in all (defaults 200 and 500), at least 1 per class. */
  valImages: number;
  testImages: number;
  epochs: number;
  batchSize: number;
}

export const QUICK_SIZE: QuickSize = { trainImages: 600, valImages: 200, testImages: 500, epochs: 3, batchSize: 32 };

export interface ExperimentSettings {
  /** The paper's protocol (resolveConfig preset), e.g. 'cifar10', 'tinyimagenet'. */
  protocol: string;
  method: string;
  /** Force the quick (true) or full (false) setting; default quick when quickMode() or the dataset is absent. */
  quick?: boolean;
  /** Folder holding the datasets; default env ALIGNMIX_DATA, else ./data. */
  dataRoot?: string;
  /** Overrides of both settings (e.g. an ablation's Sinkhorn iterations, model.alignResolution). */
  overrides?: ConfigOverrides;
  /** Overrides of the full setting only (e.g. model.arch 'wrn16-8', fewer epochs). */
  full?: ConfigOverrides;
  /** Sizes of the quick setting (default QUICK_SIZE). */
  quickSize?: Partial<QuickSize>;
  /** Protocol of a quick run when the dataset is absent (default 'fashion-mnist'). */
  fallback?: 'fashion-mnist' | 'synthetic';
}

export interface ExperimentPlan {
  config: TrainConfig;
  quick: boolean;
  /** The protocol's dataset folder, or null when it is absent. */
  datasetFolder: string | null;
  /** One line for the notebook's output: what runs, on which data, and why. */
  note: string;
}

/** Merge override objects section by section (later wins), as resolveConfig merges into a preset. */
export function mergeOverrides(...layers: (ConfigOverrides | undefined)[]): ConfigOverrides {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer ?? {})) {
      const isSection = value !== null && typeof value === 'object' && !Array.isArray(value);
      out[key] = isSection ? { ...(out[key] as object | undefined), ...value } : value;
    }
  }
  return out as ConfigOverrides;
}

/** The config of an experiment and why it is that one (module comment: quick or full). */
export function planExperiment(settings: ExperimentSettings): ExperimentPlan {
  const where = 'planExperiment';
  assertKnownKeys(where, settings, ['protocol', 'method', 'quick', 'dataRoot', 'overrides', 'full', 'quickSize', 'fallback']);
  assertKnownKeys(`${where}: quickSize`, settings.quickSize ?? {}, Object.keys(QUICK_SIZE));
  const root = path.resolve(settings.dataRoot ?? process.env.ALIGNMIX_DATA ?? 'data');
  const folder = findDatasetFolder(settings.protocol, root);
  const paper = resolveConfig(settings.protocol);
  const quick = settings.quick ?? (quickMode() || folder === null);
  const method = { method: settings.method };
  if (!quick) {
    if (folder === null) {
      throw new Error(`${where}: the full '${settings.protocol}' setting needs its dataset (${DATASET_FOLDERS[paper.data.name]?.folder}) under ${root}; set ALIGNMIX_DATA or dataRoot, or run quick`);
    }
    const config = resolveConfig(settings.protocol, mergeOverrides(method, { data: { root: folder } }, settings.overrides, settings.full));
    return { config, quick, datasetFolder: folder, note: `FULL: ${protocolDescription(settings.protocol)}, ${settings.method}, data ${folder}` };
  }
  const size = { ...QUICK_SIZE, ...settings.quickSize };
  const protocol = folder === null ? settings.fallback ?? 'fashion-mnist' : settings.protocol;
  const classes = DATASET_FOLDERS[resolveConfig(protocol).data.name]?.classes ?? 10;
  const perClass = (total: number, least: number) => Math.max(least, Math.round(total / classes));
  const quickOverrides: ConfigOverrides = {
    epochs: size.epochs,
    batchSize: size.batchSize,
    evalBatchSize: 250,
    lastN: Math.min(paper.lastN, size.epochs),
    model: { arch: 'small-cnn' },
    data: {
      ...(folder === null ? {} : { root: folder }),
      trainPerClass: perClass(size.trainImages, 2), valPerClass: perClass(size.valImages, 1), testPerClass: perClass(size.testImages, 1),
      workers: 0,
    },
  };
  const config = resolveConfig(protocol, mergeOverrides(method, quickOverrides, settings.overrides));
  const why = folder === null
    ? `the ${paper.data.name} dataset is not under ${root} (set ALIGNMIX_DATA), so the embedded ${protocol} stands in`
    : quickMode() ? 'ALIGNMIX_QUICK=1' : 'quick requested';
  const note = `QUICK (${why}): ${settings.method} on ${config.data.name}, small CNN, ${config.data.trainPerClass} training images per class, `
    + `${config.epochs} epochs; noise-level numbers, not the paper's protocol`;
  return { config, quick, datasetFolder: folder, note };
}
