/**
 * Options of the Slurm launcher (./launch-slurm.ts): what a sweep spec's `slurm` section and the
 * command line (`alignmix sweep run ... --launcher slurm -- FLAGS`) may say, checked before
 * anything is written, and the sbatch arguments they become.
 */
import * as path from 'path';
import { assertInt, assertKnownKeys } from '../validate';

export interface SlurmOptions {
  /** --partition. */
  partition?: string;
  /** GPUs per task: --gres=gpu:N. */
  gpus?: number;
  /** --cpus-per-task; also the worker's compute threads (default 1, Slurm's default allocation). */
  cpusPerTask?: number;
  /** --mem, e.g. '16G'. */
  mem?: string;
  /** --time, e.g. '04:00:00'. */
  time?: string;
  /** At most this many tasks at once (--array=...%k). */
  concurrency?: number;
  /** Seconds before the time limit at which the job checkpoints and requeues itself (default 120). */
  signalBefore?: number;
  /** More sbatch arguments, passed as they are (e.g. ['--account=abc', '--qos=long']). */
  sbatchArgs?: string[];
}

const OPTION_KEYS = ['partition', 'gpus', 'cpusPerTask', 'mem', 'time', 'concurrency', 'signalBefore', 'sbatchArgs'];
const DEFAULT_SIGNAL_BEFORE = 120;

/** Validate a SlurmOptions object (from a sweep spec's `slurm` section or a notebook). */
export function checkSlurmOptions(where: string, value: unknown): SlurmOptions {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where}: expected an object of Slurm options`);
  const o = value as SlurmOptions;
  assertKnownKeys(where, o, OPTION_KEYS);
  for (const k of ['partition', 'mem', 'time'] as const) {
    if (o[k] !== undefined && (typeof o[k] !== 'string' || !o[k])) throw new Error(`${where}: ${k} must be a non-empty string, got ${JSON.stringify(o[k])}`);
  }
  if (o.gpus !== undefined) assertInt(where, 'gpus', o.gpus, 0);
  if (o.cpusPerTask !== undefined) assertInt(where, 'cpusPerTask', o.cpusPerTask, 1);
  if (o.concurrency !== undefined) assertInt(where, 'concurrency', o.concurrency, 1);
  if (o.signalBefore !== undefined) assertInt(where, 'signalBefore', o.signalBefore, 1);
  if (o.sbatchArgs !== undefined && (!Array.isArray(o.sbatchArgs) || o.sbatchArgs.some((a) => typeof a !== 'string'))) {
    throw new Error(`${where}: sbatchArgs must be an array of strings`);
  }
  return o;
}

/**
 * SlurmOptions from command-line arguments (what follows `--` in `alignmix sweep run ... --launcher
 * slurm -- ...`): --partition, --gpus, --cpus-per-task, --mem, --time, --concurrency and
 * --signal-before (as `--flag=value` or `--flag value`); anything else goes to sbatch as it is.
 */
export function parseSlurmArgs(args: readonly string[]): SlurmOptions {
  const flags: Record<string, keyof SlurmOptions> = {
    '--partition': 'partition', '--gpus': 'gpus', '--cpus-per-task': 'cpusPerTask', '--mem': 'mem', '--time': 'time',
    '--concurrency': 'concurrency', '--signal-before': 'signalBefore',
  };
  const numeric = new Set<keyof SlurmOptions>(['gpus', 'cpusPerTask', 'concurrency', 'signalBefore']);
  const out: Record<string, unknown> = {};
  const sbatchArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const key = flags[flag];
    if (!key) {
      sbatchArgs.push(args[i]);
      continue;
    }
    const raw = inline ?? args[++i];
    if (raw === undefined) throw new Error(`slurm launcher: ${flag} needs a value`);
    out[key] = numeric.has(key) ? Number(raw) : raw;
  }
  if (sbatchArgs.length) out.sbatchArgs = sbatchArgs;
  return checkSlurmOptions('slurm launcher arguments', out);
}

/** The sbatch --array value: indices as ranges (0-2,5), with %k when given. */
export function arraySpec(indices: readonly number[], concurrency?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',') + (concurrency ? `%${concurrency}` : '');
}

/** The sbatch arguments for a sweep's job array (everything but the script). */
export function sbatchArguments(dir: string, indices: readonly number[], o: SlurmOptions): string[] {
  return [
    '--parsable',
    `--job-name=alignmix-${path.basename(dir)}`,
    `--array=${arraySpec(indices, o.concurrency)}`,
    '--requeue',
    '--open-mode=append',
    `--output=${path.join(dir, 'slurm', '%a.log')}`,
    `--signal=B:USR1@${o.signalBefore ?? DEFAULT_SIGNAL_BEFORE}`,
    ...(o.partition ? [`--partition=${o.partition}`] : []),
    ...(o.gpus ? [`--gres=gpu:${o.gpus}`] : []),
    ...(o.cpusPerTask ? [`--cpus-per-task=${o.cpusPerTask}`] : []),
    ...(o.mem ? [`--mem=${o.mem}`] : []),
    ...(o.time ? [`--time=${o.time}`] : []),
    ...(o.sbatchArgs ?? []),
  ];
}
