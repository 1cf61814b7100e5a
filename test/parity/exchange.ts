/**
 * Plumbing of the step-parity tests: tensor bundles shared with the PyTorch reference
 * (test/parity/tensor_io.py describes the format), running it, the library's side of a
 * multi-step run, and the error measures and table.
 *
 * The reference runs on Debian's /usr/bin/python3 with python3-torch (1.13, CPU), which .ci/run
 * installs. Where torch cannot be imported, `skipWithoutTorch` says why and the suites skip
 * loudly; nothing else skips.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { AlignMixModel } from '../../lib/models/model';
import { Rng } from '../../lib/random';
import { SGD, SgdOptions } from '../../lib/train/optim';
import { BatchChoices, BatchLosses, StepSettings, trainStepWithChoices } from '../../lib/train/step';

export const PYTHON = '/usr/bin/python3';
const RUNNER = path.join(__dirname, 'run_step.py');

export interface HostTensor {
  shape: number[];
  values: Float32Array;
}

/** Why torch cannot be used here, or null when `import torch` works. */
export function torchUnavailable(): string | null {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} does not exist`;
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  if (r.status !== 0) return `${PYTHON} cannot import torch (install Debian's python3-torch, as .ci/run does): ${(r.stderr || '').trim().split('\n').pop()}`;
  return null;
}

/** A mocha `before` hook that skips the suite when torch cannot be imported, saying why in a box a CI log reader cannot miss. */
export function skipWithoutTorch(suite: string): (this: Mocha.Context) => void {
  const unavailable = torchUnavailable();
  return function () {
    if (!unavailable) return;
    const line = '!'.repeat(100);
    console.log(`\n${line}\n!! SKIPPED: ${suite}\n!! ${unavailable}\n${line}\n`);
    this.skip();
  };
}

export function host(t: tf.Tensor): HostTensor {
  return { shape: t.shape.slice(), values: t.dataSync() as Float32Array };
}

