import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSweepInKernel, showSweepStatus, sweepResultRows, sweepStatusRows } from '../../lib/display/sweep';
import { resolveConfig } from '../../lib/train/config';
import { RunStatus, readRunSummary, writeRunStatus } from '../../lib/train/run-dir';
import { collectSweep, createSweep, sweepRunDir } from '../../lib/train/sweep';

describe('display: sweep status', () => {
  it('showSweepStatus redraws live from the run directories until every run has stopped', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-sweep-view-')), 'sweep');
    const { runs } = createSweep(dir, { protocol: 'synthetic', grid: { method: ['baseline', 'cutmix'] }, seeds: [0] });
    const status = (state: RunStatus['state'], extra: Partial<RunStatus> = {}): RunStatus => ({
      state, updated: new Date().toISOString(), pid: process.pid, host: os.hostname(), attempts: 1, epochsDone: 0, epochs: 2, ...extra,
    });
    fs.mkdirSync(sweepRunDir(dir, runs[0]), { recursive: true });
    fs.mkdirSync(sweepRunDir(dir, runs[1]), { recursive: true });
    // Run 0 is held by a live process (this one); run 1 has not started.
    writeRunStatus(sweepRunDir(dir, runs[0]), status('running'));
    const drawn: string[] = [];
    const watching = showSweepStatus(dir, { live: true, intervalMs: 20, display: { html: (s) => void drawn.push(s) } });
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(drawn.length >= 2, 'redrawn while runs are going');
    assert.match(drawn[0], /1 running, 1 pending/);
    writeRunStatus(sweepRunDir(dir, runs[1]), status('failed', { error: 'loss became NaN\nstack', nonFinite: true }));
    writeRunStatus(sweepRunDir(dir, runs[0]), status('completed'));
    const final = await watching;
    assert.deepEqual(final.map((r) => r.state), ['completed', 'failed']);
    assert.match(drawn[drawn.length - 1], /1 completed, 1 failed/);
    const rows = sweepStatusRows(final) as Record<string, unknown>[];
    assert.equal(rows[1].note, `non-finite loss: loss became NaN (log ${path.join(sweepRunDir(dir, runs[1]), 'run.log')})`);
    // A worker that died on this host without a word shows as lost.
    writeRunStatus(sweepRunDir(dir, runs[0]), status('running', { pid: 2 ** 22 + 12345 }));
    assert.equal(collectSweep(dir).runs[0].state, 'lost');
    const results = sweepResultRows(collectSweep(dir)) as Record<string, unknown>[];
    assert.deepEqual(results.map((r) => r['completed / runs']), ['0 / 1', '0 / 1']);
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('runSweepInKernel trains each config in <dir>/runs/<name>-s<seed>, returns the summaries written there, and skips them when run again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-sweep-kernel-'));
    try {
      const config = (method: string) => resolveConfig('synthetic', { method, epochs: 1, data: { trainPerClass: 16, valPerClass: 4, testPerClass: 4 } });
      const configs = { 'no mixup': config('baseline'), 'input mixup': config('input-mixup') };
      const drawn: string[] = [];
      const first = await runSweepInKernel({ protocol: 'synthetic', configs }, { dir, display: { html: (s) => void drawn.push(s) } });
      assert.equal(first.dir, dir);
      assert.deepEqual(first.runs.map((r) => [r.variant, r.state]), [['no mixup', 'completed'], ['input mixup', 'completed']]);
      assert.deepEqual(first.runs.map((r) => r.runDir), [path.join(dir, 'runs', 'no_mixup-s0'), path.join(dir, 'runs', 'input_mixup-s0')]);
      for (const r of first.runs) assert.deepEqual(readRunSummary(r.runDir), r.summary);
      assert.ok(drawn.length > 0 && drawn[drawn.length - 1].includes('input_mixup-s0: test accuracy'), 'the live figure has every run');
      const mtime = fs.statSync(path.join(dir, 'runs', 'no_mixup-s0', 'last.ckpt')).mtimeMs;
      const again = await runSweepInKernel({ protocol: 'synthetic', configs }, { dir, display: null });
      assert.deepEqual(again.runs.map((r) => r.summary), first.runs.map((r) => r.summary), 'the same results, read back');
      assert.equal(fs.statSync(path.join(dir, 'runs', 'no_mixup-s0', 'last.ckpt')).mtimeMs, mtime, 'completed runs are not trained again');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
