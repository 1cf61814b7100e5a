/**
 * The `alignmix` command line: train, evaluate and compare methods with the same library code
 * notebooks use.
 *
 *   alignmix train   --protocol cifar100 --method alignmixup --data-root ~/data --set epochs=200
 *   alignmix eval    --run-dir runs/<run> [--parts top1,fgsm,pgd,calibration,ood]
 *   alignmix compare --protocol fashion-mnist --methods baseline,cutmix,alignmixup --seeds 0,1,2
 *   alignmix sweep run SPEC.json --launcher local --jobs 2     (lib/train/sweep.ts)
 *   alignmix sweep worker DIR --index i                        one run of a sweep (what launchers start)
 *   alignmix sweep status DIR | alignmix sweep collect DIR
 *   alignmix list    protocols, methods and mixing modes
 *
 * `compare` is a sweep (grid over methods, seeds) run by the local launcher in this process.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { BACKEND_NAMES, BackendName, describeBackend, initBackend } from '../backend';
import { BatchLoader, subsetDataset } from '../data/index';
import { EVAL_PARTS, EvalPart, evaluateModel, reliabilityToCsv, writeReportCsv } from '../eval/index';
import { ConfigOverrides, applyAssignments, protocolDescription, protocolNames, resolveConfig } from '../train/config';
import { methodNames, methodSpec } from '../train/methods';
import { MIX_MODES, parseModeSchedule } from '../train/modes';
import { localLauncher } from '../train/launch-local';
import { createLauncher, launcherNames, launcherNotes } from '../train/launchers';
import { SweepSpec, collectSweep, createSweep, readSweep, runSweep, runSweepRun, sweepStatus, writeSweepCsv } from '../train/sweep';
import { loadRunConfig, loadRunModel, train, RunSummary } from '../train/trainer';
import { progressCallbacks } from './progress';
import { resultsTable, statusTable, stoppedRuns } from './compare';

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${name} expects an integer, got '${v}'`);
  return n;
};
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got '${v}'`);
  return n;
};
const collect = (v: string, prev: string[]) => [...prev, v];

interface CommonTrainFlags {
  protocol: string;
  method?: string;
  modes?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  dataRoot?: string;
  download?: boolean;
  perClass?: number;
  workers?: number;
  config?: string;
  set: string[];
  backend?: BackendName;
  threads?: number;
}

function addCommonTrainFlags(cmd: Command): Command {
  return cmd
    .option('--protocol <name>', `protocol preset (${protocolNames().join(', ')})`, 'fashion-mnist')
    .option('--modes <schedule>', 'mode schedule replacing the method\'s, e.g. input:2,feat:1,featPrime:1')
    .option('--epochs <n>', 'epochs (milestones scale with it)', int('epochs'))
    .option('--batch-size <n>', 'batch size', int('batch-size'))
    .option('--lr <x>', 'learning rate (body; classifier too unless optim.classifierLr is set)', num('lr'))
    .option('--data-root <dir>', 'dataset folder (CIFAR, TinyImageNet, ImageNet)')
    .option('--download', 'download the dataset archive when missing (CIFAR, TinyImageNet)')
    .option('--per-class <n>', 'quick runs: at most n training images per class', int('per-class'))
    .option('--workers <n>', 'data loader worker threads (0 = main thread)', int('workers'))
    .option('--config <file.json>', 'JSON file of config overrides')
    .option('--set <path=value>', 'override any config field, e.g. --set optim.weightDecay=5e-4 (repeatable)', collect, [])
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(BACKEND_NAMES as unknown as string[]))
    .option('--threads <n>', 'compute threads', int('threads'));
}

function overridesFrom(flags: CommonTrainFlags, extra: ConfigOverrides = {}): ConfigOverrides {
  let o: ConfigOverrides = flags.config ? JSON.parse(fs.readFileSync(flags.config, 'utf8')) : {};
  o = { ...o, ...extra };
  const data = { ...o.data };
  if (flags.dataRoot !== undefined) data.root = flags.dataRoot;
  if (flags.download) data.download = true;
  if (flags.perClass !== undefined) data.trainPerClass = flags.perClass;
  if (flags.workers !== undefined) data.workers = flags.workers;
  if (Object.keys(data).length) o.data = data;
  if (flags.method !== undefined) o.method = flags.method;
  if (flags.modes !== undefined) o.modes = parseModeSchedule(flags.modes);
  if (flags.epochs !== undefined) o.epochs = flags.epochs;
  if (flags.batchSize !== undefined) o.batchSize = flags.batchSize;
  if (flags.lr !== undefined) o.optim = { ...o.optim, lr: flags.lr };
  return applyAssignments(o, flags.set);
}

async function startBackend(flags: { backend?: BackendName; threads?: number }): Promise<void> {
  const info = await initBackend({ backend: flags.backend, threads: flags.threads });
  process.stderr.write(`alignmix: backend ${describeBackend(info)}\n`);
}

/**
 * Stop training cleanly on Ctrl-C (SIGINT), on SIGTERM (what `kill`, `scancel`, `scontrol requeue`
 * and preemption send) and on SIGUSR1 (what a Slurm job asks for before its time limit, see
 * lib/train/launch-slurm.ts): the run finishes its batch, checkpoints there and can be resumed.
 * `how` tells the user how to resume. A local sweep's workers run in their own process group, so
 * a terminal's Ctrl-C reaches them once, forwarded by the launcher.
 */
