/**
 * The SGD update alone on PreActResNet18's parameters (bench/run.ts's update:r18: momentum 0.9,
 * weight decay 1e-4, lr 0.1, fixed N(0, 1e-3) gradients), for each implementation of
 * lib/train/optim.ts that the active backend offers, timed in rounds (interleaved) in one
 * process so the machine's load hits them alike.
 *
 *   npm run bench:update -- [--reps 30] [--warmup 3]
 */
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '../lib/backend';
import { createModel } from '../lib/models/factory';
import { Rng } from '../lib/random';
import { SGD } from '../lib/train/optim';
import { timeInterleaved } from './timing';

async function main(): Promise<void> {
  const o = new Command('sgd-update')
    .option('--reps <n>', 'timed rounds', '30')
    .option('--warmup <n>', 'untimed rounds', '3')
    .parse()
    .opts<{ reps: string; warmup: string }>();
  const reps = Number(o.reps);
  const warmup = Number(o.warmup);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`sgd-update: --reps needs a positive integer, got '${o.reps}'`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`sgd-update: --warmup needs a non-negative integer, got '${o.warmup}'`);
  console.log(`backend: ${describeBackend(await initBackend())}`);
  const workloads: Record<string, () => void> = {};
  const cleanup: (() => void)[] = [];
  for (const implementation of ['auto', 'tfjs'] as const) {
    // One model per implementation: each updates its own parameters.
    const model = createModel({ arch: 'preact-resnet18', numClasses: 10, inputShape: [32, 32, 3] }, new Rng(1));
    const groups = model.parameterGroups();
    const optimizer = new SGD(groups, { momentum: 0.9, weightDecay: 1e-4, implementation });
    const grads: tf.NamedTensorMap = {};
    for (const g of groups) for (const [, p] of g.params) grads[p.name] = tf.randomNormal(p.shape, 0, 1e-3, 'float32', 7);
    const lr = Object.fromEntries(groups.map((g) => [g.name, 0.1]));
    if (!workloads[optimizer.implementation]) workloads[optimizer.implementation] = () => optimizer.step(grads, lr);
    cleanup.push(() => { tf.dispose(Object.values(grads)); optimizer.dispose(); model.dispose(); });
  }
  const timings = timeInterleaved(warmup, reps, workloads);
  for (const [name, t] of Object.entries(timings)) {
    console.log(`update:r18 ${name.padEnd(6)} median ${t.median_ms.toFixed(1)} ms, min ${t.min_ms.toFixed(1)} ms`);
  }
  if (timings.native && timings.tfjs) console.log(`native / tfjs: ${(timings.native.median_ms / timings.tfjs.median_ms).toFixed(2)} (medians)`);
  for (const c of cleanup) c();
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
