/**
 * Micro-benchmarks of the convolution and batch-norm work of a PreActResNet18 train step
 * (32x32 inputs, batch 32 and 128), run under several backend settings, to choose the defaults
 * lib/backend.ts uses. Shapes and names come from bench/torch/micro_spec.json, which
 * bench/torch/kernels.py times in PyTorch under the same names.
 *
 * Work timed (NHWC, float32):
 *   conv:<layer>:b<B>:fwd    y = conv2d(x, W)                       (tf.conv2d)
 *   conv:<layer>:b<B>:dgrad  dx = Conv2DBackpropInput(dy, W)        (the kernel, run directly)
 *   conv:<layer>:b<B>:wgrad  dW = Conv2DBackpropFilter(x, dy)
 *   bn:<shape>:b<B>:{batchNorm,moments}-{fwd,fwdbwd}
 *       batchNorm: tf.batchNorm(x, mean, var, beta, gamma) with tf.moments statistics;
 *       moments:   x * scale + shift, scale = gamma / sqrt(var + eps), shift = beta - mean * scale
 *                  differentiated op by op (the library's formulation before 2026-11-23);
 *       closedForm: the same forward with the batch-norm gradient written out (tf.customGrad,
 *                  lib/nn/batchnorm's batchNormTrainClosedForm);
 *       lib:       lib/nn/batchnorm's batchNormTrain: native TensorFlow's fused training kernels
 *                  on the tensorflow backend, the closed form elsewhere;
 *       fwdbwd = forward plus gradients w.r.t. x, gamma, beta for a given dy.
 *   fused:<layer>:b<B>:{fused,separate}-{fwd,fwdbwd}
 *       tf.fused.conv2d(x, W, bias, relu) vs relu(conv2d(x, W) + bias).
 *   step:b<B>:convs, step:b<B>:bn:<form>   count-weighted sums over one train step: the convs
 *       (fwd + wgrad, + dgrad except the stem) and the 17 batch norms (fwdbwd) per formulation.
 * Stride-2 3x3 convs run 'valid' on an input pre-padded by 1 (PyTorch's padding=1, as lib/nn
 * does), so the kernel work equals PyTorch's; stride-1 3x3 convs run 'same'.
 *
 * Settings: the native library reads its thread and oneDNN settings once, when it loads, so each
 * variant runs in a fresh child process with its own environment. Rounds interleave the variants
 * (A B C, then B C A, ...) so drift in the load of the shared machine hits all of them alike. A
 * figure is the median over rounds of the child's median over `reps` timed runs (after one
 * warm-up); noise = (max - min) / median over the rounds.
 *
 *   npx ts-node --transpile-only bench/kernels.ts                       # all native variants
 *   npx ts-node --transpile-only bench/kernels.ts --variants tf-default,wasm-1 --batches 32 \
 *       --groups conv --rounds 3 --json /tmp/kernels.json
 *   npx ts-node --transpile-only bench/kernels.ts --variants tf-default,torch   # vs PyTorch
 *   npx ts-node --transpile-only bench/kernels.ts --list                # the variants
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '../lib/backend';
import { batchNormTrain, batchNormTrainClosedForm } from '../lib/nn/batchnorm';
import { median, timeRuns } from './timing';
import { runTorchScript } from './torch-side';

const ROOT = path.resolve(__dirname, '..');
const SPEC_FILE = path.join(__dirname, 'torch', 'micro_spec.json');

interface ConvSpec { name: string; in: number; out: number; size: number; kernel: number; stride: number; count: number; needsInputGrad: boolean }
interface BnSpec { name: string; size: number; channels: number; count: number }
interface FusedSpec { name: string; in: number; out: number; size: number }
interface MicroSpec { batches: number[]; convs: ConvSpec[]; batchnorm: BnSpec[]; fused: FusedSpec[]; batchNormEps: number }

type Group = 'conv' | 'bn' | 'fused';
const GROUPS: readonly Group[] = ['conv', 'bn', 'fused'];

const CORES = String(os.availableParallelism());
const NATIVE = { ALIGNMIX_BACKEND: 'tensorflow', TF_NUM_INTRAOP_THREADS: CORES, TF_NUM_INTEROP_THREADS: '1' };

/** Each variant is the environment of one child process; tf-default is what lib/backend.ts sets. */
export const VARIANTS: Record<string, Record<string, string>> = {
  'tf-default': NATIVE,
  'tf-intra1': { ...NATIVE, TF_NUM_INTRAOP_THREADS: '1' },
  'tf-inter2': { ...NATIVE, TF_NUM_INTEROP_THREADS: '2' },
  'tf-onednn-off': { ...NATIVE, TF_ENABLE_ONEDNN_OPTS: '0' },
  'tf-caller-thread': { ...NATIVE, TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD: 'true' },
  'wasm-1': { ALIGNMIX_BACKEND: 'wasm', ALIGNMIX_THREADS: '1' },
  [`wasm-${CORES}`]: { ALIGNMIX_BACKEND: 'wasm', ALIGNMIX_THREADS: CORES },
};
/**
 * The PyTorch reference as one more variant: bench/torch/kernels.py with the same plan, run by
 * ALIGNMIX_PYTHON (default /usr/bin/python3, where Debian's python3-torch lives) with
 * ALIGNMIX_THREADS threads (default: all cores).
 */
