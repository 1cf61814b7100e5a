/**
 * Where the oneDNN time of one PreActResNet18 train step goes, ours against PyTorch's, by
 * convolution layer and direction, from oneDNN's own verbose timing of each primitive
 * (`ONEDNN_VERBOSE=1`): both sides run their convolutions and (ours) batch norms in oneDNN, so
 * this compares the kernels each framework's oneDNN picks for the same work, which per-op
 * micro-benchmarks (bench/kernels.ts) measure only out of the step's context.
 *
 *   npm run bench:onednn -- [--batch 32] [--warmup 3] [--steps 3] [--no-torch] [--json file]
 *
 * Ours: bench/r18-step.ts's plain step in a child process started with ONEDNN_VERBOSE=1 (the
 * library reads it once, when it loads), --warmup steps, then --steps steps, each between two
 * marker lines. PyTorch: bench/torch/onednn_step.py, the same step as bench/torch/train_step.py,
 * with the verbose log switched on for its --steps steps after its warm-up. Each figure is the
 * median over a side's logged steps; the wall times include printing the log (a few hundred
 * lines per step).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Command } from 'commander';
import { describeBackend, initBackend } from '../lib/backend';
import { Rng } from '../lib/random';
import { medianSummary, OnednnSummary, parseOnednnExec, summariseOnednn } from './onednn-verbose';
import { r18Step } from './r18-step';
import { median } from './timing';
import { runTorchScript } from './torch-side';

const BEGIN = 'alignmix-onednn-step begin';
const END = 'alignmix-onednn-step end';

interface Side { backend: string; wallMs: number; onednn: OnednnSummary; steps: number }

/** Both sides' per-step logs as medians over the logged steps. */
function side(backend: string, wallMs: number[], log: string): Side {
  const windows = parseOnednnExec(log, BEGIN, END);
  if (windows.length !== wallMs.length || windows.some((w) => w.length === 0)) {
    throw new Error(`bench:onednn: ${backend}: expected ${wallMs.length} logged steps with oneDNN lines, found ${windows.map((w) => w.length).join(', ') || 'none'} (is oneDNN in use?)`);
  }
  return { backend, wallMs: median(wallMs), onednn: medianSummary(windows.map(summariseOnednn)), steps: windows.length };
}

/** In the child: warm up, then each logged step between the markers, then a JSON line. */
async function runChild(batch: number, warmup: number, steps: number): Promise<void> {
  const info = await initBackend();
  const step = r18Step(batch, 'clean', new Rng(1));
  for (let i = 0; i < warmup; i++) step.run();
  const wallMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    // Written straight to fd 1, where oneDNN prints its lines (flushing each), so the markers
    // and the log stay in order.
    fs.writeSync(1, `${BEGIN}\n`);
    const t0 = process.hrtime.bigint();
    step.run();
    wallMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    fs.writeSync(1, `${END}\n`);
  }
  fs.writeSync(1, `${JSON.stringify({ backend: describeBackend(info), wallMs })}\n`);
  step.dispose();
}

function ours(batch: number, warmup: number, steps: number): Side {
  const args = ['-r', 'ts-node/register/transpile-only', __filename, '--child', '--batch', String(batch), '--warmup', String(warmup), '--steps', String(steps)];
  const r = spawnSync(process.execPath, args, {
    env: { ...process.env, ONEDNN_VERBOSE: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`bench:onednn: our child process exited with ${r.status ?? r.signal}`);
  const lines = r.stdout.trimEnd().split('\n');
  const { backend, wallMs } = JSON.parse(lines[lines.length - 1]) as { backend: string; wallMs: number[] };
  return side(backend, wallMs, r.stdout);
}

function torch(batch: number, warmup: number, steps: number, threads: number): Side | string {
  const r = runTorchScript('onednn_step.py', ['--threads', String(threads), '--batch', String(batch), '--warmup', String(warmup), '--steps', String(steps),
    '--begin', BEGIN, '--end', END]);
  if ('reason' in r) return r.reason;
  const figure = r.report.figures?.[`step:r18:b${batch}:plain:verbose`];
  if (!figure?.runs_ms) return 'onednn_step.py reported no step times';
  return side(`PyTorch ${r.report.torch} (CPU, ${r.report.threads} threads)`, figure.runs_ms, r.output);
}

function printTable(a: Side, b: Side | undefined): void {
  const row = (name: string, x?: number, y?: number) => {
    const fmt = (v?: number) => (v === undefined ? '-' : v.toFixed(1)).padStart(9);
    const ratio = x !== undefined && y !== undefined && y > 0 ? (x / y).toFixed(2) : '';
    console.log(`${name.padEnd(34)}${fmt(x)}${fmt(y)}  ${ratio}`);
  };
  console.log(`${'ms in one step'.padEnd(34)}${'ours'.padStart(9)}${'PyTorch'.padStart(9)}  ratio`);
  // Layers in the order our step first runs them (forward, then backward).
  const labels = [...new Set([...Object.keys(a.onednn.convolutions), ...Object.keys(b?.onednn.convolutions ?? {})])];
  for (const label of labels) row(label, a.onednn.convolutions[label], b?.onednn.convolutions[label]);
  row('all convolutions', a.onednn.convolutionMs, b?.onednn.convolutionMs);
  for (const kind of [...new Set([...Object.keys(a.onednn.others), ...Object.keys(b?.onednn.others ?? {})])]) {
    row(kind, a.onednn.others[kind], b?.onednn.others[kind]);
  }
  row('all oneDNN primitives', a.onednn.totalMs, b?.onednn.totalMs);
  row('step wall time (log on)', a.wallMs, b?.wallMs);
  row('outside oneDNN', a.wallMs - a.onednn.totalMs, b ? b.wallMs - b.onednn.totalMs : undefined);
}

async function main(): Promise<void> {
  const program = new Command('bench:onednn')
    .option('--batch <n>', 'batch size', '32')
    .option('--warmup <n>', 'steps before the logged ones', '3')
    .option('--steps <n>', 'logged steps per side (figures: medians over them)', '3')
    .option('--no-torch', 'skip the PyTorch side')
    .option('--json <file>', 'also write both sides\' figures as JSON')
    .option('--child', 'internal: run our logged step')
    .parse();
  const o = program.opts<{ batch: string; warmup: string; steps: string; torch: boolean; json?: string; child?: boolean }>();
  const [batch, warmup, steps] = (['batch', 'warmup', 'steps'] as const).map((k) => {
    const v = Number(o[k]);
    // At least one warm-up step: the first step builds the primitives.
    if (!Number.isInteger(v) || v < 1) throw new Error(`bench:onednn: --${k} needs a positive integer, got '${o[k]}'`);
    return v;
  });
  if (o.child) return runChild(batch, warmup, steps);

  const threads = os.availableParallelism();
  const a = ours(batch, warmup, steps);
  const b = o.torch ? torch(batch, warmup, steps, threads) : 'skipped (--no-torch)';
  const theirs = typeof b === 'string' ? undefined : b;
  console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${threads} cores; date ${new Date().toISOString()}`);
  console.log(`ours: ${a.backend}; PyTorch: ${theirs ? theirs.backend : b}; b${batch} plain step, medians over ${steps} logged steps each`);
  printTable(a, theirs);
  if (o.json) {
    fs.mkdirSync(path.dirname(path.resolve(o.json)), { recursive: true });
    fs.writeFileSync(o.json, `${JSON.stringify({ date: new Date().toISOString(), machine: os.cpus()[0]?.model, cores: threads, batch, ours: a, torch: b }, null, 2)}\n`);
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
