/**
 * `npm run bench`: this library against PyTorch on the same machine, one process pair.
 *
 * Ours (this process, the backend lib/backend.ts picks, or ALIGNMIX_BACKEND):
 *   step:r18:b<B>:<mode>   one PreActResNet18 train step (bench/r18-step.ts): mode 'plain' (clean
 *                          batch), 'input-mixup' (Algorithm 1's input mode) and 'alignmix' (mode
 *                          'feat': A~ = A' R^T at the last feature map, 512 x 4 x 4, log-domain
 *                          Sinkhorn, eps 0.1, 100 iterations, no early stop, as the PyTorch side).
 *   update:r18             the SGD update alone (momentum 0.9, weight decay 1e-4) on PreActResNet18's
 *                          11.2 M parameters, with fixed gradients (the optimiser's share of a step).
 *   sinkhorn:log:128x16x16:100   the batched log-domain Sinkhorn from cost to plan (bench/sinkhorn.ts).
 *   loader:rrc224:w<N>     ImageNet-style image loading, ms per image: JPEG decode + RandomResizedCrop(224)
 *                          + flip + normalise in N worker threads (bench/loader.ts: the loader's code,
 *                          on JPEGs made for the benchmark), against torchvision + PIL in a DataLoader
 *                          with N worker processes (bench/torch/loader.py).
 * PyTorch (bench/torch/train_step.py and sinkhorn.py, run one after the other AFTER ours so the two
 * never compete for the cores; the authors' model and Sinkhorn, same threads). The loader pair runs
 * last, in rounds of ours then PyTorch's, back to back.
 *
 * Figures are medians of --reps timed runs after --warmup runs (minimum beside, to show the noise
 * of a shared machine; bench/timing.ts). The three steps of a batch size run in rounds (plain,
 * input-mixup, alignmix, plain, ...) on each side, so load drift does not bias their ratio. The
 * loader figures are medians over --loader-rounds rounds (ours, then PyTorch's) of --reps passes of
 * --loader-images images each. The last line is
 *   ratios: r18=<plain step, first batch size> r18b128=<plain step b128> update=<update:r18>
 *           sinkhorn=<sinkhorn> alignmix/input=<ours alignmix / ours input-mixup, first batch size>
 *           loader=<loader time per image>
 * (one line), all ours/PyTorch except alignmix/input, 'n/a' where a figure is missing (PyTorch not
 * installed, b128 not run, a part left out with --only). --json FILE writes every figure.
 *
 *   npm run bench                                        # b32 and b128, 5 runs each, then the loader
 *   npm run bench -- --batches 32 --reps 3 --json bench/results/latest.json
 *   npm run bench -- --only loader --loader-workers 2    # the loader pair alone
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { backendInfo, describeBackend, initBackend } from '../lib/backend';
import { Rng } from '../lib/random';
import { MixMode } from '../lib/train/modes';
import { BENCH_IMAGE_DIR, jpegDecoder, loaderFigureName, timeOurLoader } from './loader';
import { BenchStep, r18Step, SINKHORN_ITERS } from './r18-step';
import { runTorchScript } from './torch-side';
import { runSinkhornBench } from './sinkhorn';
import { median, Timing, timeInterleaved, timeRuns } from './timing';

const STEP_MODES: Record<string, MixMode> = { plain: 'clean', 'input-mixup': 'input', alignmix: 'feat' };

type Figure = Timing;
type Figures = Record<string, Figure>;

/** Our train-step figures, same names as bench/torch/train_step.py. */
function oursSteps(batches: number[], warmup: number, reps: number): Figures {
  const figures: Figures = {};
  for (const batch of batches) {
    const rng = new Rng(batch);
    const steps = Object.entries(STEP_MODES).map(([name, mode]) => ({ name: `step:r18:b${batch}:${name}`, step: r18Step(batch, mode, rng) }));
    const timings = timeInterleaved(warmup, reps, Object.fromEntries(steps.map(({ name, step }) => [name, step.run])));
    if (batch === batches[0]) figures['update:r18'] = timeUpdate(steps[0].step, warmup, reps);
    for (const { name, step } of steps) {
      figures[name] = timings[name];
      step.dispose();
      console.log(`  ours  ${name}  ${figures[name].median_ms.toFixed(0)} ms`);
    }
  }
  return figures;
}

