/**
 * The training loop: Algorithm 1 over epochs with the papers' optimiser and schedule, evaluation
 * on the validation and test splits after every epoch, a run directory, atomic checkpoints and
 * exact resume. The same function serves the CLI (`alignmix train`) and notebooks (callbacks for
 * live progress).
 *
 * Reproducibility: one seed; independent random streams (forks) for the weights, the data order
 * and augmentation, and the per-batch choices. A checkpoint holds the weights and batch-norm
 * statistics, the momentum buffers, the step stream's state and the loader's position, so a run
 * stopped and resumed ends with the same weights as one that was not (test/train/trainer.test.ts).
 *
 * Stopping: an aborted run (AbortSignal: Ctrl-C, or the SIGTERM / SIGUSR1 a scheduler sends before
 * a time limit or on preemption) finishes the batch in hand and writes last.ckpt at that batch:
 * the loader's position inside the epoch and the epoch's running sums (loss, images, modes,
 * Sinkhorn errors, seconds) go with it, so a resume continues with the next batch and the epoch's
 * record comes out as if it had never stopped. best.ckpt is only written at epoch ends.
 *
 * Reported accuracies: the best validation epoch selects best.ckpt; the summary gives the test
 * accuracy at that epoch, the best test accuracy over training (what the authors' code reports)
 * and the median test accuracy over the last N epochs (a less optimistic figure).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, describeBackend } from '../backend';
import { BatchLoader, Dataset, LoaderState, TransformSpec } from '../data/index';
import { withColorAugment } from '../data/augment';
import { collectPredictions, topOne } from '../eval/index';
import { createModel } from '../models/index';
import { AlignMixModel } from '../models/model';
import { ModelOptions } from '../models/factory';
import { Rng, RngState } from '../random';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { TrainConfig, validateRunnable } from './config';
import { loadTrainData } from './data';
import { MethodSpec, methodSpec } from './methods';
import { MixMode, ModeSchedule } from './modes';
import { SGD, SgdState, groupLearningRates } from './optim';
import {
  EpochRecord, RUN_FILES, RunSummary, openBatchLog, readRunConfig, runFile, writeMetrics, writeRunConfig, writeRunSummary,
} from './run-dir';
import { lrMultiplier } from './schedule';
import { NonFiniteLossError, StepResult, StepSettings, checkModesForModel, manifoldLayers, trainStep } from './step';
import { tensorboardCallbacks } from './tensorboard';

export type { EpochRecord, RunSummary } from './run-dir';

export interface BatchEvent {
  epoch: number;
  batch: number;
  batchesPerEpoch: number;
  step: StepResult;
  lr: number;
  /** Throughput of the epoch so far. */
  imagesPerSecond: number;
}

export interface TrainCallbacks {
  /** `batchesDone`: training batches already run (a resumed run's start); `valData`: the validation split. */
  onStart?(info: {
    runDir: string; config: TrainConfig; model: AlignMixModel; startEpoch: number; batchesPerEpoch: number; batchesDone: number;
    trainSize: number; valData: Dataset;
  }): void;
  onBatch?(event: BatchEvent): void;
  /** May be async: the trainer waits for it before the next epoch. */
  onEpoch?(record: EpochRecord, summary: RunSummary): void;
}

export interface TrainOptions {
  /** Run directory (created). Default runs/<protocol>-<method>-s<seed>-<timestamp>. */
  runDir?: string;
  /** Continue from runDir/last.ckpt. Without it, a runDir that already holds a checkpoint is an error. */
  resume?: boolean;
  /** Stop after the current batch when aborted, with last.ckpt at that batch (resume continues there). */
  signal?: AbortSignal;
  callbacks?: TrainCallbacks;
}

