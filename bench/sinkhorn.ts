/**
 * Benchmark of the batched Sinkhorn solvers and of the full feature alignment, at the size the
 * method uses on CIFAR (PreActResNet18's last feature map): 128 problems, r = 16 positions
 * (4 x 4), c = 512 channels, 100 iterations.
 *
 *   npx ts-node --transpile-only bench/sinkhorn.ts [--runs 10] [--warmup 2]
 *
 * Figures: 'exp', 'log' (default eps and check interval, tol 0 so that all 100 iterations run)
 * and 'reference' (the authors' solver; it does not stop early on unit-scale features) on a
 * precomputed cost; then alignFeatures on NHWC tensors (cost + plan + aligned tensor) with the
 * log and the reference solver. Each figure: warm-up runs, then the median of `runs` timed runs.
 * Inputs are i.i.d. N(0, 1) features drawn from a fixed seed. `runSinkhornBench` returns the
 * figures for other scripts (npm run bench).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '../lib/backend';
import { alignFeatures, AlignOptions } from '../lib/mix/align';
import { squaredEuclideanCost } from '../lib/ot/cost';
import { SinkhornOptions, sinkhorn } from '../lib/ot/sinkhorn';
import { Rng } from '../lib/random';

export interface SinkhornBenchOptions {
  /** Timed runs per figure (median reported). Default 10. */
  runs?: number;
  /** Untimed runs first. Default 2. */
  warmup?: number;
  batch?: number;
  /** Spatial size h = w; r = h * w. Default 4 (r = 16). */
  side?: number;
  channels?: number;
  iterations?: number;
}

export interface BenchFigure {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  runs: number;
  /** Iterations the last run performed. */
  iterations: number;
}

function timeIt(runs: number, warmup: number, once: () => number): { times: number[]; iterations: number } {
  let iterations = 0;
  for (let i = 0; i < warmup; i++) iterations = once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    iterations = once();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { times, iterations };
}

function figure(name: string, { times, iterations }: { times: number[]; iterations: number }): BenchFigure {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { name, medianMs, minMs: sorted[0], maxMs: sorted[sorted.length - 1], runs: times.length, iterations };
}

/** Run every figure on the active backend (call initBackend first). */
export function runSinkhornBench(options: SinkhornBenchOptions = {}): BenchFigure[] {
  const { runs = 10, warmup = 2, batch = 128, side = 4, channels = 512, iterations = 100 } = options;
  const rng = new Rng(2022);
  const shape: [number, number, number, number] = [batch, side, side, channels];
  const a = tf.randomNormal(shape, 0, 1, 'float32', rng.tfSeed()) as tf.Tensor4D;
  const b = tf.randomNormal(shape, 0, 1, 'float32', rng.tfSeed()) as tf.Tensor4D;
  const cost = tf.tidy(() => squaredEuclideanCost(
    tf.reshape(a, [batch, side * side, channels]), tf.reshape(b, [batch, side * side, channels])));
  const size = `${batch}x${side * side}x${side * side}, c=${channels}, ${iterations} it`;
  const figures: BenchFigure[] = [];

  const solvers: [string, SinkhornOptions][] = [
    ['exp', { solver: 'exp', maxIter: iterations, tol: 0, warn: false }],
    ['log', { solver: 'log', maxIter: iterations, tol: 0, warn: false }],
    ['reference', { solver: 'reference', maxIter: iterations, warn: false }],
  ];
  for (const [name, opts] of solvers) {
    figures.push(figure(`sinkhorn ${name} (${size})`, timeIt(runs, warmup, () => {
      const { plan, diagnostics } = sinkhorn(cost, opts);
      plan.dispose();
      return diagnostics.iterations;
    })));
  }
  const aligners: [string, AlignOptions][] = [
    ['log', { sinkhorn: { maxIter: iterations, tol: 0, warn: false } }],
    ['reference', { sinkhorn: { solver: 'reference', maxIter: iterations, warn: false } }],
  ];
  for (const [name, opts] of aligners) {
    figures.push(figure(`alignFeatures ${name} (cost + plan + aligned, ${size})`, timeIt(runs, warmup, () => {
      const { aligned, plan, diagnostics } = alignFeatures(a, b, opts);
      aligned.dataSync();
      tf.dispose([aligned, plan]);
      return diagnostics.iterations;
    })));
  }
  tf.dispose([a, b, cost]);
  return figures;
}

export function formatFigure(f: BenchFigure): string {
  return `${f.name}: median ${f.medianMs.toFixed(1)} ms (min ${f.minMs.toFixed(1)}, max ${f.maxMs.toFixed(1)}, ${f.runs} runs, ${f.iterations} iterations)`;
}

function argValue(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`bench/sinkhorn: ${flag} needs a non-negative integer, got ${process.argv[i + 1]}`);
  return v;
}

if (require.main === module) {
  (async () => {
    const info = await initBackend();
    console.log(`backend: ${describeBackend(info)}`);
    for (const f of runSinkhornBench({ runs: Math.max(1, argValue('--runs', 10)), warmup: argValue('--warmup', 2) })) {
      console.log(formatFigure(f));
    }
  })().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