/** The SGD update alone (momentum, weight decay) on the step's parameters, with fixed gradients. */
function timeUpdate({ model, optimizer }: BenchStep, warmup: number, reps: number): Figure {
  const groups = model.parameterGroups();
  const grads: tf.NamedTensorMap = {};
  for (const g of groups) for (const [, p] of g.params) grads[p.name] = tf.randomNormal(p.shape, 0, 1e-3, 'float32', 7);
  const lr = Object.fromEntries(groups.map((g) => [g.name, 0.1]));
  const timing = timeRuns(warmup, reps, () => optimizer.step(grads, lr));
  tf.dispose(Object.values(grads));
  console.log(`  ours  update:r18  ${timing.median_ms.toFixed(1)} ms`);
  return timing;
}

/** Run a bench/torch script with our thread count; its figures, or why there are none. */
function torchFigures(script: string, args: string[], threads: number): { figures?: Figures; version?: string; pipeline?: string; reason?: string } {
  const r = runTorchScript(script, ['--threads', String(threads), ...args]);
  if ('reason' in r) return { reason: r.reason };
  return { figures: r.report.figures as Figures | undefined, version: r.report.torch, pipeline: r.report.pipeline };
}

function ratio(a?: Figure, b?: Figure): string {
  return a && b ? (a.median_ms / b.median_ms).toFixed(2) : 'n/a';
}

const PARTS = ['steps', 'loader'] as const;

