import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveConfig } from '../../lib/train/config';
import {
  BatchLogRecord, EpochRecord, RunConfigFile, RunStatus, openBatchLog, parseCsvLine, readBatchLog, readMetrics, readRunConfig,
  readRunConfigFile, readRunStatus, readRunSummary, runFile, toCsvLine, writeMetrics, writeRunConfig, writeRunStatus,
  writeRunSummary,
} from '../../lib/train/run-dir';
import { summarize } from '../../lib/train/trainer';

describe('run directory: writers and readers round-trip', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-rundir-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = resolveConfig('synthetic', { method: 'alignmixup', epochs: 2 });
  const history: EpochRecord[] = [
    { epoch: 1, lr: 0.05, trainLoss: 1.2345678901, valAccuracy: 0.25, testAccuracy: 1 / 3, seconds: 1.5, imagesPerSecond: 123.456789, modes: 'input:3 feat:2', sinkhornRowError: NaN },
    { epoch: 2, lr: 0.005, trainLoss: 0.98765, valAccuracy: 0.5, testAccuracy: 0.625, seconds: 2, imagesPerSecond: 99, modes: 'clean:1, "odd" name', sinkhornRowError: 1.5e-7 },
  ];

  it('metrics.csv: every column back, numbers to the 6 significant digits written, strings exactly', () => {
    writeMetrics(dir, history);
    const back = readMetrics(dir);
    assert.equal(back.length, 2);
    history.forEach((h, i) => {
      for (const [k, v] of Object.entries(h)) {
        const got = (back[i] as unknown as Record<string, unknown>)[k];
        if (typeof v === 'string') assert.equal(got, v, k);
        else if (Number.isNaN(v)) assert.ok(Number.isNaN(got as number), k);
        else assert.equal(got, Number(v.toPrecision(6)), `${k}: ${got} vs ${v}`);
      }
    });
    assert.deepEqual(parseCsvLine(toCsvLine(['a,b', 'say "hi"', 3]).trimEnd()), ['a,b', 'say "hi"', '3']);
    assert.deepEqual(readMetrics(path.join(dir, 'nothing-here')), []);
  });

  it('summary, status, config and batch log come back as written', () => {
    const summary = summarize(config, history, 3.5);
    writeRunSummary(dir, summary);
    assert.deepEqual(readRunSummary(dir), summary);
    assert.equal(readRunStatus(dir), null, 'no status before a worker wrote one');
    const status: RunStatus = { state: 'failed', updated: '2026-12-02T00:00:00.000Z', pid: 42, host: 'h', attempts: 2, epochsDone: 1, epochs: 2, error: 'boom', nonFinite: true };
    writeRunStatus(dir, status);
    assert.deepEqual(readRunStatus(dir), status);
    fs.writeFileSync(runFile(dir, 'status'), JSON.stringify({ ...status, state: 'dancing' }));
    assert.throws(() => readRunStatus(dir), /unknown state 'dancing'/);
    const file: RunConfigFile = {
      config, backend: { name: 'cpu', requested: 'cpu', device: 'CPU', provider: 'p', threads: 1, skipped: [], description: 'cpu' } as unknown as RunConfigFile['backend'],
      alignmix: '0.1.0', node: 'v20', host: { cpus: 2, platform: 'linux' }, started: 'now', model: { parameters: 10, featureShape: [4, 4, 16], latentShape: [16] },
    };
    writeRunConfig(dir, file);
    assert.deepEqual(readRunConfigFile(dir), file);
    assert.deepEqual(readRunConfig(dir), config);
    const records: BatchLogRecord[] = [
      { epoch: 1, batch: 1, mode: 'feat', lambda: 0.3, targetWeight: 0.3, losses: { total: 1, classification: 1 }, lr: 0.05, sinkhorn: { iterations: 10, rowError: 1e-3, colError: 0, converged: true } },
      { epoch: 1, batch: 2, mode: 'clean', lambda: 1, targetWeight: 1, losses: { total: 2, classification: 2 }, lr: 0.05 },
      { epoch: 2, batch: 1, mode: 'input', lambda: 0.6, targetWeight: 0.6, losses: { total: 3, classification: 3 }, lr: 0.05 },
    ];
    let append = openBatchLog(dir, 0);
    records.forEach((r) => append(r));
    assert.deepEqual(readBatchLog(dir), records);
    append = openBatchLog(dir, 2);
    assert.deepEqual(readBatchLog(dir), records.slice(0, 2), 'a resume keeps the lines of the epochs it keeps');
    append(records[2]);
    assert.deepEqual(readBatchLog(dir), records);
  });

  it('readers name the file that is missing or broken', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-rundir-empty-'));
    try {
      assert.throws(() => readRunSummary(empty), /readRunSummary: no summary\.json in/);
      assert.throws(() => readRunConfig(empty), /no config\.json in .*: not an alignmix run directory/);
      fs.writeFileSync(runFile(empty, 'summary'), '{ half');
      assert.throws(() => readRunSummary(empty), /summary\.json is not JSON/);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
