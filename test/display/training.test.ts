import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  TRAINING_METRICS, batchLogFigure, batchLogSummary, betaDensity, configRows, flattenConfig, interruptSignal, trainingCurves,
} from '../../lib/display/training';
import { BatchLogRecord, readBatchLog } from '../../lib/train/run-dir';
import { resolveConfig } from '../../lib/train/config';
import type { BatchEvent, EpochRecord, RunSummary } from '../../lib/train/trainer';

/** A batch event with only what the curves read filled in. */
function batchEvent(epoch: number, batch: number, batchesPerEpoch: number, loss: number, imagesPerSecond: number): BatchEvent {
  return {
    epoch, batch, batchesPerEpoch, lr: 0.1, imagesPerSecond,
    step: { mode: 'input', lambda: 0.5, perm: [], targetWeight: 0.5, losses: { total: loss, classification: loss } },
  };
}

function epochRecord(epoch: number, trainLoss: number, valAccuracy: number, testAccuracy: number): EpochRecord {
  return { epoch, lr: 0.1, trainLoss, valAccuracy, testAccuracy, seconds: 1, imagesPerSecond: 1, modes: '', sinkhornRowError: NaN };
}

const record = (epoch: number, batch: number, mode: string, lambda: number, loss: number, sinkhorn?: BatchLogRecord['sinkhorn']): BatchLogRecord => ({
  epoch, batch, mode, lambda, targetWeight: lambda, losses: { total: loss, classification: loss }, lr: 0.1, ...(sinkhorn ? { sinkhorn } : {}),
});