export function writeBundle(file: string, meta: object, tensors: Record<string, HostTensor>): void {
  const index: Record<string, { shape: number[]; offset: number }> = {};
  const fd = fs.openSync(`${file}.bin`, 'w');
  let offset = 0;
  try {
    for (const [key, t] of Object.entries(tensors)) {
      const bytes = Buffer.from(Float32Array.from(t.values).buffer);
      fs.writeSync(fd, bytes);
      index[key] = { shape: t.shape, offset };
      offset += bytes.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(`${file}.json`, JSON.stringify({ meta, tensors: index }));
}

export function readBundle(file: string): { meta: Record<string, unknown>; tensors: Record<string, HostTensor> } {
  const header = JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as { meta: Record<string, unknown>; tensors: Record<string, { shape: number[]; offset: number }> };
  const raw = fs.readFileSync(`${file}.bin`);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const tensors: Record<string, HostTensor> = {};
  for (const [key, { shape, offset }] of Object.entries(header.tensors)) {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors[key] = { shape, values: all.subarray(offset / 4, offset / 4 + n) };
  }
  return { meta: header.meta, tensors };
}

/** Run the reference on DIR/in.* and read DIR/out.*; throws with the reference's stderr on failure. */
export function runReference(dir: string): ReturnType<typeof readBundle> {
  const r = spawnSync(PYTHON, [RUNNER, dir], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' } });
  if (r.status !== 0) throw new Error(`${RUNNER} failed (status ${r.status}):\n${r.stderr}`);
  return readBundle(path.join(dir, 'out'));
}

/** ||a - b|| / ||b|| over the whole tensor (float64 sums); 0 when both are zero. */
export function normRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`normRelativeError: ${a.length} values against ${b.length}`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    ref += b[i] ** 2;
  }
  if (ref === 0) return diff === 0 ? 0 : Infinity;
  return Math.sqrt(diff / ref);
}

/** Element-wise a - b. */
export function minus(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

/** Tolerances of the parity suites; authors-step.test.ts says why each is what it is. */
export const TOLERANCE = {
  logits: 1e-4, loss: 1e-5, laterLoss: 1e-3, grad: 5e-2, change: 1e-1, gradAll: 1e-2, changeAll: 2e-2, buffers: 5e-3, replay: 1e-4, plan: 1e-4,
};

/** One row of the printed parity table. */
export interface CheckRow {
  check: string;
  /** Largest error of the check (over its tensors) and where it was. */
  error: number;
  worst: string;
  tolerance: number;
}

/** Print the table, then fail naming every check over its tolerance. */
export function assertWithinTolerance(title: string, rows: CheckRow[]): void {
  printTable(title, rows);
  const failed = rows.filter((r) => !(r.error <= r.tolerance));
  assert.deepEqual(failed.map((r) => `${r.check}: ${r.error.toExponential(2)} (${r.worst}) > ${r.tolerance}`), []);
}

function printTable(title: string, rows: CheckRow[]): void {
  const w = Math.max(...rows.map((r) => r.check.length), 5);
  console.log(`\n    ${title}`);
  console.log(`    ${'check'.padEnd(w)}  ${'largest err'.padStart(11)}  ${'tolerance'.padStart(9)}  verdict  worst tensor`);
  for (const r of rows) {
    const verdict = r.error <= r.tolerance ? 'ok' : 'FAIL';
    console.log(`    ${r.check.padEnd(w)}  ${r.error.toExponential(2).padStart(11)}  ${r.tolerance.toExponential(0).padStart(9)}  ${verdict.padEnd(7)}  ${r.worst}`);
  }
}

/** Parameters (param/<path>) and BN buffers (buffer/<path>) of `model`, added to `into`. */
export function snapshot(model: AlignMixModel, into: Record<string, HostTensor>): void {
  for (const [p, v] of model.namedParameters()) into[`param/${p}`] = host(v);
  for (const [p, v] of model.namedBuffers()) into[`buffer/${p}`] = host(v);
}

export interface LibraryRun {
  /** Step 1: logits, losses and the gradient of every parameter (by path). */
  logits: HostTensor;
  firstLosses: BatchLosses;
  grads: Record<string, HostTensor>;
  /** Total loss of every step. */
  losses: number[];
  /** Parameters and buffers after the last step (param/<path>, buffer/<path>). */
  after: Record<string, HostTensor>;
}

export interface LibraryRunSpec {
  settings: StepSettings;
  steps: number;
  lr: number;
  sgd: SgdOptions;
  /** Every step gets a fresh Rng(seed), so its draws (CutMix box, VAE noise) repeat. */
  seed: number;
  /** Called with each step's gradients (by path), e.g. to replay them through torch.optim.SGD. */
  onStep?: (step: number, grads: Record<string, HostTensor>) => void;
}

/** `spec.steps` library steps (trainStepWithChoices) from the `initial` state on one batch. */
export function runLibrary(
  model: AlignMixModel, initial: Record<string, tf.Tensor>, x: tf.Tensor4D, y: tf.Tensor1D, choices: BatchChoices, spec: LibraryRunSpec,
): LibraryRun {
  model.loadStateDict(initial);
  const optimizer = new SGD(model.parameterGroups(), spec.sgd);
  const names = new Map(model.namedParameters().map(([p, v]) => [v.name, p]));
  const run: LibraryRun = { logits: { shape: [], values: new Float32Array() }, firstLosses: { total: NaN, classification: NaN }, grads: {}, losses: [], after: {} };
  try {
    for (let step = 0; step < spec.steps; step++) {
      const r = trainStepWithChoices(model, optimizer, x, y, choices, spec.settings, { body: spec.lr, classifier: spec.lr }, new Rng(spec.seed), (s) => {
        const grads: Record<string, HostTensor> = {};
        for (const [name, g] of Object.entries(s.grads)) grads[names.get(name) as string] = host(g);
        if (step === 0) {
          run.logits = host(s.logits);
          run.grads = grads;
        }
        spec.onStep?.(step, grads);
      });
      if (step === 0) run.firstLosses = r.losses;
      run.losses.push(r.losses.total);
    }
    snapshot(model, run.after);
  } finally {
    optimizer.dispose();
  }
  return run;
}

/**
 * The largest per-tensor norm-relative error of `lib` against `ref` over `keys`. With
 * floorFraction > 0 a tensor is judged against max(||ref_t||, floorFraction ||ref_all||), so a
 * tensor whose reference is ~0 (the stem BN's gamma gradient) does not dominate by noise alone.
 */
export function worstOf(
  check: string, keys: string[], lib: (k: string) => ArrayLike<number>, ref: (k: string) => ArrayLike<number>,
  tolerance: number, floorFraction = 0,
): CheckRow {
  const norm = (v: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
    return Math.sqrt(s);
  };
  const floor = floorFraction > 0 ? floorFraction * Math.sqrt(keys.reduce((s, k) => s + norm(ref(k)) ** 2, 0)) : 0;
  let row: CheckRow = { check, error: 0, worst: '-', tolerance };
  for (const k of keys) {
    const refNorm = norm(ref(k));
    const raw = normRelativeError(lib(k), ref(k));
    const err = refNorm >= floor ? raw : (raw * refNorm) / floor;
    if (!(err <= row.error)) row = { ...row, error: err, worst: k };
  }
  return row;
}

/** Logits, the step-1 loss, later losses, every gradient, p_n - p0, p_n and the BN buffers. */
export function stepRows(
  label: string, model: AlignMixModel, initial: Record<string, HostTensor>, lib: LibraryRun,
  ref: (k: string) => ArrayLike<number>,
  tol: { logits: number; loss: number; laterLoss: number; grad: number; change: number; gradAll: number; changeAll: number; buffers: number },
): CheckRow[] {
  const params = model.namedParameters().map(([p]) => p);
  const buffers = model.namedBuffers().map(([p]) => p);
  const p0 = (p: string) => initial[`param/${p}`].values;
  const refLosses = ref('losses');
  const lossErrors = lib.losses.map((l, s) => Math.abs(l - refLosses[s]) / Math.abs(refLosses[s]));
  const later = lossErrors.slice(1);
  const n = lib.losses.length;
  const concat = (f: (p: string) => ArrayLike<number>) => Float64Array.from(params.flatMap((p) => Array.from(f(p))));
  const libChange = (p: string) => minus(lib.after[`param/${p}`].values, p0(p));
  const refChange = (p: string) => minus(ref(`after/${p}`), p0(p));
  return [
    { check: `${label}: logits`, error: normRelativeError(lib.logits.values, ref('logits')), worst: 'logits', tolerance: tol.logits },
    { check: `${label}: loss, step 1`, error: lossErrors[0], worst: 'loss', tolerance: tol.loss },
    { check: `${label}: loss, steps 2-${n}`, error: Math.max(...later), worst: `step ${later.indexOf(Math.max(...later)) + 2}`, tolerance: tol.laterLoss },
    { check: `${label}: gradient, all parameters as one vector`, error: normRelativeError(concat((p) => lib.grads[p].values), concat((p) => ref(`grad/${p}`))), worst: '-', tolerance: tol.gradAll },
    worstOf(`${label}: gradients`, params, (p) => lib.grads[p].values, (p) => ref(`grad/${p}`), tol.grad, 1e-3),
    { check: `${label}: p${n} - p0, all parameters as one vector`, error: normRelativeError(concat(libChange), concat(refChange)), worst: '-', tolerance: tol.changeAll },
    worstOf(`${label}: p${n} - p0`, params, libChange, refChange, tol.change, 1e-3),
    worstOf(`${label}: p${n}`, params, (p) => lib.after[`param/${p}`].values, (p) => ref(`after/${p}`), tol.change),
    worstOf(`${label}: BN running stats`, buffers, (p) => lib.after[`buffer/${p}`].values, (p) => ref(`after/${p}`), tol.buffers),
  ];
}
