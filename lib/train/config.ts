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
 *                     pretrained weights, which alignmix does not ship; training on CUB is not implemented
 *                     (the data loader stops with an error; lib/eval/cub.ts reads CUB for WSOL).
 *   fashion-mnist     the embedded default (no download): small CNN on 28x28 Fashion-MNIST.
 *   synthetic         seconds-long runs for tests and demos.
 *   <name>-authors    cifar10, cifar100, tinyimagenet, imagenet as the authors' public code trains
 *                     them (authorsPreset): full training set, best test accuracy reported,
 *                     method 'alignmix-authors'; TinyImageNet batch 256; ImageNet lr 0.1 for all
 *                     parameters, Nesterov, x0.1 every 75 epochs, batch 1024, colour jitter + PCA
 *                     lighting.
 * When `epochs` is overridden and the milestones are not, the milestones are scaled to the new
 * length, so quick runs keep the protocol's shape.
 */
import { SinkhornOptions, resolveSinkhornOptions } from '../ot/sinkhorn';
import { Arch, AlignResolution } from '../models/options';
import { EmbeddingKind } from '../models/embedding';
import { assertDataAvailable } from './data';
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
  /**
   * Add the authors' ImageNet colour augmentation after the crop and flip: colour jitter 0.4
   * (brightness, contrast, saturation in random order) and PCA lighting 0.1 (lib/data/augment.ts).
   */
  colorAugment?: boolean;
  /** Loader worker threads (0: assemble batches on the main thread). */
  workers: number;
  /** Seed of the validation holdout / dataset split. */
  splitSeed: number;
}