/** Every run logs to TensorBoard (./tensorboard) before the caller's callbacks see the event. */
function withTensorboard(callbacks: TrainCallbacks = {}): Required<TrainCallbacks> {
  const tb = tensorboardCallbacks();
  return {
    onStart: (info) => { tb.onStart?.(info); callbacks.onStart?.(info); },
    onBatch: (event) => { tb.onBatch?.(event); callbacks.onBatch?.(event); },
    onEpoch: async (record, summary) => { await tb.onEpoch?.(record, summary); await callbacks.onEpoch?.(record, summary); },
  };
}

export interface TrainResult {
  status: 'completed' | 'aborted';
  runDir: string;
  config: TrainConfig;
  history: EpochRecord[];
  summary: RunSummary;
  /** The trained model (last epoch). The caller disposes it. */
  model: AlignMixModel;
}

/** The running sums of an epoch stopped part-way (see PartialEpoch in a mid-epoch checkpoint). */
interface EpochProgress {
  lossSum: number;
  images: number;
  batches: number;
  modeCounts: Partial<Record<MixMode, number>>;
  rowErrors: number[];
  seconds: number;
}

interface CheckpointMeta {
  format: 'alignmix-run';
  epochsDone: number;
  /** Present when the checkpoint was written inside epoch epochsDone + 1 (an aborted run). */
  partialEpoch?: EpochProgress;
  config: TrainConfig;
  history: EpochRecord[];
  stepRng: RngState;
  loader: LoaderState;
  optimizerStep: number;
  batchLogLines: number;
}

/** Model options for a config: the method decides e, the decoder and the latent form (validateConfig checks model.embedding against it). */
export function modelOptionsFor(config: TrainConfig, data: Dataset, spec: MethodSpec = methodSpec(config.method)): ModelOptions {
  const o: ModelOptions = {
    arch: config.model.arch,
    numClasses: data.numClasses,
    inputShape: data.imageShape,
    embedding: spec.embedding,
    decoder: spec.decoder !== 'none',
    vae: spec.decoder === 'vae',
    alignResolution: config.model.alignResolution,
  };
  if (config.model.latentDim !== undefined) o.latentDim = config.model.latentDim;
  if (config.model.smallCnnWidths) o.smallCnnWidths = config.model.smallCnnWidths;
  return o;
}

/** The training transform a data config asks for: the dataset's augmentation (plus the authors' colour augmentation), or none. */
function trainTransform(c: TrainConfig['data'], d: Dataset): TransformSpec {
  if (!c.augment) return d.transforms.eval;
  return c.colorAugment ? withColorAugment(d.transforms.train) : d.transforms.train;
}

/** Top-1 accuracy of `model` on a loader's next pass. */
export async function accuracyOn(model: AlignMixModel, loader: BatchLoader): Promise<number> {
  const preds = await collectPredictions(model, loader);
  return topOne(preds.labels, preds.predicted).accuracy;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(config: TrainConfig, history: EpochRecord[], trainSeconds: number): RunSummary {
  const argmax = (key: 'valAccuracy' | 'testAccuracy') =>
    history.reduce((best, r, i) => (r[key] > history[best][key] ? i : best), 0);
  const bv = argmax('valAccuracy');
  const bt = argmax('testAccuracy');
  const lastN = Math.min(config.lastN, history.length);
  return {
    protocol: config.protocol,
    method: config.method,
    seed: config.seed,
    epochs: history.length,
    bestValAccuracy: history[bv].valAccuracy,
    bestValEpoch: history[bv].epoch,
    testAccuracyAtBestVal: history[bv].testAccuracy,
    bestTestAccuracy: history[bt].testAccuracy,
    bestTestEpoch: history[bt].epoch,
    medianLastNTestAccuracy: median(history.slice(-lastN).map((r) => r.testAccuracy)),
    lastN,
    finalTestAccuracy: history[history.length - 1].testAccuracy,
    trainSeconds,
  };
}

function defaultRunDir(config: TrainConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return path.join('runs', `${config.protocol}-${config.method}-s${config.seed}-${stamp}`);
}

function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('../../package.json').version;
  } catch {
    return 'unknown';
  }
}