async function main(): Promise<void> {
  const program = new Command('bench')
    .option('--batches <list>', 'train-step batch sizes', '32,128')
    .option('--warmup <n>', 'untimed runs first', '2')
    .option('--reps <n>', 'timed runs (median reported)', '5')
    .option('--only <part>', `run one part: ${PARTS.join(' or ')} (steps: train steps, update, Sinkhorn)`)
    .option('--loader-workers <n>', 'loader worker threads / DataLoader processes (default: one per core)')
    .option('--loader-images <n>', 'images per timed loader pass', '320')
    .option('--loader-rounds <n>', 'rounds of ours-then-PyTorch loader passes', '2')
    .option('--no-torch', 'skip the PyTorch reference')
    .option('--json <file>', 'write all figures as JSON')
    .parse();
  const o = program.opts<{ batches: string; warmup: string; reps: string; only?: string; loaderWorkers?: string; loaderImages: string; loaderRounds: string; torch: boolean; json?: string }>();
  const batches = o.batches.split(',').map(Number);
  const warmup = Number(o.warmup);
  const reps = Number(o.reps);
  const loaderWorkers = Number(o.loaderWorkers ?? os.availableParallelism());
  const loaderImages = Number(o.loaderImages);
  const loaderRounds = Number(o.loaderRounds);
  const checks = [['warmup', warmup], ['reps', reps], ['loader-workers', loaderWorkers], ['loader-images', loaderImages], ['loader-rounds', loaderRounds], ...batches.map((b) => ['batches', b] as const)] as const;
  for (const [k, v] of checks) {
    if (!Number.isInteger(v) || v < (k === 'warmup' ? 0 : 1)) throw new Error(`bench: --${k} needs ${k === 'warmup' ? 'a non-negative' : 'a positive'} integer, got ${v}`);
  }
  if (o.only !== undefined && !(PARTS as readonly string[]).includes(o.only)) throw new Error(`bench: --only must be one of ${PARTS.join(', ')}, got '${o.only}'`);
  const runs = (part: (typeof PARTS)[number]) => o.only === undefined || o.only === part;

  const info = await initBackend();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`machine: ${cpu}, ${os.availableParallelism()} cores; date ${new Date().toISOString().slice(0, 10)}`);
  console.log(`ours: ${describeBackend(info)}`);
  const threads = backendInfo().threads;
  const ours: Figures = {};
  let theirs: Figures = {};
  let torchNote = 'PyTorch: skipped (--no-torch)';
  if (runs('steps')) {
    Object.assign(ours, oursSteps(batches, warmup, reps));
    const sink = runSinkhornBench({ runs: Math.max(reps, 10), warmup, iterations: SINKHORN_ITERS, only: ['sinkhorn log'] })[0];
    ours[`sinkhorn:log:128x16x16:${SINKHORN_ITERS}`] = sink.timing;
    console.log(`  ours  sinkhorn:log:128x16x16:${SINKHORN_ITERS}  ${sink.timing.median_ms.toFixed(1)} ms`);
    if (o.torch) {
      const common = ['--warmup', String(warmup), '--reps', String(reps)];
      const steps = torchFigures('train_step.py', ['--batches', batches.join(','), ...common], threads);
      const sinkhorn = torchFigures('sinkhorn.py', ['--iters', String(SINKHORN_ITERS), '--warmup', String(warmup), '--reps', String(Math.max(reps, 10))], threads);
      theirs = { ...steps.figures, ...sinkhorn.figures };
      torchNote = steps.figures ? `PyTorch ${steps.version} (CPU, ${threads} threads)` : `PyTorch not available: ${steps.reason}`;
    }
  }
  const loaderName = loaderFigureName(loaderWorkers);
  if (runs('loader')) {
    // Rounds of ours-then-PyTorch, each side's figure over all its passes: a change in the
    // machine's load during the pair hits both sides alike.
    const oursRuns: number[] = [];
    const theirRuns: number[] = [];
    let note = 'skipped (--no-torch)';
    for (let round = 0; round < loaderRounds; round++) {
      oursRuns.push(...(await timeOurLoader({ workers: loaderWorkers, images: loaderImages, warmup: 1, reps })).runs_ms);
      if (!o.torch) continue;
      const loader = torchFigures('loader.py', ['--dir', BENCH_IMAGE_DIR, '--workers', String(loaderWorkers), '--images', String(loaderImages), '--warmup', '1', '--reps', String(reps)], threads);
      note = loader.figures ? `PyTorch ${loader.version}, ${loader.pipeline}, ${loaderWorkers} DataLoader workers` : `not available: ${loader.reason}`;
      if (loader.figures) theirRuns.push(...loader.figures[loaderName].runs_ms);
    }
    const summary = (r: number[]): Figure => ({ median_ms: median(r), min_ms: Math.min(...r), runs_ms: r });
    ours[loaderName] = summary(oursRuns);
    if (theirRuns.length) theirs[loaderName] = summary(theirRuns);
    console.log(`  ours  ${loaderName}  ${ours[loaderName].median_ms.toFixed(2)} ms/image (${loaderRounds} rounds of ${reps} passes; JPEG crops: ${jpegDecoder()})`);
    torchNote = runs('steps') ? `${torchNote}; loader: ${note}` : `loader: ${note}`;
  }
  console.log(torchNote);

  const names = Object.keys(ours);
  const width = Math.max(...names.map((n) => n.length));
  const ms = (f?: Figure) => (f ? `${f.median_ms.toFixed(f.median_ms < 20 ? 2 : 1).padStart(8)} ${`(${f.min_ms.toFixed(f.min_ms < 20 ? 2 : 1)})`.padStart(9)}` : '-'.padStart(18));
  console.log(`${'figure'.padEnd(width)}  ${'ours ms (min)'.padStart(18)}  ${'torch ms (min)'.padStart(18)}  ratio`);
  for (const n of names) console.log(`${n.padEnd(width)}  ${ms(ours[n])}  ${ms(theirs[n])}  ${ratio(ours[n], theirs[n])}`);
  if (o.json) {
    fs.mkdirSync(path.dirname(path.resolve(o.json)), { recursive: true });
    fs.writeFileSync(o.json, JSON.stringify({ date: new Date().toISOString(), machine: cpu, cores: os.availableParallelism(), backend: describeBackend(info), torch: torchNote, ours, pytorch: theirs }, null, 2));
  }
  const b = batches[0];
  const both = (name: string) => ratio(ours[name], theirs[name]);
  const sinkName = `sinkhorn:log:128x16x16:${SINKHORN_ITERS}`;
  console.log(`ratios: r18=${both(`step:r18:b${b}:plain`)} r18b128=${both('step:r18:b128:plain')} update=${both('update:r18')} ` +
    `sinkhorn=${both(sinkName)} alignmix/input=${ratio(ours[`step:r18:b${b}:alignmix`], ours[`step:r18:b${b}:input-mixup`])} ` +
    `loader=${both(loaderName)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