export interface ModelConfig {
  arch: Arch;
  /**
   * Second-stage encoder e (the arm). The method decides it (lib/train/methods.ts, name suffix
   * -gap | -fc | -flat); resolveConfig writes it here so config.json shows it, and a different
   * value is an error.
   */
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
  /** Draw lambda per example (both papers' Algorithm 1) instead of per batch (the authors' code; default). */
  lambdaPerExample?: boolean;
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

type PresetEntry = Omit<Protocol, 'config'> & { config: Omit<TrainConfig, 'protocol'> };

function preset(description: string, c: Omit<TrainConfig, keyof typeof COMMON | 'protocol'> & Partial<TrainConfig>): PresetEntry {
  return { description, config: { ...COMMON, ...c } };
}

const PROTOCOLS: Record<string, PresetEntry> = {
  'cifar10': preset('CIFAR-10, PreActResNet18 (papers: 2000 epochs, lr 0.1, x0.1 every 500; source: supplementary Sec. B)', {
    data: { name: 'cifar10', ...DATA_DEFAULTS },
    model: { arch: 'preact-resnet18', alignResolution: 'default' },
    optim: SGD_PAPER, schedule: { milestones: everyNEpochs(500, 2000), gamma: 0.1 },
    epochs: 2000, batchSize: 128, evalBatchSize: 500,
  }),
  'cifar100': preset('CIFAR-100, PreActResNet18 (papers: 2000 epochs, lr 0.1, x0.1 every 500; source: supplementary Sec. B)', {
    data: { name: 'cifar100', ...DATA_DEFAULTS },
    model: { arch: 'preact-resnet18', alignResolution: 'default' },
    optim: SGD_PAPER, schedule: { milestones: everyNEpochs(500, 2000), gamma: 0.1 },
    epochs: 2000, batchSize: 128, evalBatchSize: 500,
  }),
  'tinyimagenet': preset('TinyImageNet 64x64, PreActResNet18 (1200 epochs, x0.1 at 600, 900; source: supplementary Sec. B)', {
    data: { name: 'tinyimagenet', ...DATA_DEFAULTS },
    model: { arch: 'preact-resnet18', alignResolution: 'default' },
    optim: SGD_PAPER, schedule: { milestones: [600, 900], gamma: 0.1 },
    epochs: 1200, batchSize: 128, evalBatchSize: 250,
  }),
  'imagenet': preset('ImageNet, ResNet-50, 300 epochs (classifier lr 0.1, rest 0.01; x0.1 at 100, 200; source: supplementary Sec. B)', {
    data: { name: 'imagenet', ...DATA_DEFAULTS },
    model: { arch: 'resnet50', alignResolution: 'default' },
    optim: { ...SGD_PAPER, lr: 0.01, classifierLr: 0.1 }, schedule: { milestones: [100, 200], gamma: 0.1 },
    epochs: 300, batchSize: 100, evalBatchSize: 100,
  }),
  'imagenet100': preset('ImageNet, ResNet-50, 100 epochs; rates of the 300-epoch protocol with milestones scaled to 33, 67 (assumption: the papers give no numbers beyond "following Kim et al."; source: supplementary Sec. B + this project)', {
    data: { name: 'imagenet', ...DATA_DEFAULTS },
    model: { arch: 'resnet50', alignResolution: 'default' },
    optim: { ...SGD_PAPER, lr: 0.01, classifierLr: 0.1 }, schedule: { milestones: [33, 67], gamma: 0.1 },
    epochs: 100, batchSize: 100, evalBatchSize: 100,
  }),
  'cub': preset('CUB-200-2011 WSOL, ResNet-50 with 14x14 maps (600 epochs, classifier lr 0.01, rest 0.001, x0.1 every 150, batch 16; papers start from ImageNet weights, not shipped here; training on CUB is not implemented: lib/eval/cub.ts reads it for WSOL evaluation; source: supplementary Sec. B)', {
    data: { name: 'cub', ...DATA_DEFAULTS },
    model: { arch: 'resnet50', alignResolution: 'unstrided' },
    optim: { ...SGD_PAPER, lr: 0.001, classifierLr: 0.01 }, schedule: { milestones: everyNEpochs(150, 600), gamma: 0.1 },
    epochs: 600, batchSize: 16, evalBatchSize: 50,
  }),
  'fashion-mnist': preset('Fashion-MNIST (embedded, no download), small CNN, 30 epochs, lr 0.05, x0.1 at 15, 25; reconstruction loss as a per-pixel mean (reconstructionLoss \'mean\', 784 times lighter than the papers\' per-image sum, which keeps this small CNN at chance accuracy; see README) (source: this project)', {
    data: { name: 'fashion-mnist', ...DATA_DEFAULTS }, reconstructionLoss: 'mean',
    model: { arch: 'small-cnn', alignResolution: 'default' },
    optim: { ...SGD_PAPER, lr: 0.05, weightDecay: 5e-4 }, schedule: { milestones: [15, 25], gamma: 0.1 },
    epochs: 30, batchSize: 128, evalBatchSize: 500, lastN: 5,
  }),
  'synthetic': preset('synthetic shapes (seconds-long runs for tests and demos), small CNN (source: this project)', {
    data: { name: 'synthetic', ...DATA_DEFAULTS, workers: 0 },
    model: { arch: 'small-cnn', alignResolution: 'default', smallCnnWidths: [8, 16, 16, 16] },
    optim: { ...SGD_PAPER, lr: 0.05 }, schedule: { milestones: [], gamma: 0.1 },
    epochs: 2, batchSize: 32, evalBatchSize: 100, lastN: 2, logBatches: false,
  }),
};

PROTOCOLS['cifar10-authors'] = authorsPreset(PROTOCOLS.cifar10, 'CIFAR-10 as the authors\' code trains it');
PROTOCOLS['cifar100-authors'] = authorsPreset(PROTOCOLS.cifar100, 'CIFAR-100 as the authors\' code trains it');
PROTOCOLS['tinyimagenet-authors'] = authorsPreset(PROTOCOLS.tinyimagenet, 'TinyImageNet as the authors\' code trains it (batch 256)', { batchSize: 256 });
PROTOCOLS['imagenet-authors'] = authorsPreset(PROTOCOLS.imagenet, 'ImageNet, ResNet-50, as the authors\' code trains it: lr 0.1 for all parameters, Nesterov, x0.1 every 75 epochs of 300, batch 1024, colour jitter 0.4 and PCA lighting 0.1', {
  optim: { ...SGD_PAPER, nesterov: true }, schedule: { milestones: everyNEpochs(75, 300), gamma: 0.1 }, batchSize: 1024,
}, { colorAugment: true });

/**
 * The authors' code's version of a paper preset (their public repository, not the papers): method
 * 'alignmix-authors', the full training set (trainSplit 'trainFull': they hold out no validation
 * split and report the best test accuracy over training, summary.bestTestAccuracy; the
 * validation-selected figure beside it is then selected on images the model trained on), plus the
 * given changes.
 */
function authorsPreset(
  paper: PresetEntry, description: string, changes: Partial<Omit<TrainConfig, 'protocol'>> = {}, data: Partial<DataConfig> = {},
): PresetEntry {
  const base = paper.config;
  return {
    description: `${description}; full training set, best test accuracy reported (source: the authors' code)`,
    config: { ...base, ...changes, method: 'alignmix-authors', data: { ...base.data, ...data, trainSplit: 'trainFull' } },
  };
}

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
  'evalBatchSize', 'alpha', 'lambdaPerExample', 'sinkhorn', 'reconstructionWeight', 'reconstructionLoss', 'klWeight', 'lastN', 'logBatches',
];
const SECTION_KEYS: Record<string, string[]> = {
  data: ['name', 'root', 'download', 'trainPerClass', 'valPerClass', 'testPerClass', 'trainSplit', 'augment', 'colorAugment', 'workers', 'splitSeed'],
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
  cfg.model = { ...cfg.model, embedding: cfg.model.embedding ?? spec.embedding };
  if (spec.sinkhorn === 'reference' && overrides.sinkhorn?.solver === undefined) {
    cfg.sinkhorn = { solver: 'reference' };
  }
  validateConfig(cfg);
  return cfg;
}