/** Train `config` (already resolved, see resolveConfig). */
export async function train(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  validateRunnable(config);
  const runDir = path.resolve(options.runDir ?? defaultRunDir(config));
  const lastFile = runFile(runDir, 'last');
  let resumeFrom: ReturnType<typeof loadCheckpoint<CheckpointMeta>> | null = null;
  if (fs.existsSync(lastFile)) {
    if (!options.resume) {
      throw new Error(`${runDir} already holds a run (${RUN_FILES.last}); resume it with resume: true (CLI --resume) or choose another run directory`);
    }
    resumeFrom = loadCheckpoint<CheckpointMeta>(lastFile);
    if (resumeFrom.meta.format !== 'alignmix-run') throw new Error(`${lastFile} is not a training checkpoint`);
    const saved = JSON.stringify(resumeFrom.meta.config);
    if (saved !== JSON.stringify(config)) {
      tf.dispose(Object.values(resumeFrom.tensors));
      throw new Error(`cannot resume ${runDir}: the config differs from the one it was started with (see ${RUN_FILES.config}); resume with the saved config (loadRunConfig)`);
    }
  } else if (options.resume) {
    throw new Error(`cannot resume: no checkpoint at ${lastFile}`);
  }
  fs.mkdirSync(runDir, { recursive: true });

  const spec = methodSpec(config.method);
  const schedule: ModeSchedule = config.modes ?? spec.modes;
  const master = new Rng(config.seed);
  const data = await loadTrainData(config.data);
  const model = createModel(modelOptionsFor(config, data.train, spec), master.fork('model'));
  const loaders: BatchLoader[] = [];
  const optimizer = new SGD(model.parameterGroups(), {
    momentum: config.optim.momentum, weightDecay: config.optim.weightDecay, nesterov: config.optim.nesterov,
  });
  try {
    checkModesForModel(schedule, model);
    const trainLoader = new BatchLoader(data.train, {
      batchSize: config.batchSize, shuffle: true, dropLast: true, transform: trainTransform(config.data, data.train),
      seed: master.fork('data'), workers: config.data.workers,
    });
    const evalLoader = (d: Dataset) => new BatchLoader(d, { batchSize: config.evalBatchSize, shuffle: false, workers: config.data.workers });
    const valLoader = evalLoader(data.val);
    const testLoader = evalLoader(data.test);
    loaders.push(trainLoader, valLoader, testLoader);
    const stepRng = master.fork('step');
    let history: EpochRecord[] = [];
    let startEpoch = 0;
    let batchLogLines = 0;
    let resumedProgress: EpochProgress | undefined;

    if (resumeFrom) {
      const { meta, tensors } = resumeFrom;
      const modelState: Record<string, tf.Tensor> = {};
      const buffers: Record<string, tf.Tensor> = {};
      for (const [k, t] of Object.entries(tensors)) {
        if (k.startsWith('model/')) modelState[k.slice(6)] = t;
        else if (k.startsWith('momentum/')) buffers[k.slice(9)] = t;
      }
      model.loadStateDict(modelState);
      optimizer.setState({ step: meta.optimizerStep, buffers } as SgdState);
      tf.dispose(Object.values(tensors));
      stepRng.setState(meta.stepRng);
      trainLoader.setState(meta.loader);
      history = meta.history;
      startEpoch = meta.epochsDone;
      batchLogLines = meta.batchLogLines;
      resumedProgress = meta.partialEpoch;
    } else {
      const info = backendInfo();
      writeRunConfig(runDir, {
        config, backend: { ...info, description: describeBackend(info) }, alignmix: packageVersion(),
        node: process.version, host: { cpus: os.cpus().length, platform: os.platform() }, started: new Date().toISOString(),
        model: { parameters: model.numParameters(), featureShape: model.featureShape, latentShape: model.latentShape },
      });
    }
    const logBatch = config.logBatches ? openBatchLog(runDir, batchLogLines) : null;
    const settings: StepSettings = {
      alpha: config.alpha, sinkhorn: config.sinkhorn, reconstructionWeight: config.reconstructionWeight,
      klWeight: config.klWeight, manifoldLayers: manifoldLayers(model), plan: spec.plan,
      lambdaPerExample: config.lambdaPerExample ?? false,
      reconstructionLoss: config.reconstructionLoss, cleanClassification: spec.cleanClassification,
    };
    const baseLr = { body: config.optim.lr, classifier: config.optim.classifierLr ?? config.optim.lr };
    const callbacks = withTensorboard(options.callbacks);
    callbacks.onStart({
      runDir, config, model, startEpoch, batchesPerEpoch: trainLoader.batchesPerEpoch,
      batchesDone: startEpoch * trainLoader.batchesPerEpoch + (resumedProgress?.batches ?? 0), trainSize: data.train.size, valData: data.val,
    });
    let trainSeconds = history.reduce((s, r) => s + r.seconds, 0);

    /** last.ckpt (and best.ckpt when `best`) from the current state; `progress` marks a mid-epoch one. */
    const checkpoint = (epochsDone: number, best: boolean, progress?: EpochProgress) => {
      const meta: CheckpointMeta = {
        format: 'alignmix-run', epochsDone, ...(progress ? { partialEpoch: progress } : {}), config, history,
        stepRng: stepRng.getState(), loader: trainLoader.getState(), optimizerStep: optimizer.steps, batchLogLines,
      };
      const tensors: Record<string, tf.Tensor> = {};
      for (const [k, t] of Object.entries(model.stateDict())) tensors[`model/${k}`] = t;
      for (const [k, t] of Object.entries(optimizer.getState().buffers)) tensors[`momentum/${k}`] = t;
      try {
        saveCheckpoint(lastFile, tensors, meta);
        if (best) saveCheckpoint(runFile(runDir, 'best'), tensors, meta);
      } finally {
        tf.dispose(Object.values(tensors));
      }
    };

    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      if (options.signal?.aborted) return finish('aborted');
      const lr = groupLearningRates(baseLr, lrMultiplier(config.schedule, epoch));
      const resumed = resumedProgress;
      resumedProgress = undefined;
      const t0 = Date.now() - (resumed?.seconds ?? 0) * 1000;
      let lossSum = resumed?.lossSum ?? 0;
      let images = resumed?.images ?? 0;
      let batchIndex = resumed?.batches ?? 0;
      const modeCounts: Partial<Record<MixMode, number>> = { ...resumed?.modeCounts };
      const rowErrors: number[] = [...(resumed?.rowErrors ?? [])];
      for await (const { x, y } of trainLoader) {
        let step: StepResult;
        try {
          step = trainStep(model, optimizer, x, y, schedule, settings, lr, stepRng);
        } catch (e) {
          if (e instanceof NonFiniteLossError) {
            const kept = history.length ? `the last good checkpoint is ${lastFile} (after epoch ${history.length})` : 'no epoch had completed, so there is no checkpoint';
            throw new NonFiniteLossError(`training stopped at epoch ${epoch + 1}, batch ${batchIndex + 1}: ${e.message}; ${kept}`);
          }
          throw e;
        } finally {
          tf.dispose([x, y]);
        }
        lossSum += step.losses.total * x.shape[0];
        images += x.shape[0];
        modeCounts[step.mode] = (modeCounts[step.mode] ?? 0) + 1;
        if (step.sinkhorn) rowErrors.push(step.sinkhorn.rowError);
        const ips = images / Math.max(1e-3, (Date.now() - t0) / 1000);
        if (logBatch) {
          const d = step.sinkhorn;
          logBatch({
            epoch: epoch + 1, batch: batchIndex + 1, mode: step.mode, lambda: step.lambda, targetWeight: step.targetWeight,
            ...(step.layer !== undefined ? { layer: step.layer } : {}), losses: step.losses, lr: lr.body,
            ...(d ? { sinkhorn: { iterations: d.iterations, rowError: d.rowError, colError: d.colError, converged: d.converged } } : {}),
          });
          batchLogLines++;
        }
        callbacks.onBatch({ epoch: epoch + 1, batch: batchIndex + 1, batchesPerEpoch: trainLoader.batchesPerEpoch, step, lr: lr.body, imagesPerSecond: ips });
        batchIndex++;
        // The loader's batches resolve as microtasks, which never give signal handlers (Ctrl-C,
        // SIGTERM) a turn: yield to the event loop once per batch so an abort can arrive.
        if (options.signal) await new Promise((resolve) => setImmediate(resolve));
        // After the epoch's last batch the epoch is finished normally (evaluated, checkpointed).
        if (options.signal?.aborted && batchIndex < trainLoader.batchesPerEpoch) {
          checkpoint(epoch, false, { lossSum, images, batches: batchIndex, modeCounts, rowErrors, seconds: (Date.now() - t0) / 1000 });
          return finish('aborted');
        }
      }
      const seconds = (Date.now() - t0) / 1000;
      const record: EpochRecord = {
        epoch: epoch + 1,
        lr: lr.body,
        trainLoss: lossSum / images,
        valAccuracy: await accuracyOn(model, valLoader),
        testAccuracy: await accuracyOn(model, testLoader),
        seconds,
        imagesPerSecond: images / seconds,
        modes: Object.entries(modeCounts).map(([m, n]) => `${m}:${n}`).join(' '),
        sinkhornRowError: rowErrors.length ? rowErrors.reduce((a, b) => a + b, 0) / rowErrors.length : NaN,
      };
      trainSeconds += seconds;
      history = [...history, record];
      const summary = summarize(config, history, trainSeconds);
      checkpoint(epoch + 1, summary.bestValEpoch === record.epoch);
      writeMetrics(runDir, history);
      writeRunSummary(runDir, summary);
      await callbacks.onEpoch(record, summary);
    }
    return finish('completed');

    function finish(status: TrainResult['status']): TrainResult {
      const summary = history.length ? summarize(config, history, trainSeconds) : emptySummary(config);
      // A process stopped between the last checkpoint and its summary leaves the summary one epoch behind.
      if (history.length) writeRunSummary(runDir, summary);
      return { status, runDir, config, history, summary, model };
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimizer.dispose();
    await Promise.all(loaders.map((l) => l.close()));
  }
}

