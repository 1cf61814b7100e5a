/**
 * Sweeps: many training runs of one protocol, planned and validated together, each in its own run
 * directory, run by any launcher (this machine, a Slurm job array) and read back from disk.
 *
 * A sweep spec (JSON file or an object built in a notebook):
 *
 *   {
 *     "protocol": "fashion-mnist",                       base preset (resolveConfig)
 *     "setting": "full" | "quick",                       quick: planExperiment's cut-down config
 *     "overrides": { "epochs": 5, "data": { ... } },      every run
 *     "grid": { "method": ["baseline", "cutmix"], "optim.lr": [0.05, 0.1] },   cartesian product
 *       or "variants": { "no mixup": { "method": "baseline" }, ... },         named overrides
 *       or "configs": { "name": <resolved TrainConfig>, ... },               configs as they are
 *     "seeds": [0, 1, 2]                                 every variant once per seed
 *     "slurm": { "partition": "gpu", "time": "4:00:00" } Slurm launcher options (./slurm-options.ts)
 *   }
 *
 * Run i's config is resolveConfig(protocol, overrides ⊕ variant ⊕ {seed}) (section by section,
 * later wins). Runs are ordered seed by seed, variants in order within a seed, and named
 * `<variant>-s<seed>`: grid variants are named by their values ('cutmix' for a one-key grid,
 * 'method=cutmix,optim.lr=0.1' otherwise).
 *
 * planSweep validates every run's full config, including that its dataset can be loaded
 * (validateRunnable), before anything is written; errors name the run and the key.
 *
 * The sweep directory:
 *   sweep.json           the spec and every run's resolved config (what workers read)
 *   runs/<id>/           one run directory per run (lib/train/run-dir.ts), with status.json
 *                        and run.log
 *
 * runSweepRun(dir, i) is the one entry that runs run i (CLI: `alignmix sweep worker DIR --index
 * i`): it skips a completed run, resumes an unfinished one exactly from its last checkpoint, and
 * records the outcome in status.json (completed, cancelled by a signal, failed with its error).
 * runSweep(dir, launcher) hands the runs that are not completed to a Launcher; running a sweep
 * again therefore continues it. sweepStatus and collectSweep read everything back from the run
 * directories, so no process has to stay alive for results to survive.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertInt, assertKnownKeys, assertOneOf } from '../validate';
import { ConfigOverrides, TrainConfig, resolveConfig, setOverride, validateRunnable } from './config';
import { QuickSize, QUICK_SIZE, mergeOverrides, planExperiment } from './plan';
import {
  RunState, RunStatus, RunSummary, appendRunLog, readMetrics, readRunStatus, readRunSummary, runFile, toCsvLine,
  writeJsonAtomic, writeRunStatus,
} from './run-dir';
import { SlurmOptions, checkSlurmOptions } from './slurm-options';
import { NonFiniteLossError } from './step';
import { TrainCallbacks, train } from './trainer';

export interface SweepSpec {
  /** Base protocol (resolveConfig preset). */
  protocol: string;
  /** 'full' (default): the protocol's config; 'quick': planExperiment's quick setting (lib/train/plan.ts). */
  setting?: 'full' | 'quick';
  /** Quick setting: sizes (default QUICK_SIZE) and the data root to look for the protocol's dataset in. */
  quickSize?: Partial<QuickSize>;
  dataRoot?: string;
  /** Overrides of every run. */
  overrides?: ConfigOverrides;
  /** Config key ('method', 'optim.lr') -> values: one variant per combination. */
  grid?: Record<string, unknown[]>;
  /** Named overrides: one variant each. */
  variants?: Record<string, ConfigOverrides>;
  /** Named resolved configs (e.g. from planExperiment), run as they are. */
  configs?: Record<string, TrainConfig>;
  /** Seeds; each variant runs once per seed (default: the config's own seed). */
  seeds?: number[];
  /** Slurm launcher options (partition, gpus, time, ...: ./slurm-options.ts); the command line's override them. */
  slurm?: SlurmOptions;
}

const SPEC_KEYS = ['protocol', 'setting', 'quickSize', 'dataRoot', 'overrides', 'grid', 'variants', 'configs', 'seeds', 'slurm'];

export interface SweepRun {
  index: number;
  /** Stable name and folder: `<variant>-s<seed>`. */
  id: string;
  variant: string;
  seed: number;
  config: TrainConfig;
}

export interface SweepPlan {
  spec: SweepSpec;
  runs: SweepRun[];
}