export function interruptSignal(how = 'resume with --resume'): AbortSignal {
  const controller = new AbortController();
  const stop = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\nalignmix: ${name}; stopping after this batch with a checkpoint (${how})\n`);
    controller.abort();
  };
  // A second Ctrl-C ends the process at once (Node's default); SIGTERM / SIGUSR1 may arrive twice
  // (from Slurm and from the job script that forwards them) and must not kill the checkpoint.
  process.once('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGUSR1', stop);
  return controller.signal;
}

/** A sweep's results: the per-variant table, the runs that stopped, and the CSV files written. */
function printResults(dir: string, label?: string): boolean {
  const results = collectSweep(dir);
  console.log(resultsTable(results, label));
  if (results.failed.length) console.log(`runs not averaged in (they did not complete):\n${stoppedRuns(results.failed)}`);
  const csv = writeSweepCsv(dir, results);
  console.log(`per-run results: ${csv.runs}; per-variant: ${csv.results}`);
  return results.failed.length === 0;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function printSummary(s: RunSummary): void {
  console.log(`${s.method} on ${s.protocol} (seed ${s.seed}, ${s.epochs} epochs, ${s.trainSeconds.toFixed(0)} s): `
    + `test ${pct(s.testAccuracyAtBestVal)} at best val (${pct(s.bestValAccuracy)}, epoch ${s.bestValEpoch}); `
    + `best test ${pct(s.bestTestAccuracy)}; median of last ${s.lastN}: ${pct(s.medianLastNTestAccuracy)}`);
}

export function buildProgram(): Command {
  const program = new Command('alignmix')
    .description('AlignMixup in TypeScript: train, evaluate and compare mixup methods')
    .exitOverride()
    .showHelpAfterError();

  addCommonTrainFlags(program.command('train').description('train one model (Algorithm 1) into a run directory'))
    .option('--method <name>', 'training method (alignmix list methods)', 'alignmixup')
    .option('--seed <n>', 'random seed', int('seed'))
    .option('--run-dir <dir>', 'run directory (default runs/<protocol>-<method>-s<seed>-<time>)')
    .option('--resume', 'continue the run in --run-dir from its last checkpoint (uses its saved config)')
    .action(async (flags: CommonTrainFlags & { seed?: number; runDir?: string; resume?: boolean }) => {
      await startBackend(flags);
      const config = flags.resume
        ? (() => {
          if (!flags.runDir) throw new Error('--resume needs --run-dir');
          return loadRunConfig(flags.runDir);
        })()
        : resolveConfig(flags.protocol, overridesFrom(flags, flags.seed !== undefined ? { seed: flags.seed } : {}));
      const result = await train(config, {
        runDir: flags.runDir, resume: flags.resume, signal: interruptSignal('resume with --resume'),
        callbacks: progressCallbacks(config.method, config.epochs),
      });
      result.model.dispose();
      if (result.status === 'aborted') {
        console.log(`stopped after ${result.history.length} epochs; resume with: alignmix train --resume --run-dir ${result.runDir}`);
        process.exitCode = 130;
        return;
      }
      printSummary(result.summary);
      console.log(`run directory: ${result.runDir}`);
    });

  program.command('eval')
    .description('evaluate a run\'s checkpoint: top-1, FGSM, PGD, calibration, OOD noise (CSV report)')
    .requiredOption('--run-dir <dir>', 'run directory written by alignmix train')
    .addOption(new Option('--checkpoint <which>', 'checkpoint').choices(['best', 'last']).default('best'))
    .option('--parts <list>', `comma-separated parts (${EVAL_PARTS.filter((p) => p !== 'localization').join(',')})`, list, ['top1', 'fgsm', 'pgd', 'calibration', 'ood'])
    .option('--pgd-steps <n>', 'PGD steps', int('pgd-steps'), 10)
    .option('--bins <n>', 'calibration bins', int('bins'), 15)
    .option('--limit <n>', 'evaluate on the first n test images only', int('limit'))
    .option('--out <dir>', 'output folder (default <run-dir>/eval)')
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(BACKEND_NAMES as unknown as string[]))
    .option('--threads <n>', 'compute threads', int('threads'))
    .action(async (flags: { runDir: string; checkpoint: 'best' | 'last'; parts: string[]; pgdSteps: number; bins: number; limit?: number; out?: string; backend?: BackendName; threads?: number }) => {
      await startBackend(flags);
      for (const p of flags.parts) {
        if (!(EVAL_PARTS as readonly string[]).includes(p) || p === 'localization') throw new Error(`unknown eval part '${p}'; known: top1, fgsm, pgd, calibration, ood`);
      }
      const { model, config, data } = await loadRunModel(flags.runDir, flags.checkpoint);
      try {
        const testSet = flags.limit && flags.limit < data.test.size
          ? subsetDataset(data.test, Array.from({ length: flags.limit }, (_, i) => i), `${data.test.name}[:${flags.limit}]`)
          : data.test;
        const loader = new BatchLoader(testSet, { batchSize: config.evalBatchSize, shuffle: false, workers: 0 });
        const report = await evaluateModel(model, loader, {
          parts: flags.parts as EvalPart[], pgd: { steps: flags.pgdSteps }, calibration: { bins: flags.bins }, seed: config.seed,
        });
        await loader.close();
        const out = path.resolve(flags.out ?? path.join(flags.runDir, 'eval'));
        fs.mkdirSync(out, { recursive: true });
        writeReportCsv(path.join(out, `report-${flags.checkpoint}.csv`), report.rows);
        if (report.calibration) fs.writeFileSync(path.join(out, `reliability-${flags.checkpoint}.csv`), reliabilityToCsv(report.calibration.reliability));
        for (const r of report.rows) console.log(`${r.metric.padEnd(22)} ${r.value.toFixed(2).padStart(7)} ${r.unit}  ${r.source}  (n=${r.n}${r.settings ? `, ${r.settings}` : ''})`);
        console.log(`report written to ${out}`);
      } finally {
        model.dispose();
      }
    });

  addCommonTrainFlags(program.command('compare').description('train several methods (and seeds) under the same budget; print and save a table'))
    .option('--methods <list>', 'methods to compare', list, ['baseline', 'input-mixup', 'manifold-mixup', 'cutmix', 'alignmixup', 'alignmixup-ae'])
    .option('--seeds <list>', 'seeds', (v: string) => list(v).map(int('seeds')), [0])
    .option('--runs-root <dir>', 'the sweep directory (default runs/compare-<time>); give an existing one to continue it')
    .option('--jobs <n>', 'runs at once, as worker processes (default 1: in this process)', int('jobs'), 1)
    .option('--out <file.csv>', 'also write the per-run results (the sweep\'s runs.csv) to this file')
    .action(async (flags: CommonTrainFlags & { methods: string[]; seeds: number[]; runsRoot?: string; jobs: number; out?: string }) => {
      await startBackend(flags);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
      const dir = path.resolve(flags.runsRoot ?? path.join('runs', `compare-${stamp}`));
      const spec: SweepSpec = { protocol: flags.protocol, overrides: overridesFrom(flags), grid: { method: flags.methods }, seeds: flags.seeds };
      const { runs } = createSweep(dir, spec);
      const signal = interruptSignal(`run the same command with --runs-root ${dir} to continue`);
      const launcher = flags.jobs === 1 ? localLauncher({ inProcess: true }) : localLauncher({ jobs: flags.jobs, threads: flags.threads });
      await runSweep(dir, launcher, {
        signal,
        callbacks: (run) => progressCallbacks(`${run.variant} s${run.seed}`, run.config.epochs),
        onEvent: (e) => { if (flags.jobs > 1) process.stderr.write(`${e.id}: ${e.kind === 'started' ? 'started' : e.status?.state}\n`); },
      });
      if (signal.aborted) process.exitCode = 130;
      console.log(`${runs.length} runs in ${dir}`);
      if (!printResults(dir, 'method') && !signal.aborted) process.exitCode = 1;
      if (flags.out) {
        fs.mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
        fs.copyFileSync(path.join(dir, 'runs.csv'), flags.out);
      }
    });

  const sweep = program.command('sweep').description('many runs of one protocol: plan, run (local or a scheduler), status, collect');

  sweep.command('run')
    .description('plan a sweep (a JSON spec, see README "Sweeps") into a directory and run its unfinished runs')
    .argument('<spec>', 'sweep spec (JSON file), or a sweep directory to continue')
    .argument('[launcherArgs...]', 'after --: arguments for the launcher (e.g. sbatch resource flags)')
    .option('--dir <dir>', 'sweep directory (default runs/sweep-<spec file name>)')
    .option('--launcher <name>', `where the runs execute (${launcherNames().join(', ')})`, 'local')
    .option('--jobs <n>', 'local: runs at once (worker processes)', int('jobs'), 1)
    .option('--threads <n>', 'local: compute threads shared by the jobs (default all cores)', int('threads'))
    .action(async (specArg: string, launcherArgs: string[], flags: { dir?: string; launcher: string; jobs: number; threads?: number }) => {
      const isDir = fs.existsSync(specArg) && fs.statSync(specArg).isDirectory();
      const dir = path.resolve(isDir ? specArg : flags.dir ?? path.join('runs', `sweep-${path.basename(specArg, '.json')}`));
      const launcher = createLauncher(flags.launcher, { jobs: flags.jobs, threads: flags.threads, extraArgs: launcherArgs });
      if (!isDir) {
        let spec: SweepSpec;
        try {
          spec = JSON.parse(fs.readFileSync(specArg, 'utf8')) as SweepSpec;
        } catch (e) {
          throw new Error(`sweep spec ${specArg}: ${(e as Error).message}`);
        }
        createSweep(dir, spec);
      }
      const { runs } = readSweep(dir);
      const signal = interruptSignal(`run the same command to continue: alignmix sweep run ${dir}`);
      process.stderr.write(`alignmix: sweep of ${runs.length} runs in ${dir} (${flags.launcher} launcher)\n`);
      const report = await runSweep(dir, launcher, {
        signal,
        onEvent: (e) => process.stderr.write(`  run ${e.index} (${e.id}): ${e.kind === 'started' ? `started${e.pid ? ` (pid ${e.pid})` : ''}` : e.status?.state ?? 'stopped'}\n`),
      });
      if (report.note) console.log(report.note);
      if (!report.waited) {
        console.log(`submitted ${report.submitted.length} runs; follow them with: alignmix sweep status ${dir}`);
        return;
      }
      if (signal.aborted) process.exitCode = 130;
      if (!printResults(dir) && !signal.aborted) process.exitCode = 1;
    });

  sweep.command('worker')
    .description('run one run of a sweep (what launchers start): skips it when completed, resumes it exactly when started before')
    .argument('<dir>', 'sweep directory')
    .requiredOption('--index <i>', 'the run\'s index (0-based, as in sweep status)', int('index'))
    .addOption(new Option('--backend <name>', 'TF.js backend').choices(BACKEND_NAMES as unknown as string[]))
    .option('--threads <n>', 'compute threads (default ALIGNMIX_THREADS, else all cores)', int('threads'))
    .action(async (dir: string, flags: { index: number; backend?: BackendName; threads?: number }) => {
      await startBackend(flags);
      const run = readSweep(dir).runs[flags.index];
      const status = await runSweepRun(dir, flags.index, {
        signal: interruptSignal('running the sweep again resumes this run'),
        callbacks: run ? progressCallbacks(run.id, run.config.epochs) : undefined,
      });
      console.log(`run ${flags.index} (${run.id}): ${status.state}${status.error ? `: ${status.error}` : ''}`);
      process.exitCode = status.state === 'completed' ? 0 : status.state === 'cancelled' ? 130 : 1;
    });

  sweep.command('status')
    .description('where each run of a sweep stands (read from its run directory)')
    .argument('<dir>', 'sweep directory')
    .action(async (dir: string) => {
      const runs = sweepStatus(dir);
      console.log(statusTable(runs));
      const stopped = runs.filter((r) => r.state === 'failed' || r.state === 'cancelled' || r.state === 'lost');
      if (stopped.length) console.log(`stopped:\n${stoppedRuns(stopped)}`);
      const notes = await launcherNotes(dir);
      if (notes.size) console.log(`scheduler:\n${[...notes].map(([i, note]) => `  ${i} ${runs[i].id}: ${note}`).join('\n')}`);
    });

  sweep.command('collect')
    .description('mean ± std over seeds per variant (completed runs only), failed runs with their logs; writes runs.csv and results.csv')
    .argument('<dir>', 'sweep directory')
    .action(async (dir: string) => {
      if (!printResults(dir)) process.exitCode = 1;
    });

  program.command('list')
    .description('list protocols, methods and mixing modes')
    .action(() => {
      console.log('protocols:');
      for (const p of protocolNames()) console.log(`  ${p.padEnd(14)} ${protocolDescription(p)}`);
      console.log('methods:');
      for (const m of methodNames()) console.log(`  ${m.padEnd(28)} ${methodSpec(m).description}`);
      console.log(`mixing modes: ${MIX_MODES.join(', ')}`);
    });

  return program;
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    const err = e as { code?: string; exitCode?: number };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return 0;
    if (err.code?.startsWith('commander.')) return err.exitCode ?? 1;
    throw e;
  }
  return Number(process.exitCode ?? 0);
}
