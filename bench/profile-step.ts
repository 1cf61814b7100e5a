/**
 * Where one PreActResNet18 train step spends its time on the active backend: tf.profile of
 * lib/train/step.ts's trainStep (forward, backward, SGD momentum update), kernels grouped by
 * name, per step (mean over --steps profiled steps after 3 warm-up steps).
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
import { createModel } from '../lib/models/factory';
import { Rng } from '../lib/random';
import { MixMode, uniformModes } from '../lib/train/modes';
import { SGD } from '../lib/train/optim';
import { StepSettings, trainStep } from '../lib/train/step';

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
  const info = await initBackend();
  console.log(`backend: ${describeBackend(info)}; mode ${o.mode}`);
  const settings: StepSettings = {
    alpha: 2, reconstructionWeight: 0, klWeight: 0,
    sinkhorn: { solver: 'log', eps: 0.1, epsMode: 'absolute', maxIter: 100, tol: 0 },
  };
  for (const batch of o.batches.split(',').map(Number)) {
    const rng = new Rng(batch);
    const model = createModel({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3] }, rng);
    const optimizer = new SGD(model.parameterGroups(), { momentum: 0.9, weightDecay: 1e-4 });
    const lr = Object.fromEntries(model.parameterGroups().map((g) => [g.name, 0.1]));
    const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', rng.tfSeed()) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: batch }, () => rng.int(10)), 'int32');
    const schedule = uniformModes(o.mode as MixMode);
    const step = () => { trainStep(model, optimizer, x, y, schedule, settings, lr, rng); };
    for (let i = 0; i < 3; i++) step();
    const byName = new Map<string, { calls: number; ms: number }>();
    let wallMs = 0;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      const profile = await tf.profile(step);
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
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