describe('display: training views', () => {
  it('trainingCurves averages the batch loss over each 1/pointsPerEpoch of an epoch and records epochs at whole x', () => {
    const drawn: string[] = [];
    const { curves, callbacks } = trainingCurves({ pointsPerEpoch: 2, minIntervalMs: 0, display: { html: (s) => void drawn.push(s) } });
    const losses = [4, 2, 3, 1, 8, 6, 2, 2];
    losses.forEach((loss, i) => callbacks.onBatch!(batchEvent(Math.floor(i / 4) + 1, (i % 4) + 1, 4, loss, 10 * (i + 1))));
    callbacks.onEpoch!(epochRecord(1, 2.5, 0.4, 0.3), {} as RunSummary);
    callbacks.onEpoch!(epochRecord(2, 4.5, 0.6, 0.5), {} as RunSummary);
    assert.deepEqual(curves.history(TRAINING_METRICS.batchLoss), { x: [0.5, 1, 1.5, 2], y: [3, 2, 7, 2] });
    assert.deepEqual(curves.history(TRAINING_METRICS.throughput).y, [20, 40, 60, 80], 'the running figure at each point');
    assert.deepEqual(curves.history(TRAINING_METRICS.epochLoss), { x: [1, 2], y: [2.5, 4.5] });
    assert.deepEqual(curves.history(TRAINING_METRICS.test), { x: [1, 2], y: [0.3, 0.5] });
    assert.deepEqual(curves.history(TRAINING_METRICS.val).y, [0.4, 0.6]);
    assert.ok(drawn.length > 0, 'drew into the given display');
  });

  it('trainingCurves records every batch when an epoch has fewer batches than points', () => {
    const { curves, callbacks } = trainingCurves({ pointsPerEpoch: 10, display: { html: () => undefined } });
    [5, 4, 3].forEach((loss, i) => callbacks.onBatch!(batchEvent(1, i + 1, 3, loss, 1)));
    assert.deepEqual(curves.history(TRAINING_METRICS.batchLoss), { x: [1 / 3, 2 / 3, 1], y: [5, 4, 3] });
    assert.throws(() => trainingCurves({ pointsPerEpoch: 0 }), /trainingCurves.*pointsPerEpoch/);
  });

  it('interruptSignal aborts on SIGINT and release() removes its listener', () => {
    const others = process.listeners('SIGINT');
    process.removeAllListeners('SIGINT');
    try {
      const first = interruptSignal();
      assert.equal(first.signal.aborted, false);
      process.emit('SIGINT', 'SIGINT');
      assert.equal(first.signal.aborted, true);
      first.release();
      const second = interruptSignal();
      assert.equal(process.listenerCount('SIGINT'), 1);
      second.release();
      assert.equal(process.listenerCount('SIGINT'), 0);
      process.emit('SIGINT', 'SIGINT');
      assert.equal(second.signal.aborted, false, 'a released signal no longer fires');
    } finally {
      process.removeAllListeners('SIGINT');
      for (const l of others) process.on('SIGINT', l);
    }
  });

  it('readBatchLog parses batches.jsonl, is empty without one, and names a bad line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-batchlog-'));
    try {
      assert.deepEqual(readBatchLog(dir), []);
      const rs = [record(1, 1, 'input', 0.3, 2), record(1, 2, 'feat', 0.6, 1.5, { iterations: 40, rowError: 1e-3, colError: 1e-7, converged: true })];
      fs.writeFileSync(path.join(dir, 'batches.jsonl'), rs.map((r) => `${JSON.stringify(r)}\n`).join(''));
      assert.deepEqual(readBatchLog(dir), rs);
      fs.appendFileSync(path.join(dir, 'batches.jsonl'), '{"epoch": 1,\n');
      assert.throws(() => readBatchLog(dir), /readBatchLog: .*batches\.jsonl line 3 is not JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('betaDensity matches the closed forms for alpha = 1/2, 1, 2, 3', () => {
    for (const l of [0.01, 0.2, 0.5, 0.77, 0.99]) {
      assert.ok(Math.abs(betaDensity(l, 1) - 1) < 1e-12);
      assert.ok(Math.abs(betaDensity(l, 2) - 6 * l * (1 - l)) < 1e-12);
      assert.ok(Math.abs(betaDensity(l, 3) - 30 * l * l * (1 - l) * (1 - l)) < 1e-11);
      assert.ok(Math.abs(betaDensity(l, 0.5) - 1 / (Math.PI * Math.sqrt(l * (1 - l)))) < 1e-11);
    }
  });

  it('batchLogFigure counts modes, histograms only mixed batches as a density, and splits aligned batches', () => {
    const sk = (iterations: number, converged: boolean) => ({ iterations, rowError: 0.02, colError: 1e-6, converged });
    const rs = [
      record(1, 1, 'clean', 1, 2), record(1, 2, 'input', 0.12, 2), record(1, 3, 'feat', 0.14, 2, sk(30, true)),
      record(1, 4, 'featPrime', 0.9, 2, sk(100, false)), record(2, 1, 'input', 0.55, 2), record(2, 2, 'feat', 0.5, 2, sk(20, true)),
    ];
    const fig = batchLogFigure(rs, { alpha: 2, bins: 4 });
    const trace = (name: string) => {
      const t = fig.data.find((d) => d.name === name);
      assert.ok(t, `trace ${name}`);
      return t as { x: unknown[]; y: number[] };
    };
    const modes = fig.data[0] as { x: string[]; y: number[] };
    assert.deepEqual(modes.x, ['clean', 'input', 'feat', 'featPrime']);
    assert.deepEqual(modes.y, [1, 2, 2, 1]);
    // 5 mixed lambdas in 4 bins of width 1/4: [0.12, 0.14] | [] | [0.55, 0.5] | [0.9] -> density count * 4 / 5.
    const hist = trace('λ of 5 mixed batches');
    assert.deepEqual(hist.x, [0.125, 0.375, 0.625, 0.875]);
    assert.deepEqual(hist.y, [1.6, 0, 1.6, 0.8]);
    assert.ok(Math.abs(hist.y.reduce((s, v) => s + v / 4, 0) - 1) < 1e-12, 'integrates to 1');
    const density = trace('Beta(2, 2) density');
    assert.ok(Math.abs(density.y[49] - 1.5) < 1e-12, 'f(0.5) = 6 * 0.25');
    assert.deepEqual(trace('converged').x, [0.75, 2], 'batch 3 of 4 in epoch 1, batch 2 of 2 in epoch 2');
    assert.deepEqual(trace('converged').y, [30, 20]);
    assert.deepEqual(trace('not converged').y, [100]);
    assert.equal(trace('row marginal error').y.length, 3);
    assert.throws(() => batchLogFigure(rs, { alpha: 0 }), /batchLogFigure.*alpha/);
  });

  it('batchLogSummary gives per-mode counts, means and the Sinkhorn figures of aligned modes only', () => {
    const rs = [
      record(1, 1, 'input', 0.2, 3), record(1, 2, 'feat', 0.4, 2, { iterations: 10, rowError: 0.01, colError: 0, converged: true }),
      record(1, 3, 'input', 0.6, 1), record(1, 4, 'feat', 0.8, 4, { iterations: 30, rowError: 0.05, colError: 0.002, converged: false }),
    ];
    const rows = batchLogSummary(rs) as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => r.mode), ['input', 'feat']);
    assert.deepEqual([rows[0].batches, rows[0].share, rows[0]['mean λ'], rows[0]['mean loss']], [2, 0.5, 0.4, 2]);
    assert.equal(rows[0]['Sinkhorn iterations (mean)'], null);
    assert.equal(rows[0]['converged (share)'], null);
    assert.deepEqual(
      [rows[1]['mean λ'], rows[1]['mean loss'], rows[1]['Sinkhorn iterations (mean)'], rows[1]['converged (share)'], rows[1]['row error (max)'], rows[1]['column error (max)']],
      [0.6000000000000001, 3, 20, 0.5, 0.05, 0.002],
    );
  });

  it('flattenConfig and configRows lay resolved configs side by side', () => {
    const c100 = resolveConfig('cifar100');
    const flat = flattenConfig(c100);
    assert.equal(flat['optim.lr'], '0.1');
    assert.equal(flat['schedule.milestones'], '[500, 1000, 1500]');
    assert.equal(flat.epochs, '2000');
    assert.equal(flat['data.name'], 'cifar100');
    const modes = flattenConfig(resolveConfig('synthetic', { modes: [{ mode: 'input', weight: 2 }, { mode: 'feat', weight: 1 }] }));
    assert.equal(modes.modes, 'input:2 feat:1');
    const rows = configRows({ a: resolveConfig('cifar10'), b: c100 }, { onlyDifferences: true }) as Record<string, unknown>[];
    assert.deepEqual(rows, [{ setting: 'protocol', a: 'cifar10', b: 'cifar100' }, { setting: 'data.name', a: 'cifar10', b: 'cifar100' }]);
    const all = configRows({ a: resolveConfig('cifar10'), b: resolveConfig('cifar10', { optim: { classifierLr: 0.5 } }) }) as Record<string, unknown>[];
    assert.deepEqual(all.find((r) => r.setting === 'optim.classifierLr'), { setting: 'optim.classifierLr', a: '', b: '0.5' });
    assert.equal(all.length, Object.keys(flattenConfig(resolveConfig('cifar10'))).length + 1);
  });
});
