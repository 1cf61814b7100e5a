import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '../../lib/train/checkpoint';
import { resolveConfig } from '../../lib/train/config';
import { localLauncher } from '../../lib/train/launch-local';
import { readMetrics, readRunStatus, runFile, writeRunStatus } from '../../lib/train/run-dir';
import {
  LaunchEvent, SweepSpec, collectSweep, createSweep, meanStd, planSweep, readSweep, runSweep, sweepRunDir, sweepStatus,
} from '../../lib/train/sweep';
import { train } from '../../lib/train/trainer';

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alignmix-${prefix}-`));

/** Two methods (one with Sinkhorn alignment) on synthetic shapes, 3 epochs of 6 batches: seconds per run. */
const SPEC: SweepSpec = {
  protocol: 'synthetic',
  overrides: { epochs: 3, batchSize: 16, data: { trainPerClass: 24, valPerClass: 8, testPerClass: 8, workers: 0 } },
  grid: { method: ['baseline', 'alignmixup'] },
  seeds: [5],
};

/** Everything a run computed (its per-epoch figures and its final weights), without the wall-clock columns. */
function outcome(dir: string): Record<string, unknown> {
  return Object.fromEntries(readSweep(dir).runs.map((r) => {
    const runDir = sweepRunDir(dir, r);
    const metrics = readMetrics(runDir).map(({ epoch, lr, trainLoss, valAccuracy, testAccuracy, modes, sinkhornRowError }) => ({ epoch, lr, trainLoss, valAccuracy, testAccuracy, modes, sinkhornRowError }));
    const { tensors } = loadCheckpoint(runFile(runDir, 'last'));
    const weights = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Array.from(t.dataSync())]));
    tf.dispose(Object.values(tensors));
    return [r.id, { metrics, weights }];
  }));
}

/** Resolves when `file` exists and `ok(file)` holds (polled every 20 ms). */
async function waitFor(what: string, test: () => boolean, timeoutMs = 240000): Promise<void> {
  const t0 = Date.now();
  while (!test()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sweeps', function () {
  this.timeout(900000);

  describe('planSweep validates every run before anything is written', () => {
    const rejects = (spec: unknown, pattern: RegExp) => {
      const dir = path.join(tmp('sweep-invalid'), 'sweep');
      assert.throws(() => createSweep(dir, spec as SweepSpec), pattern);
      assert.ok(!fs.existsSync(dir), 'nothing is written');
    };

    it('names the run and the key of an unknown config key or a bad value', () => {
      rejects({ ...SPEC, grid: { 'optim.lrr': [0.1] } }, /^Error: sweep run 0 \(0\.1-s5\): config\.optim: unknown option 'lrr'/);
      rejects({ ...SPEC, grid: undefined, variants: { ok: {}, bad: { sinkhorn: { eps: -1 } } } }, /sweep run 1 \(bad-s5\): config\.sinkhorn: eps must be a finite number > 0, got -1/);
      rejects({ ...SPEC, grid: undefined, variants: { slow: { sinkhorn: { maxIter: 2.5 } } } }, /sweep run 0 \(slow-s5\): config\.sinkhorn: maxIter must be an integer/);
      rejects({ ...SPEC, grid: { method: ['baseline', 'nomix'] } }, /sweep run 1 \(nomix-s5\): Unknown method 'nomix'/);
      rejects({ ...SPEC, grdi: {} }, /sweep spec: unknown option 'grdi'/);
      rejects({ ...SPEC, seeds: [0, -1] }, /sweep spec: seeds\[1\] must be an integer/);
      rejects({ ...SPEC, variants: {} }, /sweep spec: give one of grid, variants, configs; got grid and variants/);
    });

    it('rejects a missing dataset folder and the untrainable CUB protocol', () => {
      const empty = tmp('no-data');
      rejects({ protocol: 'cifar10', overrides: { data: { root: empty } } }, /sweep run 0 \(base\): config\.data\.root: dataset 'cifar10' is not under/);
      rejects({ protocol: 'cifar10' }, /sweep run 0 \(base\): config\.data\.root: dataset 'cifar10' needs data\.root/);
      rejects({ protocol: 'cub', overrides: { data: { root: empty } } }, /sweep run 0 \(base\): config\.data\.name: training on 'cub'/);
    });

    it('train() checks the same before it creates the run directory', async () => {
      const runDir = path.join(tmp('train-invalid'), 'run');
      await assert.rejects(train(resolveConfig('cub', { data: { root: tmp('no-cub') } }), { runDir }), /config\.data\.name: training on 'cub'/);
      await assert.rejects(train(resolveConfig('cifar100', { data: { root: tmp('no-cifar') } }), { runDir }), /config\.data\.root: dataset 'cifar100' is not under/);
      assert.throws(() => resolveConfig('synthetic', { sinkhorn: { eps: -1 } }), /config\.sinkhorn: eps must be a finite number > 0, got -1/);
      assert.throws(() => resolveConfig('synthetic', { sinkhorn: { tolerance: 1 } as never }), /config\.sinkhorn: unknown option 'tolerance'/);
      assert.ok(!fs.existsSync(runDir), 'no run directory was written');
    });

    it('orders runs seed by seed and names them <variant>-s<seed>', () => {
      const plan = planSweep({ ...SPEC, grid: { method: ['baseline', 'cutmix'], alpha: [1, 2] }, seeds: [0, 1] });
      assert.deepEqual(plan.runs.slice(0, 5).map((r) => r.id), [
        'method=baseline,alpha=1-s0', 'method=baseline,alpha=2-s0', 'method=cutmix,alpha=1-s0', 'method=cutmix,alpha=2-s0', 'method=baseline,alpha=1-s1',
      ]);
      assert.deepEqual([plan.runs[3].config.method, plan.runs[3].config.alpha, plan.runs[3].config.seed, plan.runs[3].config.epochs], ['cutmix', 2, 0, 3]);
      assert.equal(plan.runs.length, 8);
    });
  });

  describe('the local launcher (worker processes)', () => {
    const root = tmp('sweep-local');
    const reference = path.join(root, 'one-job');

    before(async () => {
      // The uninterrupted reference: one worker at a time, one thread.
      createSweep(reference, SPEC);
      await runSweep(reference, localLauncher({ jobs: 1, threads: 1 }));
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it('gives the same figures and weights with 2 jobs as with 1 (one thread per run either way)', async () => {
      const parallel = path.join(root, 'two-jobs');
      createSweep(parallel, SPEC);
      const events: LaunchEvent[] = [];
      await runSweep(parallel, localLauncher({ jobs: 2, threads: 2 }), { onEvent: (e) => events.push(e) });
      assert.deepEqual(events.slice(0, 2).map((e) => e.kind), ['started', 'started'], 'both runs ran at once');
      assert.deepEqual(sweepStatus(parallel).map((r) => r.state), ['completed', 'completed']);
      assert.deepEqual(outcome(parallel), outcome(reference));
      assert.equal(readMetrics(sweepRunDir(reference, readSweep(reference).runs[1])).length, 3);
    });

    it('resumes a killed worker and a Ctrl-C (mid-run) exactly: the final numbers equal an uninterrupted sweep', async () => {
      const dir = path.join(root, 'interrupted');
      const { runs } = createSweep(dir, SPEC);
      const controller = new AbortController();
      const epochsDone = (i: number) => readMetrics(sweepRunDir(dir, runs[i])).length;
      // Run 0's worker is killed outright after its first epoch; then run 1 gets Ctrl-C (SIGINT,
      // through the launcher) once it has an epoch too.
      let killed: () => void = () => undefined;
      const run0Killed = new Promise<void>((resolve) => { killed = resolve; });
      const stops: Promise<void>[] = [];
      await runSweep(dir, localLauncher({ jobs: 2, threads: 2 }), {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.kind !== 'started') return;
          const firstEpoch = waitFor(`an epoch of run ${e.index}`, () => epochsDone(e.index) >= 1);
          stops.push(e.index === 0
            ? firstEpoch.then(() => { process.kill(e.pid as number, 'SIGKILL'); killed(); })
            : Promise.all([firstEpoch, run0Killed]).then(() => controller.abort()));
        },
      });
      await Promise.all(stops);
      const stopped = sweepStatus(dir);
      assert.equal(stopped[0].state, 'failed', 'a killed worker is marked failed');
      assert.match(stopped[0].error ?? '', /ended with signal SIGKILL/);
      assert.equal(stopped[1].state, 'cancelled');
      for (const r of stopped) assert.ok(r.epochsDone >= 1 && r.epochsDone < 3, `${r.id} stopped mid-run (${r.epochsDone} epochs)`);
      const partial = collectSweep(dir);
      assert.deepEqual(partial.failed.map((r) => r.index), [0, 1]);
      assert.ok(partial.groups.every((g) => g.partial && g.completed === 0 && Number.isNaN(g.stats.testAccuracyAtBestVal.mean)), 'nothing averaged from stopped runs');

      await runSweep(dir, localLauncher({ jobs: 2, threads: 2 }));
      assert.deepEqual(sweepStatus(dir).map((r) => r.state), ['completed', 'completed']);
      assert.deepEqual(readRunStatus(sweepRunDir(dir, runs[1]))?.attempts, 2, 'the run was resumed, not restarted under a new name');
      assert.deepEqual(outcome(dir), outcome(reference));
    });
  });

  it('collect averages completed runs only and lists a run with a non-finite loss, with its log', async () => {
    const dir = path.join(tmp('sweep-collect'), 'sweep');
    createSweep(dir, {
      protocol: 'synthetic', overrides: { epochs: 1, batchSize: 16, data: { trainPerClass: 16, valPerClass: 4, testPerClass: 8 } },
      grid: { 'optim.lr': [0.05, 1e30] }, seeds: [0, 1, 2],
    });
    await runSweep(dir, localLauncher({ inProcess: true }));
    const runs = sweepStatus(dir);
    const diverged = runs.filter((r) => r.variant === '1e+30');
    assert.deepEqual(diverged.map((r) => [r.state, r.nonFinite]), [['failed', true], ['failed', true], ['failed', true]]);
    for (const r of diverged) assert.match(fs.readFileSync(r.logFile, 'utf8'), /failed: NonFiniteLossError: training stopped at epoch 1/);
    // A completed run whose worker was then cancelled (e.g. re-run and stopped) is not averaged in either.
    const good = runs.filter((r) => r.variant === '0.05');
    const cancelled = readRunStatus(good[2].runDir);
    writeRunStatus(good[2].runDir, { ...(cancelled as NonNullable<typeof cancelled>), state: 'cancelled' });

    const results = collectSweep(dir);
    const [ok, nan] = results.groups;
    assert.deepEqual([ok.variant, ok.runs, ok.completed, ok.partial], ['0.05', 3, 2, true]);
    const accs = good.slice(0, 2).map((r) => (r.summary as NonNullable<typeof r.summary>).testAccuracyAtBestVal);
    const mean = (accs[0] + accs[1]) / 2;
    assert.ok(Math.abs(ok.stats.testAccuracyAtBestVal.mean - mean) < 1e-12);
    assert.ok(Math.abs(ok.stats.testAccuracyAtBestVal.std - Math.abs(accs[0] - accs[1]) / Math.SQRT2) < 1e-12, 'sample std of two values: |a - b| / sqrt(2)');
    assert.deepEqual([nan.completed, nan.partial, Number.isNaN(nan.stats.testAccuracyAtBestVal.mean)], [0, true, true]);
    assert.deepEqual(results.failed.map((r) => r.id), ['1e+30-s0', '1e+30-s1', '0.05-s2', '1e+30-s2']);
    for (const r of results.failed) assert.equal(r.logFile, runFile(r.runDir, 'log'));
  });

  it('meanStd is the mean and the sample standard deviation', () => {
    const { mean, std } = meanStd([1, 2, 3, 4]);
    assert.equal(mean, 2.5);
    assert.ok(Math.abs(std - Math.sqrt(5 / 3)) < 1e-15);
    assert.ok(Number.isNaN(meanStd([7]).std));
  });
});
