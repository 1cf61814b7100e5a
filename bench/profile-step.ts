/**
 * Where one PreActResNet18 train step (bench/r18-step.ts: forward, backward, SGD momentum update)
 * spends its time on the active backend: tf.profile, kernels grouped by name, per step (mean over --steps profiled steps after 3 warm-up steps).
 *
 *   npx ts-node --transpile-only bench/profile-step.ts [--batches 32,128] [--mode clean|input|feat] [--steps 3] [--top 12]
 *
 * Comparing batch sizes separates the work that grows with the batch from the per-call cost
 * that does not (README, Benchmarks). Profiling adds its own overhead: the wall time printed
 * here is above `npm run bench`'s.
 */
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '../lib/backend';
import { Rng } from '../lib/random';
import { MixMode } from '../lib/train/modes';
import { r18Step } from './r18-step';

async function main(): Promise<void> {
  const o = new Command('profile-step')
    .option('--batches <list>', 'batch sizes', '32,128')
    .option('--mode <mode>', "Algorithm 1 mode: 'clean' (plain step), 'input' or 'feat' (AlignMix)", 'clean')
    .option('--steps <n>', 'profiled steps per batch size', '3')
    .option('--top <n>', 'kernels listed', '12')
    .parse()
    .opts<{ batches: string; mode: string; steps: string; top: string }>();
  if (!['clean', 'input', 'feat'].includes(o.mode)) throw new Error(`profile-step: --mode must be clean, input or feat, got '${o.mode}'`);
  const steps = Number(o.steps);
  const top = Number(o.top);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`profile-step: --steps needs a positive integer, got '${o.steps}'`);
  if (!Number.isInteger(top) || top < 1) throw new Error(`profile-step: --top needs a positive integer, got '${o.top}'`);
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}; mode ${o.mode}`);
  for (const batch of o.batches.split(',').map(Number)) {
    const bench = r18Step(batch, o.mode as MixMode, new Rng(batch));
    for (let i = 0; i < 3; i++) bench.run();
    const byName = new Map<string, { calls: number; ms: number }>();
    let wallMs = 0;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const profile = await tf.profile(bench.run);
      wallMs += performance.now() - t0;
      for (const k of profile.kernels) {
        const entry = byName.get(k.name) ?? { calls: 0, ms: 0 };
        entry.calls += 1;
        entry.ms += k.kernelTimeMs as number;
        byName.set(k.name, entry);
      }
    }
    const rows = [...byName].sort((a, b) => b[1].ms - a[1].ms);
    const kernels = rows.reduce((n, [, e]) => n + e.calls, 0) / steps;
    const kernelMs = rows.reduce((n, [, e]) => n + e.ms, 0) / steps;
    console.log(`b${batch}: ${(wallMs / steps).toFixed(0)} ms wall per profiled step, ${kernels} kernels, ${kernelMs.toFixed(0)} ms in kernels`);
    for (const [name, e] of rows.slice(0, top)) {
      console.log(`  ${name.padEnd(24)} ${String(e.calls / steps).padStart(5)} calls  ${(e.ms / steps).toFixed(1).padStart(8)} ms`);
    }
    bench.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