const TORCH_VARIANT = 'torch';
const DEFAULT_VARIANTS = ['tf-default', 'tf-intra1', 'tf-inter2', 'tf-onednn-off', 'tf-caller-thread'];

interface ChildPlan { batches: number[]; groups: Group[]; reps: number }
interface ChildResult { backend: string; results: Record<string, number> }

function loadSpec(): MicroSpec {
  return JSON.parse(fs.readFileSync(SPEC_FILE, 'utf8')) as MicroSpec;
}

/** Median wall time (ms) of `reps` runs of `fn` after one warm-up; outputs are disposed. */
function timeOp(fn: () => tf.Tensor | tf.Tensor[], reps: number): number {
  // Both the native and the wasm backend run kernels synchronously: the op has finished when
  // the call returns, so no read-back (which would add a copy) is needed.
  return timeRuns(1, reps, () => tf.dispose(fn())).median_ms;
}

function randomTensor(shape: number[]): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', 1);
}

function convBenchmarks(spec: MicroSpec, batch: number, reps: number, out: Record<string, number>): void {
  for (const c of spec.convs) {
    const padded = c.kernel === 3 && c.stride === 2;
    const inSize = padded ? c.size + 2 : c.size;
    const pad = c.kernel === 3 && c.stride === 1 ? 'same' : 'valid';
    const outSize = c.size / c.stride;
    const x = randomTensor([batch, inSize, inSize, c.in]) as tf.Tensor4D;
    const w = randomTensor([c.kernel, c.kernel, c.in, c.out]) as tf.Tensor4D;
    const dy = randomTensor([batch, outSize, outSize, c.out]) as tf.Tensor4D;
    const key = `conv:${c.name}:b${batch}`;
    const attrs = { strides: c.stride, pad, dataFormat: 'NHWC' };
    out[`${key}:fwd`] = timeOp(() => tf.conv2d(x, w, c.stride, pad), reps);
    out[`${key}:dgrad`] = timeOp(() => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w },
      { ...attrs, inputShape: x.shape } as unknown as tf.NamedAttrMap) as tf.Tensor, reps);
    out[`${key}:wgrad`] = timeOp(() => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy },
      { ...attrs, filterShape: w.shape } as unknown as tf.NamedAttrMap) as tf.Tensor, reps);
    tf.dispose([x, w, dy]);
  }
}

/** A library batch-norm training function as a plain (x, gamma, beta) -> y function. */
function outputOnly(train: typeof batchNormTrain, eps: number): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor {
  return (x, gamma, beta) => {
    const { y, mean, variance } = train(x as tf.Tensor4D, gamma, beta, eps);
    tf.dispose([mean, variance]);
    return y;
  };
}

const BN_FORMS = ['batchNorm', 'moments', 'closedForm', 'lib'] as const;

function bnBenchmarks(spec: MicroSpec, batch: number, reps: number, out: Record<string, number>): void {
  const eps = spec.batchNormEps;
  const forms: Record<(typeof BN_FORMS)[number], (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor> = {
    batchNorm: (x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x as tf.Tensor4D, mean as tf.Tensor1D, variance as tf.Tensor1D, beta as tf.Tensor1D, gamma as tf.Tensor1D, eps);
    },
    moments: (x, gamma, beta) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, eps)));
      return tf.add(tf.mul(x, scale), tf.sub(beta, tf.mul(mean, scale)));
    },
    closedForm: outputOnly(batchNormTrainClosedForm, eps),
    lib: outputOnly(batchNormTrain, eps),
  };
  for (const b of spec.batchnorm) {
    const x = randomTensor([batch, b.size, b.size, b.channels]);
    const dy = randomTensor(x.shape);
    const gamma = tf.add(1, tf.mul(0.1, randomTensor([b.channels])));
    const beta = tf.mul(0.1, randomTensor([b.channels]));
    for (const [form, f] of Object.entries(forms)) {
      const key = `bn:${b.name}:b${batch}:${form}`;
      out[`${key}-fwd`] = timeOp(() => tf.tidy(() => f(x, gamma, beta)), reps);
      out[`${key}-fwdbwd`] = timeOp(() => tf.tidy(() => tf.grads(f)([x, gamma, beta], dy)), reps);
    }
    tf.dispose([x, dy, gamma, beta]);
  }
}

