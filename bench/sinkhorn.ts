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
import { Timing, timeRuns } from './timing';

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
  /** Only the figures whose names start with one of these (default: all). */
  only?: string[];
}

export interface BenchFigure {
  name: string;
  timing: Timing;
  /** Iterations the last run performed. */
  iterations: number;
}

/** Time `once` (which returns the iterations it ran) into a named figure. */
function figure(name: string, runs: number, warmup: number, once: () => number): BenchFigure {
  let iterations = 0;
  const timing = timeRuns(warmup, runs, () => { iterations = once(); });
  return { name, timing, iterations };
}

/** Run every figure on the active backend (call initBackend first). */
export function runSinkhornBench(options: SinkhornBenchOptions = {}): BenchFigure[] {
  const { runs = 10, warmup = 2, batch = 128, side = 4, channels = 512, iterations = 100, only } = options;
  const wanted = (name: string) => !only || only.some((prefix) => name.startsWith(prefix));
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
    const label = `sinkhorn ${name} (${size})`;
    if (!wanted(label)) continue;
    figures.push(figure(label, runs, warmup, () => {
      const { plan, diagnostics } = sinkhorn(cost, opts);
      plan.dispose();
      return diagnostics.iterations;
    }));
  }
  const aligners: [string, AlignOptions][] = [
    ['log', { sinkhorn: { maxIter: iterations, tol: 0, warn: false } }],
    ['reference', { sinkhorn: { solver: 'reference', maxIter: iterations, warn: false } }],
  ];
  for (const [name, opts] of aligners) {
    const label = `alignFeatures ${name} (cost + plan + aligned, ${size})`;
    if (!wanted(label)) continue;
    figures.push(figure(label, runs, warmup, () => {
      const { aligned, plan, diagnostics } = alignFeatures(a, b, opts);
      aligned.dataSync();
      tf.dispose([aligned, plan]);
      return diagnostics.iterations;
    }));
  }
  tf.dispose([a, b, cost]);
  return figures;
}

export function formatFigure({ name, timing, iterations }: BenchFigure): string {
  return `${name}: median ${timing.median_ms.toFixed(1)} ms (min ${timing.min_ms.toFixed(1)}, max ${Math.max(...timing.runs_ms).toFixed(1)}, ${timing.runs_ms.length} runs, ${iterations} iterations)`;
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