export function validateConfig(c: TrainConfig): void {
  const w = 'config';
  assertKnownKeys(w, c, TOP_KEYS);
  const spec = methodSpec(c.method);
  if (c.model.embedding !== undefined && c.model.embedding !== spec.embedding) {
    throw new Error(`${w}.model.embedding is '${c.model.embedding}' but method '${c.method}' trains with e = '${spec.embedding}'; name the arm in the method instead (e.g. '${c.method.replace(/-(gap|fc|flat)$/, '')}-${c.model.embedding}')`);
  }
  if (c.modes) validateModeSchedule(c.modes);
  assertInt(w, 'seed', c.seed, 0);
  assertOneOf(`${w}.data`, 'name', c.data.name, DATASET_NAMES);
  assertOneOf(`${w}.data`, 'trainSplit', c.data.trainSplit, ['train', 'trainFull'] as const);
  assertInt(`${w}.data`, 'workers', c.data.workers, 0, 64);
  if (c.data.colorAugment && !c.data.augment) throw new Error(`${w}.data.colorAugment is set but data.augment is false: the colour augmentation follows the crop and flip`);
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
  if (c.lambdaPerExample !== undefined && typeof c.lambdaPerExample !== 'boolean') throw new Error(`${w}.lambdaPerExample must be true or false, got ${JSON.stringify(c.lambdaPerExample)}`);
  assertInRange(w, 'reconstructionWeight', c.reconstructionWeight, 0, Infinity);
  assertOneOf(w, 'reconstructionLoss', c.reconstructionLoss, RECONSTRUCTION_LOSSES);
  assertInRange(w, 'klWeight', c.klWeight, 0, Infinity);
  assertInt(w, 'lastN', c.lastN, 1);
  resolveSinkhornOptions(`${w}.sinkhorn`, c.sinkhorn);
}

/**
 * validateConfig, and the data the config names can be loaded (assertDataAvailable): what train()
 * and planSweep check before they write anything.
 */
export function validateRunnable(c: TrainConfig): void {
  validateConfig(c);
  assertDataAvailable(c.data);
}

/**
 * Apply "path=value" assignments (the CLI's --set) to overrides: `optim.lr=0.05`,
 * `data.trainPerClass=100`, `schedule.milestones=[10,20]`. Values are JSON when they parse as JSON,
 * else strings.
 */
export function applyAssignments(overrides: ConfigOverrides, assignments: string[]): ConfigOverrides {
  let out = overrides;
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects path=value, got '${a}'`);
    const raw = a.slice(eq + 1).trim();
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out = setOverride(out, a.slice(0, eq).trim(), value, `--set ${a}`);
  }
  return out;
}

/**
 * A copy of `overrides` with the field at `key` ('epochs', 'optim.lr': section.field) set to
 * `value`. Keys are checked when the overrides are resolved (resolveConfig).
 */
export function setOverride(overrides: ConfigOverrides, key: string, value: unknown, where = key): ConfigOverrides {
  const out = JSON.parse(JSON.stringify(overrides)) as Record<string, unknown>;
  const parts = key.split('.');
  if (parts.length > 2 || parts.some((p) => p === '')) throw new Error(`${where}: paths have one or two parts (field or section.field), got '${key}'`);
  if (parts.length === 1) {
    out[parts[0]] = value;
  } else {
    const section = (out[parts[0]] ?? {}) as Record<string, unknown>;
    if (typeof section !== 'object' || Array.isArray(section)) throw new Error(`${where}: '${parts[0]}' is not a config section`);
    section[parts[1]] = value;
    out[parts[0]] = section;
  }
  return out as ConfigOverrides;
}