function fusedBenchmarks(spec: MicroSpec, batch: number, reps: number, out: Record<string, number>): void {
  for (const c of spec.fused) {
    const x = randomTensor([batch, c.size, c.size, c.in]) as tf.Tensor4D;
    const w = randomTensor([3, 3, c.in, c.out]) as tf.Tensor4D;
    const bias = randomTensor([c.out]);
    const dy = randomTensor([batch, c.size, c.size, c.out]);
    const forms: Record<string, (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
      fused: (xs, ws, bs) => tf.fused.conv2d({ x: xs as tf.Tensor4D, filter: ws as tf.Tensor4D, strides: 1, pad: 'same', bias: bs, activation: 'relu' }),
      separate: (xs, ws, bs) => tf.relu(tf.add(tf.conv2d(xs as tf.Tensor4D, ws as tf.Tensor4D, 1, 'same'), bs)),
    };
    for (const [form, f] of Object.entries(forms)) {
      const key = `fused:${c.name}:b${batch}:${form}`;
      out[`${key}-fwd`] = timeOp(() => tf.tidy(() => f(x, w, bias)), reps);
      out[`${key}-fwdbwd`] = timeOp(() => tf.tidy(() => tf.grads(f)([x, w, bias], dy)), reps);
    }
    tf.dispose([x, w, bias, dy]);
  }
}

/** Count-weighted time of one train step's convolutions and of its batch norms per formulation. */
function stepTotals(spec: MicroSpec, batch: number, r: Record<string, number>): void {
  const convKeys = spec.convs.map((c) => `conv:${c.name}:b${batch}`);
  if (convKeys.every((key) => `${key}:fwd` in r)) {
    r[`step:b${batch}:convs`] = spec.convs.reduce((sum, c, k) => sum
      + c.count * (r[`${convKeys[k]}:fwd`] + r[`${convKeys[k]}:wgrad`] + (c.needsInputGrad ? r[`${convKeys[k]}:dgrad`] : 0)), 0);
  }
  for (const form of BN_FORMS) {
    const keys = spec.batchnorm.map((b) => `bn:${b.name}:b${batch}:${form}-fwdbwd`);
    if (keys.every((key) => key in r)) {
      r[`step:b${batch}:bn:${form}`] = spec.batchnorm.reduce((sum, b, k) => sum + b.count * r[keys[k]], 0);
    }
  }
}

async function runChild(plan: ChildPlan): Promise<ChildResult> {
  const info = await initBackend();
  const spec = loadSpec();
  const results: Record<string, number> = {};
  for (const batch of plan.batches) {
    if (plan.groups.includes('conv')) convBenchmarks(spec, batch, plan.reps, results);
    if (plan.groups.includes('bn')) bnBenchmarks(spec, batch, plan.reps, results);
    if (plan.groups.includes('fused')) fusedBenchmarks(spec, batch, plan.reps, results);
    stepTotals(spec, batch, results);
  }
  return { backend: describeBackend(info), results };
}

function spawnTorch(plan: ChildPlan): ChildResult {
  const r = runTorchScript('kernels.py', ['--batches', plan.batches.join(','), '--groups', plan.groups.join(','),
    '--warmup', '1', '--reps', String(plan.reps)]);
  if ('reason' in r) throw new Error(`torch variant: ${r.reason}`);
  const results = Object.fromEntries(Object.entries(r.report.figures ?? {}).map(([k, v]) => [k, v.median_ms]));
  return { backend: `PyTorch ${r.report.torch} (CPU, ${r.report.threads} threads)`, results };
}