function emptySummary(config: TrainConfig): RunSummary {
  return {
    protocol: config.protocol, method: config.method, seed: config.seed, epochs: 0, bestValAccuracy: NaN, bestValEpoch: 0,
    testAccuracyAtBestVal: NaN, bestTestAccuracy: NaN, bestTestEpoch: 0, medianLastNTestAccuracy: NaN, lastN: config.lastN,
    finalTestAccuracy: NaN, trainSeconds: 0,
  };
}

/** The config a run was started with (readRunConfig, under the name the CLI and notebooks know). */
export const loadRunConfig = readRunConfig;

/**
 * The model of a run, with the weights of its best (default) or last checkpoint. The caller
 * disposes it.
 */
export async function loadRunModel(runDir: string, which: 'best' | 'last' = 'best'): Promise<{ model: AlignMixModel; config: TrainConfig; data: Awaited<ReturnType<typeof loadTrainData>> }> {
  const config = loadRunConfig(runDir);
  const data = await loadTrainData(config.data);
  const ckpt = loadCheckpoint<CheckpointMeta>(runFile(runDir, which));
  const model = createModel(modelOptionsFor(config, data.train), new Rng(config.seed).fork('model'));
  const state: Record<string, tf.Tensor> = {};
  for (const [k, t] of Object.entries(ckpt.tensors)) if (k.startsWith('model/')) state[k.slice(6)] = t;
  try {
    model.loadStateDict(state);
  } finally {
    tf.dispose(Object.values(ckpt.tensors));
  }
  return { model, config, data };
}
