/**
 * The full configuration of a training run, the papers' protocols as named presets, and overrides.
 *
 * A run is `resolveConfig(protocol, overrides)`: the preset's numbers with any field replaced. The
 * resolved config is saved beside the run (config.json), so a run can always be reproduced from
 * its directory. Unknown keys anywhere are errors (a typo must not silently train the default).
 *
 * Protocol numbers (supplementary Sec. B; main paper Sec. B):
 *   cifar10/cifar100  PreActResNet18 (or WRN16-8), SGD lr 0.1, momentum 0.9, wd 1e-4, batch 128,
 *                     2000 epochs, x0.1 every 500; alpha 2; Sinkhorn 100 iterations, eps 0.1
 *   tinyimagenet      PreActResNet18 on 64x64, 1200 epochs, x0.1 at 600 and 900, batch 128
 *   imagenet          ResNet-50, 300 epochs, classifier lr 0.1 / rest 0.01, x0.1 at 100 and 200,
 *                     batch 100
 *   imagenet100       ResNet-50, 100 epochs "following Kim et al. (Co-Mixup)". The papers give no
 *                     further numbers: we keep the 300-epoch rates and scale the milestones
 *                     (x0.1 at 33 and 67). An assumption, stated in the preset's description.
 *   cub               ResNet-50 (last stage stride 1: 14x14 maps), 600 epochs, classifier lr
 *                     0.01 / rest 0.001, x0.1 every 150, batch 16. The papers fine-tune ImageNet-
 *                     pretrained weights, which alignmix does not ship.
 *   fashion-mnist     the embedded default (no download): small CNN on 28x28 Fashion-MNIST.
 *   synthetic         seconds-long runs for tests and demos.
 * When `epochs` is overridden and the milestones are not, the milestones are scaled to the new
 * length, so quick runs keep the protocol's shape.
 */
import { SinkhornOptions } from '../ot/sinkhorn';
import { Arch, AlignResolution } from '../models/options';
import { EmbeddingKind } from '../models/embedding';
import { methodSpec } from './methods';
import { ModeSchedule, validateModeSchedule } from './modes';
import { RECONSTRUCTION_LOSSES, ReconstructionLoss } from './step';
import { StepSchedule, everyNEpochs, scaleMilestones, validateSchedule } from './schedule';
import { assertInt, assertKnownKeys, assertOneOf, assertPositive, assertInRange } from '../validate';