function spawnVariant(variant: string, plan: ChildPlan): ChildResult {
  if (variant === TORCH_VARIANT) return spawnTorch(plan);
  const env: NodeJS.ProcessEnv = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...VARIANTS[variant], ALIGNMIX_BENCH_PLAN: JSON.stringify(plan) };
  // Settings a variant does not name must not leak in from this shell.
  for (const k of ['TF_ENABLE_ONEDNN_OPTS', 'TF_ONEDNN_THREADPOOL_USE_CALLER_THREAD']) {
    if (!(k in VARIANTS[variant])) delete env[k];
  }
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, '--child'], {
    cwd: ROOT, env, encoding: 'utf8', maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`variant ${variant} failed (exit ${r.status}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as ChildResult;
}

interface Summary { median: number; noise: number; rounds: number[] }

function summarise(runs: ChildResult[]): Record<string, Summary> {
  const out: Record<string, Summary> = {};
  for (const name of Object.keys(runs[0].results)) {
    const rounds = runs.map((r) => r.results[name]);
    const m = median(rounds);
    out[name] = { median: m, noise: (Math.max(...rounds) - Math.min(...rounds)) / m, rounds };
  }
  return out;
}

function printTable(variants: string[], table: Record<string, Record<string, Summary>>): void {
  const names = Object.keys(table[variants[0]]);
  const width = Math.max(...names.map((n) => n.length));
  const cell = (s: Summary | undefined) => (s ? `${s.median.toFixed(1).padStart(8)} ±${(100 * s.noise).toFixed(0).padStart(3)}%` : ' '.repeat(14));
  console.log(`${'ms (median over rounds, ±(max-min)/median)'.padEnd(width)}  ${variants.map((v) => v.padStart(14)).join(' ')}`);
  for (const name of names) {
    const meds = variants.map((v) => table[v][name]?.median ?? Infinity);
    const best = Math.min(...meds);
    console.log(`${name.padEnd(width)}  ${variants.map((v, k) => cell(table[v][name]) + (meds[k] === best && variants.length > 1 ? '*' : ' ')).join('')}`);
  }
}

async function main(): Promise<void> {
  if (process.argv.includes('--child')) {
    const plan = JSON.parse(process.env.ALIGNMIX_BENCH_PLAN ?? '') as ChildPlan;
    console.log(JSON.stringify(await runChild(plan)));
    return;
  }
  const program = new Command()
    .option('--variants <list>', `comma-separated, from: ${[...Object.keys(VARIANTS), TORCH_VARIANT].join(', ')}`, DEFAULT_VARIANTS.join(','))
    .option('--batches <list>', 'batch sizes', '32,128')
    .option('--groups <list>', `which benchmarks: ${GROUPS.join(', ')}`, GROUPS.join(','))
    .option('--rounds <n>', 'interleaved rounds (one child per variant per round)', '3')
    .option('--reps <n>', 'timed runs per op in each child, after one warm-up', '3')
    .option('--json <file>', 'also write every round\'s figures as JSON')
    .option('--list', 'print the variants and their environments')
    .parse();
  const opts = program.opts<{ variants: string; batches: string; groups: string; rounds: string; reps: string; json?: string; list?: boolean }>();
  if (opts.list) {
    for (const [name, env] of Object.entries(VARIANTS)) console.log(`${name.padEnd(18)} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    console.log(`${TORCH_VARIANT.padEnd(18)} bench/torch/kernels.py (PyTorch reference; ALIGNMIX_PYTHON, ALIGNMIX_THREADS)`);
    return;
  }
  const variants = opts.variants.split(',');
  for (const v of variants) if (!(v in VARIANTS) && v !== TORCH_VARIANT) throw new Error(`bench/kernels: unknown variant '${v}'; --list shows them`);
  const groups = opts.groups.split(',') as Group[];
  for (const g of groups) if (!GROUPS.includes(g)) throw new Error(`bench/kernels: unknown group '${g}'; expected ${GROUPS.join(', ')}`);
  const plan: ChildPlan = { batches: opts.batches.split(',').map(Number), groups, reps: Number(opts.reps) };
  const rounds = Number(opts.rounds);

  const runs: Record<string, ChildResult[]> = Object.fromEntries(variants.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + round) % variants.length];
      const t0 = Date.now();
      runs[v].push(spawnVariant(v, plan));
      console.error(`round ${round + 1}/${rounds} ${v}: ${((Date.now() - t0) / 1000).toFixed(0)} s (${runs[v][runs[v].length - 1].backend})`);
    }
  }
  const table = Object.fromEntries(variants.map((v) => [v, summarise(runs[v])]));
  printTable(variants, table);
  if (opts.json) {
    fs.writeFileSync(opts.json, JSON.stringify({ plan, variants: Object.fromEntries(variants.map((v) => [v, VARIANTS[v] ?? 'bench/torch/kernels.py'])), runs, table }, null, 1));
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
