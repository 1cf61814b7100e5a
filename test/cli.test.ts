import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../lib/cli/main';

/** Run the CLI in-process, capturing what it prints to stdout. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => { lines.push(a.join(' ')); };
  const before = process.exitCode;
  try {
    const code = await main(args);
    return { code, out: lines.join('\n') };
  } finally {
    console.log = log;
    process.exitCode = before;
  }
}

describe('alignmix CLI', function () {
  this.timeout(300000);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-cli-'));
  const quick = ['--protocol', 'synthetic', '--epochs', '1', '--per-class', '16', '--set', 'data.valPerClass=4', '--set', 'data.testPerClass=8'];

  it('train writes a run directory and prints the summary; eval writes a report', async () => {
    const runDir = path.join(root, 'run');
    const t = await cli(['train', ...quick, '--method', 'alignmixup', '--seed', '3', '--run-dir', runDir]);
    assert.equal(t.code, 0);
    assert.match(t.out, /alignmixup on synthetic \(seed 3, 1 epochs/);
    const saved = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')).config;
    assert.equal(saved.seed, 3);
    assert.equal(saved.data.trainPerClass, 16);
    assert.equal(saved.data.valPerClass, 4);

    const e = await cli(['eval', '--run-dir', runDir, '--parts', 'top1,calibration,fgsm,ood', '--limit', '16']);
    assert.equal(e.code, 0);
    const csv = fs.readFileSync(path.join(runDir, 'eval', 'report-best.csv'), 'utf8');
    for (const metric of ['top1_error', 'ece', 'fgsm_top1_error', 'ood_auroc']) assert.match(csv, new RegExp(metric));
    assert.ok(fs.existsSync(path.join(runDir, 'eval', 'reliability-best.csv')));
  });

  it('compare trains each method and seed and writes one CSV row per run', async () => {
    const out = path.join(root, 'compare.csv');
    const r = await cli(['compare', ...quick, '--methods', 'baseline,cutmix', '--seeds', '0,1', '--runs-root', path.join(root, 'cmp'), '--out', out]);
    assert.equal(r.code, 0);
    assert.match(r.out, /\| baseline +\| 2 +\|/);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows.length, 1 + 4);
    assert.match(rows[0], /^index,id,variant,seed,state,/);
    assert.match(rows[1], /^0,baseline-s0,baseline,0,completed,/);
    const again = await cli(['compare', ...quick, '--methods', 'baseline,cutmix', '--seeds', '0,1', '--runs-root', path.join(root, 'cmp')]);
    assert.equal(again.out.split('\n')[0], r.out.split('\n')[0], 'run again: the completed sweep is read back, not retrained');
    assert.equal(fs.readFileSync(path.join(root, 'cmp', 'runs.csv'), 'utf8').trim().split('\n').length, 5);
  });

  it('sweep run plans a JSON spec, runs it in worker processes, and status / collect read it back', async () => {
    const spec = path.join(root, 'spec.json');
    const dir = path.join(root, 'sweep');
    fs.writeFileSync(spec, JSON.stringify({ protocol: 'synthetic', overrides: { epochs: 1, data: { trainPerClass: 16, valPerClass: 4, testPerClass: 8 } }, variants: { plain: { method: 'baseline' } } }));
    const r = await cli(['sweep', 'run', spec, '--dir', dir, '--jobs', '1', '--threads', '1']);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\| plain +\| 1 +\|/);
    const status = await cli(['sweep', 'status', dir]);
    assert.match(status.out, /\| 0 +\| plain-s0 +\| completed +\| 1\/1 +\|/);
    const collected = await cli(['sweep', 'collect', dir]);
    assert.match(collected.out, /per-run results: .*runs\.csv/);
    const bad = path.join(root, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ protocol: 'synthetic', variants: { fast: { optim: { lr: 0 } } } }));
    await assert.rejects(cli(['sweep', 'run', bad, '--dir', path.join(root, 'bad')]), /sweep run 0 \(fast\): config\.optim: lr must be a finite number > 0/);
    assert.ok(!fs.existsSync(path.join(root, 'bad')), 'nothing written for an invalid spec');
  });

  it('rejects unknown options, methods and config keys with a clear error', async () => {
    await assert.rejects(cli(['train', ...quick, '--method', 'nomix']), /Unknown method 'nomix'/);
    await assert.rejects(cli(['train', ...quick, '--set', 'optim.lrr=1']), /unknown option 'lrr'/);
    const r = await cli(['train', '--no-such-flag']);
    assert.notEqual(r.code, 0);
  });
});