export const DATASET_NAMES = ['fashion-mnist', 'synthetic', 'cifar10', 'cifar100', 'tinyimagenet', 'imagenet', 'cub'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface DataConfig {
  name: DatasetName;
  /** Folder of file-based datasets (CIFAR, TinyImageNet, ImageNet, CUB). */
  root?: string;
  /** Download the official archive when missing (CIFAR, TinyImageNet). */
  download?: boolean;
  /** Quick runs: keep at most this many training images per class (stratified, seeded). */
  trainPerClass?: number;
  /** Quick runs: at most this many validation / test images per class. */
  valPerClass?: number;
  testPerClass?: number;
  /** Train on 'train' (validation held out; default) or 'trainFull' (train + val, the papers' protocol). */
  trainSplit: 'train' | 'trainFull';
  /** Apply the dataset's training augmentation (crop+flip, random-resized crop). */
  augment: boolean;
  /** Loader worker threads (0: assemble batches on the main thread). */
  workers: number;
  /** Seed of the validation holdout / dataset split. */
  splitSeed: number;
}

export interface ModelConfig {
  arch: Arch;
  /** Second-stage encoder e; default from the method: 'conv' for a tensor latent, 'fc' with a decoder, else 'gap'. */
  embedding?: EmbeddingKind;
  latentDim?: number;
  alignResolution: AlignResolution;
  smallCnnWidths?: number[];
}

export interface OptimConfig {
  /** Learning rate of everything but the classifier g (and of g unless classifierLr is set). */
  lr: number;
  /** Separate learning rate of the classifier g (ImageNet, CUB). */
  classifierLr?: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

export interface TrainConfig {
  /** Preset the config was resolved from. */
  protocol: string;
  /** Training method (lib/train/methods.ts), e.g. 'alignmixup', 'cutmix'. */
  method: string;
  /** Replaces the method's mode schedule (e.g. an ablation). */
  modes?: ModeSchedule;
  seed: number;
  data: DataConfig;
  model: ModelConfig;
  optim: OptimConfig;
  schedule: StepSchedule;
  epochs: number;
  batchSize: number;
  evalBatchSize: number;
  /** Beta(alpha, alpha) for lambda. */
  alpha: number;
  /** Sinkhorn settings of aligned modes (method 'alignmix-authors' switches to the reference solver). */
  sinkhorn: SinkhornOptions;
  reconstructionWeight: number;
  /**
   * Scale of the reconstruction loss Lr: 'sum' (default) is the main paper's squared Euclidean
   * distance per image, summed over its H W C pixels and averaged over the batch; 'mean' divides
   * it by H W C (per-pixel MSE: 3072 times lighter on 32x32x3, 784 on 28x28x1). The KL term is
   * always per image, summed over the latent units.
   */
  reconstructionLoss: ReconstructionLoss;
  klWeight: number;
  /** Report the median test accuracy of the last N epochs beside the best. */
  lastN: number;
  /** Append one JSON line per batch (mode, lambda, losses, Sinkhorn diagnostics) to batches.jsonl. */
  logBatches: boolean;
}

export interface Protocol {
  description: string;
  config: TrainConfig;
}

const SGD_PAPER: OptimConfig = { lr: 0.1, momentum: 0.9, weightDecay: 1e-4, nesterov: false };
const DATA_DEFAULTS = { trainSplit: 'train' as const, augment: true, workers: 1, splitSeed: 0 };
const COMMON = {
  seed: 0, alpha: 2, sinkhorn: { solver: 'log' as const, eps: 0.1, maxIter: 100 },
  reconstructionWeight: 1, reconstructionLoss: 'sum' as const, klWeight: 1, lastN: 10, logBatches: true, method: 'alignmixup',
};

function preset(description: string, c: Omit<TrainConfig, keyof typeof COMMON | 'protocol'> & Partial<TrainConfig>): Omit<Protocol, 'config'> & { config: Omit<TrainConfig, 'protocol'> } {
  return { description, config: { ...COMMON, ...c } };
}

const PROTOCOLS: Record<string, Omit<Protocol, 'config'> & { config: Omit<TrainConfig, 'protocol'> }> = {
  'cifar10': preset('CIFAR-10, PreActResNet18 (papers: 2000 epochs, lr 0.1, x0.1 every 500)', {
    data: { name: 'cifar10', ...DATA_DEFAULTS },
    model: { arch: 'preact-resnet18', alignResolution: 'default' },
    optim: SGD_PAPER, schedule: { milestones: everyNEpochs(500, 2000), gamma: 0.1 },
    epochs: 2000, batchSize: 128, evalBatchSize: 500,
  }),
  'cifar100': preset('CIFAR-100, PreActResNet18 (papers: 2000 epochs, lr 0.1, x0.1 every 500)', {
    data: { name: 'cifar100', ...DATA_DEFAULTS },
    model: { arch: 'preact-resnet18', alignResolution: 'default' },
    optim: SGD_PAPER, schedule: { milestones: everyNEpochs(500, 2000), gamma: 0.1 },
    epochs: 2000, batchSize: 128, evalBatchSize: 500,
  }),
  'tinyimagenet': preset('TinyImageNet 64x64, PreActResNet18 (1200 epochs, x0.1 at 600, 900)', {
    data: { name: 'tinyimagenet', ...DATA_DEFAULTS },
    model: { arch: 'preact-resnet18', alignResolution: 'default' },
    optim: SGD_PAPER, schedule: { milestones: [600, 900], gamma: 0.1 },
    epochs: 1200, batchSize: 128, evalBatchSize: 250,
  }),
  'imagenet': preset('ImageNet, ResNet-50, 300 epochs (classifier lr 0.1, rest 0.01; x0.1 at 100, 200)', {
    data: { name: 'imagenet', ...DATA_DEFAULTS },
    model: { arch: 'resnet50', alignResolution: 'default' },
    optim: { ...SGD_PAPER, lr: 0.01, classifierLr: 0.1 }, schedule: { milestones: [100, 200], gamma: 0.1 },
    epochs: 300, batchSize: 100, evalBatchSize: 100,
  }),
  'imagenet100': preset('ImageNet, ResNet-50, 100 epochs; rates of the 300-epoch protocol with milestones scaled to 33, 67 (assumption: the papers give no numbers beyond "following Kim et al.")', {
    data: { name: 'imagenet', ...DATA_DEFAULTS },
    model: { arch: 'resnet50', alignResolution: 'default' },
    optim: { ...SGD_PAPER, lr: 0.01, classifierLr: 0.1 }, schedule: { milestones: [33, 67], gamma: 0.1 },
    epochs: 100, batchSize: 100, evalBatchSize: 100,
  }),
  'cub': preset('CUB-200-2011 WSOL, ResNet-50 with 14x14 maps (600 epochs, classifier lr 0.01, rest 0.001, x0.1 every 150, batch 16; papers start from ImageNet weights, not shipped here)', {
    data: { name: 'cub', ...DATA_DEFAULTS },
    model: { arch: 'resnet50', alignResolution: 'unstrided' },
    optim: { ...SGD_PAPER, lr: 0.001, classifierLr: 0.01 }, schedule: { milestones: everyNEpochs(150, 600), gamma: 0.1 },
    epochs: 600, batchSize: 16, evalBatchSize: 50,
  }),
  'fashion-mnist': preset('Fashion-MNIST (embedded, no download), small CNN, 30 epochs, lr 0.05, x0.1 at 15, 25; reconstruction loss as a per-pixel mean (reconstructionLoss \'mean\', 784 times lighter than the papers\' per-image sum, which keeps this small CNN at chance accuracy; see README)', {
    data: { name: 'fashion-mnist', ...DATA_DEFAULTS }, reconstructionLoss: 'mean',
    model: { arch: 'small-cnn', alignResolution: 'default' },
    optim: { ...SGD_PAPER, lr: 0.05, weightDecay: 5e-4 }, schedule: { milestones: [15, 25], gamma: 0.1 },
    epochs: 30, batchSize: 128, evalBatchSize: 500, lastN: 5,
  }),
  'synthetic': preset('synthetic shapes (seconds-long runs for tests and demos), small CNN', {
    data: { name: 'synthetic', ...DATA_DEFAULTS, workers: 0 },
    model: { arch: 'small-cnn', alignResolution: 'default', smallCnnWidths: [8, 16, 16, 16] },
    optim: { ...SGD_PAPER, lr: 0.05 }, schedule: { milestones: [], gamma: 0.1 },
    epochs: 2, batchSize: 32, evalBatchSize: 100, lastN: 2, logBatches: false,
  }),
};

export function protocolNames(): string[] {
  return Object.keys(PROTOCOLS);
}

export function protocolDescription(name: string): string {
  return getPreset(name).description;
}

function getPreset(name: string) {
  const p = PROTOCOLS[name];
  if (!p) throw new Error(`Unknown protocol '${name}'; known: ${protocolNames().join(', ')}`);
  return p;
}

/** Recursively partial, for overrides. */
export type ConfigOverrides = {
  [K in keyof TrainConfig]?: TrainConfig[K] extends unknown[] | undefined ? TrainConfig[K]
    : TrainConfig[K] extends object | undefined ? Partial<NonNullable<TrainConfig[K]>> : TrainConfig[K];
};

const TOP_KEYS: (keyof TrainConfig)[] = [
  'protocol', 'method', 'modes', 'seed', 'data', 'model', 'optim', 'schedule', 'epochs', 'batchSize',
  'evalBatchSize', 'alpha', 'sinkhorn', 'reconstructionWeight', 'reconstructionLoss', 'klWeight', 'lastN', 'logBatches',
];
const SECTION_KEYS: Record<string, string[]> = {
  data: ['name', 'root', 'download', 'trainPerClass', 'valPerClass', 'testPerClass', 'trainSplit', 'augment', 'workers', 'splitSeed'],
  model: ['arch', 'embedding', 'latentDim', 'alignResolution', 'smallCnnWidths'],
  optim: ['lr', 'classifierLr', 'momentum', 'weightDecay', 'nesterov'],
  schedule: ['milestones', 'gamma'],
  sinkhorn: ['solver', 'eps', 'epsMode', 'maxIter', 'tol', 'checkEvery', 'threshold', 'exactMarginal', 'warn'],
};

/**
 * The protocol's config with `overrides` applied (sections merge field by field). Choosing method
 * 'alignmix-authors' switches Sinkhorn to the authors' reference solver unless the overrides set
 * the solver. Validates the result.
 */
export function resolveConfig(protocol: string, overrides: ConfigOverrides = {}): TrainConfig {
  const base = getPreset(protocol).config;
  assertKnownKeys('config', overrides, TOP_KEYS);
  for (const [section, keys] of Object.entries(SECTION_KEYS)) {
    const o = (overrides as Record<string, unknown>)[section];
    if (o !== undefined) assertKnownKeys(`config.${section}`, o as object, keys);
  }
  const cfg: TrainConfig = {
    ...base,
    ...overrides,
    protocol,
    data: { ...base.data, ...overrides.data },
    model: { ...base.model, ...overrides.model },
    optim: { ...base.optim, ...overrides.optim },
    schedule: { ...base.schedule, ...overrides.schedule },
    sinkhorn: { ...base.sinkhorn, ...overrides.sinkhorn } as SinkhornOptions,
  } as TrainConfig;
  if (overrides.epochs !== undefined && overrides.schedule?.milestones === undefined) {
    cfg.schedule = { ...cfg.schedule, milestones: scaleMilestones(base.schedule.milestones, base.epochs, cfg.epochs) };
  }
  const spec = methodSpec(cfg.method);
  if (spec.sinkhorn === 'reference' && overrides.sinkhorn?.solver === undefined) {
    cfg.sinkhorn = { solver: 'reference' };
  }
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: TrainConfig): void {
  const w = 'config';
  assertKnownKeys(w, c, TOP_KEYS);
  methodSpec(c.method);
  if (c.modes) validateModeSchedule(c.modes);
  assertInt(w, 'seed', c.seed, 0);
  assertOneOf(`${w}.data`, 'name', c.data.name, DATASET_NAMES);
  assertOneOf(`${w}.data`, 'trainSplit', c.data.trainSplit, ['train', 'trainFull'] as const);
  assertInt(`${w}.data`, 'workers', c.data.workers, 0, 64);
  for (const k of ['trainPerClass', 'valPerClass', 'testPerClass'] as const) {
    if (c.data[k] !== undefined) assertInt(`${w}.data`, k, c.data[k] as number, 1);
  }
  assertPositive(`${w}.optim`, 'lr', c.optim.lr);
  if (c.optim.classifierLr !== undefined) assertPositive(`${w}.optim`, 'classifierLr', c.optim.classifierLr);
  validateSchedule(c.schedule, `${w}.schedule`);
  assertInt(w, 'epochs', c.epochs, 1);
  assertInt(w, 'batchSize', c.batchSize, 2);
  assertInt(w, 'evalBatchSize', c.evalBatchSize, 1);
  assertPositive(w, 'alpha', c.alpha);
  assertInRange(w, 'reconstructionWeight', c.reconstructionWeight, 0, Infinity);
  assertOneOf(w, 'reconstructionLoss', c.reconstructionLoss, RECONSTRUCTION_LOSSES);
  assertInRange(w, 'klWeight', c.klWeight, 0, Infinity);
  assertInt(w, 'lastN', c.lastN, 1);
}

/**
 * Apply "path=value" assignments (the CLI's --set) to overrides: `optim.lr=0.05`,
 * `data.trainPerClass=100`, `schedule.milestones=[10,20]`. Values are JSON when they parse as JSON,
 * else strings.
 */
export function applyAssignments(overrides: ConfigOverrides, assignments: string[]): ConfigOverrides {
  const out = JSON.parse(JSON.stringify(overrides)) as Record<string, unknown>;
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects path=value, got '${a}'`);
    const path = a.slice(0, eq).trim().split('.');
    const raw = a.slice(eq + 1).trim();
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    if (path.length > 2) throw new Error(`--set ${a}: paths have at most two parts (section.field)`);
    if (path.length === 1) {
      out[path[0]] = value;
    } else {
      const section = (out[path[0]] ?? {}) as Record<string, unknown>;
      section[path[1]] = value;
      out[path[0]] = section;
    }
  }
  return out as ConfigOverrides;
}