/** sweep.json. */
interface SweepFile extends SweepPlan {
  format: 'alignmix-sweep';
  version: 1;
  created: string;
}

export const SWEEP_FILE = 'sweep.json';

/** A folder name from a run id: letters, digits and . = , + - kept, anything else '_'. */
function safeName(id: string): string {
  return id.replace(/[^\w.=,+-]+/g, '_');
}

/** The named variants of a spec (overrides, or resolved configs). */
function variantsOf(spec: SweepSpec): [string, { overrides?: ConfigOverrides; config?: TrainConfig }][] {
  const where = 'sweep spec';
  const forms = (['grid', 'variants', 'configs'] as const).filter((k) => spec[k] !== undefined);
  if (forms.length > 1) throw new Error(`${where}: give one of grid, variants, configs; got ${forms.join(' and ')}`);
  if (spec.configs) return Object.entries(spec.configs).map(([name, config]) => [name, { config }]);
  if (spec.variants) return Object.entries(spec.variants).map(([name, overrides]) => [name, { overrides }]);
  if (spec.grid) {
    const keys = Object.keys(spec.grid);
    let combos: [string, unknown][][] = [[]];
    for (const key of keys) {
      const values = spec.grid[key];
      if (!Array.isArray(values) || values.length === 0) throw new Error(`${where}: grid.${key} must be a non-empty array of values`);
      combos = combos.flatMap((c) => values.map((v) => [...c, [key, v] as [string, unknown]]));
    }
    return combos.map((combo) => {
      const name = combo.map(([k, v]) => (keys.length === 1 ? String(v) : `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)).join(',');
      const overrides = combo.reduce<ConfigOverrides>((o, [k, v]) => setOverride(o, k, v, `${where}: grid key '${k}'`), {});
      return [name, { overrides }];
    });
  }
  return [['base', { overrides: {} }]];
}

/**
 * Every run of a sweep with its validated config. Throws, before anything is written, on the
 * first run whose config is invalid or whose data is missing; the error names the run and the key.
 */
export function planSweep(spec: SweepSpec): SweepPlan {
  const where = 'sweep spec';
  if (spec === null || typeof spec !== 'object') throw new Error(`${where}: expected an object`);
  assertKnownKeys(where, spec, SPEC_KEYS);
  if (typeof spec.protocol !== 'string') throw new Error(`${where}: protocol must be a preset name (string), got ${JSON.stringify(spec.protocol)}`);
  const setting = assertOneOf(where, 'setting', spec.setting ?? 'full', ['full', 'quick'] as const);
  assertKnownKeys(`${where}: quickSize`, spec.quickSize ?? {}, Object.keys(QUICK_SIZE));
  if (spec.slurm !== undefined) checkSlurmOptions(`${where}: slurm`, spec.slurm);
  if (spec.seeds !== undefined) {
    if (!Array.isArray(spec.seeds) || spec.seeds.length === 0) throw new Error(`${where}: seeds must be a non-empty array of integers`);
    spec.seeds.forEach((s, i) => assertInt(where, `seeds[${i}]`, s, 0));
  }
  if (setting === 'full') {
    const quickOnly = (['quickSize', 'dataRoot'] as const).filter((k) => spec[k] !== undefined);
    if (quickOnly.length) throw new Error(`${where}: only setting 'quick' uses ${quickOnly.join(' and ')} (set data.root in overrides for the full setting)`);
  }
  if (spec.configs !== undefined && spec.overrides !== undefined) throw new Error(`${where}: configs are run as they are; put the overrides into them instead of giving overrides`);
  const variants = variantsOf(spec);
  const seeds: (number | undefined)[] = spec.seeds ?? [undefined];
  const runs: SweepRun[] = [];
  for (const seed of seeds) {
    for (const [variant, v] of variants) {
      const index = runs.length;
      const label = `${variant}${seed === undefined ? '' : `-s${seed}`}`;
      try {
        const config = v.config ? { ...v.config, ...(seed === undefined ? {} : { seed }) } : configOf(spec, setting, mergeOverrides(spec.overrides, v.overrides, seed === undefined ? {} : { seed }));
        validateRunnable(config);
        runs.push({ index, id: safeName(`${variant}-s${config.seed}`), variant, seed: config.seed, config });
      } catch (e) {
        throw new Error(`sweep run ${index} (${label}): ${(e as Error).message}`);
      }
    }
  }
  const seen = new Map<string, number>();
  for (const r of runs) {
    const other = seen.get(r.id);
    if (other !== undefined) throw new Error(`sweep spec: runs ${other} and ${r.index} have the same id '${r.id}'; give the variants distinct names or seeds`);
    seen.set(r.id, r.index);
  }
  return { spec, runs };
}

function configOf(spec: SweepSpec, setting: 'full' | 'quick', overrides: ConfigOverrides): TrainConfig {
  if (setting === 'full') return resolveConfig(spec.protocol, overrides);
  const method = overrides.method ?? resolveConfig(spec.protocol).method;
  return planExperiment({ protocol: spec.protocol, method, quick: true, dataRoot: spec.dataRoot, quickSize: spec.quickSize, overrides }).config;
}

/** The run directory of run `id` in sweep `dir`. */
export function sweepRunDir(dir: string, run: Pick<SweepRun, 'id'>): string {
  return path.join(dir, 'runs', run.id);
}

/**
 * Plan `spec` and write the sweep directory `dir` (nothing is written when planning fails). A
 * directory that already holds the same spec is kept as it is (its runs continue); one holding a
 * different spec is an error.
 */
export function createSweep(dir: string, spec: SweepSpec): SweepPlan {
  const plan = planSweep(spec);
  const file = path.join(dir, SWEEP_FILE);
  if (fs.existsSync(file)) {
    const existing = readSweep(dir);
    if (JSON.stringify(existing.spec) !== JSON.stringify(JSON.parse(JSON.stringify(spec)))) {
      throw new Error(`${dir} already holds a different sweep (${SWEEP_FILE}); choose another directory, or run that sweep (alignmix sweep run ${dir})`);
    }
    return existing;
  }
  fs.mkdirSync(path.join(dir, 'runs'), { recursive: true });
  const out: SweepFile = { format: 'alignmix-sweep', version: 1, created: new Date().toISOString(), ...plan };
  writeJsonAtomic(file, out);
  return plan;
}

/** The spec and runs of the sweep in `dir`. */
export function readSweep(dir: string): SweepPlan {
  const file = path.join(dir, SWEEP_FILE);
  if (!fs.existsSync(file)) throw new Error(`${dir} is not a sweep directory (no ${SWEEP_FILE})`);
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as SweepFile;
  if (s.format !== 'alignmix-sweep') throw new Error(`${file} is not an alignmix sweep file`);
  return { spec: s.spec, runs: s.runs };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface SweepRunOptions {
  /** Stop between batches (the run stays resumable; status 'cancelled'). */
  signal?: AbortSignal;
  /** Passed on to train() (live curves, terminal progress). */
  callbacks?: TrainCallbacks;
}

/**
 * Run run `index` of the sweep in `dir` in this process: nothing when it is completed, an exact
 * resume from last.ckpt when it was started before, a fresh run otherwise. The outcome is written
 * to the run's status.json (and returned); progress and any error go to its run.log. Refuses a run
 * that a live process on this host holds.
 */
export async function runSweepRun(dir: string, index: number, options: SweepRunOptions = {}): Promise<RunStatus> {
  const { runs } = readSweep(dir);
  if (!Number.isInteger(index) || index < 0 || index >= runs.length) {
    throw new Error(`--index ${index}: the sweep in ${dir} has ${runs.length} runs (0..${runs.length - 1})`);
  }
  const run = runs[index];
  const runDir = sweepRunDir(dir, run);
  fs.mkdirSync(runDir, { recursive: true });
  const previous = readRunStatus(runDir);
  if (previous?.state === 'completed') return previous;
  const host = os.hostname();
  if (previous?.state === 'running' && previous.host === host && previous.pid !== process.pid && isAlive(previous.pid)) {
    throw new Error(`run ${index} (${run.id}) is being run by process ${previous.pid} on ${host}`);
  }
  const resume = fs.existsSync(runFile(runDir, 'last'));
  const status = (state: RunState, extra: Partial<RunStatus> = {}): RunStatus => ({
    state, updated: new Date().toISOString(), pid: process.pid, host, attempts: (previous?.attempts ?? 0) + 1,
    epochsDone: readMetrics(runDir).length, epochs: run.config.epochs, ...extra,
  });
  const log = (line: string) => appendRunLog(runDir, `[${new Date().toISOString()}] ${line}`);
  writeRunStatus(runDir, status('running'));
  log(`run ${index} (${run.id}): ${resume ? 'resuming from its last checkpoint' : 'starting'} (pid ${process.pid} on ${host})`);
  const callbacks: TrainCallbacks = {
    ...options.callbacks,
    onEpoch: async (record, summary) => {
      log(`epoch ${record.epoch}/${run.config.epochs}: loss ${record.trainLoss.toFixed(4)}, val ${record.valAccuracy.toFixed(4)}, test ${record.testAccuracy.toFixed(4)}, ${record.seconds.toFixed(1)} s`);
      writeRunStatus(runDir, status('running', { epochsDone: record.epoch }));
      await options.callbacks?.onEpoch?.(record, summary);
    },
  };
  let final: RunStatus;
  try {
    const result = await train(run.config, { runDir, resume, signal: options.signal, callbacks });
    result.model.dispose();
    final = status(result.status === 'completed' ? 'completed' : 'cancelled');
    log(result.status === 'completed' ? 'completed' : `cancelled after ${final.epochsDone} epochs; running the sweep again resumes it`);
  } catch (e) {
    const err = e as Error;
    final = status('failed', { error: err.message, ...(e instanceof NonFiniteLossError ? { nonFinite: true } : {}) });
    log(`failed: ${err.stack ?? err.message}`);
  }
  writeRunStatus(runDir, final);
  return final;
}

/* ------------------------------------------------------------------------------------ launchers */

export interface LaunchEvent {
  kind: 'started' | 'stopped';
  index: number;
  id: string;
  /** Local workers: the worker's process id. */
  pid?: number;
  /** 'stopped': the run's status as its worker left it. */
  status?: RunStatus | null;
}

export interface LaunchOptions {
  /** Stop: no new runs start; running workers are asked to stop between batches (resumable). */
  signal?: AbortSignal;
  /** Called as runs start and stop (local launchers) or are queued. */
  onEvent?: (event: LaunchEvent) => void;
  /** In-process runs: train() callbacks for run `index` (live curves). */
  callbacks?: (run: SweepRun) => TrainCallbacks | undefined;
}

export interface LaunchReport {
  launcher: string;
  /** Indices handed to the launcher. */
  submitted: number[];
  /** True when the runs have stopped by the time submit resolves (local); false when queued (Slurm). */
  waited: boolean;
  /** One line for the user, e.g. the Slurm job id. */
  note?: string;
}

/**
 * Something that runs runs of a sweep. Each run is `alignmix sweep worker DIR --index i`
 * (runSweepRun), wherever it executes; results are read back from the run directories, so a
 * launcher only starts work and says what it knows of runs that have no status yet.
 */
export interface Launcher {
  readonly name: string;
  /** Start runs `indices` of the sweep in `dir`. */
  submit(dir: string, indices: readonly number[], options?: LaunchOptions): Promise<LaunchReport>;
  /** Notes on runs without a final status (e.g. 'queued (job 123_4)'), by index. */
  describe?(dir: string): Promise<Map<number, string>>;
}

/**
 * The sweep loop shared by the CLI, the notebooks and `alignmix compare`: hand every run of the
 * sweep in `dir` that is not completed to `launcher` (all runs completed: nothing to do).
 */
export async function runSweep(dir: string, launcher: Launcher, options: LaunchOptions = {}): Promise<LaunchReport> {
  const { runs } = readSweep(dir);
  const pending = runs.filter((r) => readRunStatus(sweepRunDir(dir, r))?.state !== 'completed').map((r) => r.index);
  if (pending.length === 0) return { launcher: launcher.name, submitted: [], waited: true, note: 'every run is completed' };
  return launcher.submit(dir, pending, options);
}

/* ------------------------------------------------------------------------------- status, collect */

/** A run's state as read from disk: 'pending' before a worker started it, 'lost' when its worker on this host died. */
export type SweepRunState = RunState | 'pending' | 'lost';

export interface SweepRunView {
  index: number;
  id: string;
  variant: string;
  seed: number;
  state: SweepRunState;
  epochsDone: number;
  epochs: number;
  runDir: string;
  logFile: string;
  /** Last epoch's figures, when one finished. */
  summary?: RunSummary;
  error?: string;
  nonFinite?: boolean;
}

/** Every run of the sweep in `dir` as its run directory has it. */
export function sweepStatus(dir: string): SweepRunView[] {
  const { runs } = readSweep(dir);
  return runs.map((r) => {
    const runDir = sweepRunDir(dir, r);
    const status = readRunStatus(runDir);
    let state: SweepRunState = status?.state ?? 'pending';
    if (status?.state === 'running' && status.host === os.hostname() && !isAlive(status.pid)) state = 'lost';
    const view: SweepRunView = {
      index: r.index, id: r.id, variant: r.variant, seed: r.seed, state, epochsDone: readMetrics(runDir).length,
      epochs: r.config.epochs, runDir, logFile: runFile(runDir, 'log'),
    };
    if (fs.existsSync(runFile(runDir, 'summary'))) view.summary = readRunSummary(runDir);
    if (status?.error) view.error = status.error;
    if (status?.nonFinite) view.nonFinite = true;
    return view;
  });
}

/** Sample mean and standard deviation (NaN for fewer than 2 values). */
export function meanStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : NaN;
  return { mean, std };
}

export const COLLECTED_METRICS = ['testAccuracyAtBestVal', 'bestTestAccuracy', 'medianLastNTestAccuracy', 'finalTestAccuracy', 'trainSeconds'] as const;
export type CollectedMetric = (typeof COLLECTED_METRICS)[number];

export interface SweepGroup {
  variant: string;
  /** Runs of the variant (one per seed). */
  runs: number;
  /** Completed runs: the only ones the statistics are over. */
  completed: number;
  /** mean and sample std over the completed runs (NaN when none). */
  stats: Record<CollectedMetric, { mean: number; std: number }>;
  /** Not every run completed: the statistics cover `completed` of `runs`. */
  partial: boolean;
}

export interface SweepResults {
  runs: SweepRunView[];
  groups: SweepGroup[];
  /** Runs that did not complete and are not running or pending: failed, cancelled, lost. */
  failed: SweepRunView[];
}

/**
 * Per variant, the mean and standard deviation over its completed seeds. Runs that failed (an
 * error, a non-finite loss), were cancelled, lost their worker, or have not finished are never
 * averaged in: the group says how many of its runs the figures cover (`partial`), and `failed`
 * lists the stopped ones with their log.
 */
export function collectSweep(dir: string): SweepResults {
  const runs = sweepStatus(dir);
  const variants = [...new Set(runs.map((r) => r.variant))];
  const groups = variants.map((variant) => {
    const mine = runs.filter((r) => r.variant === variant);
    const done = mine.filter((r) => r.state === 'completed' && r.summary);
    const stats = Object.fromEntries(COLLECTED_METRICS.map((m) => [m, done.length ? meanStd(done.map((r) => (r.summary as RunSummary)[m])) : { mean: NaN, std: NaN }])) as SweepGroup['stats'];
    return { variant, runs: mine.length, completed: done.length, stats, partial: done.length < mine.length };
  });
  const failed = runs.filter((r) => r.state === 'failed' || r.state === 'cancelled' || r.state === 'lost');
  return { runs, groups, failed };
}

const RUN_CSV_COLUMNS = ['index', 'id', 'variant', 'seed', 'state', 'epochsDone', 'epochs', ...COLLECTED_METRICS, 'runDir', 'logFile', 'error'] as const;

/**
 * Write `runs.csv` (one row per run, with its state; figures only for completed runs) and
 * `results.csv` (per variant: runs, completed, mean and std of each figure over the completed
 * runs) into `dir`; returns their paths.
 */
export function writeSweepCsv(dir: string, results: SweepResults = collectSweep(dir)): { runs: string; results: string } {
  const runsFile = path.join(dir, 'runs.csv');
  const resultsFile = path.join(dir, 'results.csv');
  const runRows = results.runs.map((r) => RUN_CSV_COLUMNS.map((c) => {
    if ((COLLECTED_METRICS as readonly string[]).includes(c)) return r.state === 'completed' ? r.summary?.[c as CollectedMetric] : '';
    return r[c as keyof SweepRunView];
  }));
  fs.writeFileSync(runsFile, [toCsvLine([...RUN_CSV_COLUMNS]), ...runRows.map(toCsvLine)].join(''));
  const header = ['variant', 'runs', 'completed', ...COLLECTED_METRICS.flatMap((m) => [`${m}_mean`, `${m}_std`])];
  const groupRows = results.groups.map((g) => [g.variant, g.runs, g.completed, ...COLLECTED_METRICS.flatMap((m) => [g.stats[m].mean, g.stats[m].std])]);
  fs.writeFileSync(resultsFile, [toCsvLine(header), ...groupRows.map(toCsvLine)].join(''));
  return { runs: runsFile, results: resultsFile };
}
