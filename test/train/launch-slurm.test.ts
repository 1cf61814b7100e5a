import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '../../lib/train/checkpoint';
import { localLauncher } from '../../lib/train/launch-local';
import { describeSlurmRuns, parseScontrol, parseSqueue, slurmLauncher, taskNote } from '../../lib/train/launch-slurm';
import { launcherNotes } from '../../lib/train/launchers';
import { arraySpec, checkSlurmOptions, parseSlurmArgs, sbatchArguments } from '../../lib/train/slurm-options';
import { readBatchLog, readRunStatus } from '../../lib/train/run-dir';
import { SweepResults, SweepSpec, collectSweep, createSweep, planSweep, readSweep, runSweep, sweepRunDir, sweepStatus } from '../../lib/train/sweep';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `alignmix-${name}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a Slurm controller answers here (CI: environment/slurm.sh start, SLURM_CONF exported). */
function slurmUp(): string | null {
  const r = spawnSync('sinfo', ['-h', '-o', '%t'], { encoding: 'utf8' });
  if (r.error) return `no sinfo on PATH (${r.error.message})`;
  if (r.status !== 0) return `sinfo failed: ${r.stderr.trim()}`;
  if (!/idle|mix|alloc/.test(r.stdout)) return `no usable node (sinfo: ${r.stdout.trim()})`;
  return null;
}

function slurm(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('slurm launcher: arguments and Slurm output', () => {
  it('builds the job array and sbatch arguments from options and command-line flags', () => {
    assert.equal(arraySpec([0, 1, 2]), '0-2');
    assert.equal(arraySpec([5, 0, 2, 1, 7, 6], 2), '0-2,5-7%2');
    const o = parseSlurmArgs(['--partition=gpu', '--gpus', '2', '--cpus-per-task=8', '--mem=32G', '--time=04:00:00', '--concurrency=3', '--signal-before=300', '--account=abc', '--qos', 'long']);
    assert.deepEqual(o, { partition: 'gpu', gpus: 2, cpusPerTask: 8, mem: '32G', time: '04:00:00', concurrency: 3, signalBefore: 300, sbatchArgs: ['--account=abc', '--qos', 'long'] });
    assert.deepEqual(sbatchArguments('/s/sw1', [0, 1, 2, 3], o), [
      '--parsable', '--job-name=alignmix-sw1', '--array=0-3%3', '--requeue', '--open-mode=append', '--output=/s/sw1/slurm/%a.log',
      '--signal=B:USR1@300', '--partition=gpu', '--gres=gpu:2', '--cpus-per-task=8', '--mem=32G', '--time=04:00:00', '--account=abc', '--qos', 'long',
    ]);
    assert.throws(() => parseSlurmArgs(['--gpus=two']), /gpus must be an integer/);
    assert.throws(() => parseSlurmArgs(['--time']), /--time needs a value/);
    assert.throws(() => checkSlurmOptions('sweep.json: slurm', { partitions: 'x' }), /unknown option 'partitions'/);
    assert.throws(() => planSweep({ protocol: 'synthetic', slurm: { time: 4 } } as unknown as SweepSpec), /sweep spec: slurm: time must be a non-empty string/);
  });

  it("reads task states from squeue -r and scontrol show job -o (Slurm 22.05's formats)", () => {
    assert.deepEqual([...parseSqueue('1|PENDING|BeginTime|\n0|RUNNING|None|vm\n')], [[1, { state: 'PENDING', reason: 'BeginTime' }], [0, { state: 'RUNNING', node: 'vm' }]]);
    const shown = parseScontrol([
      'JobId=7 ArrayJobId=5 ArrayTaskId=1 JobName=alignmix-d JobState=CANCELLED Reason=None Requeue=1 ExitCode=0:15 NodeList=vm StdOut=/x/1.log',
      'JobId=5 ArrayJobId=5 ArrayTaskId=2-3%1 JobName=alignmix-d JobState=PENDING Reason=JobArrayTaskLimit ExitCode=0:0 NodeList=(null)',
    ].join('\n'));
    assert.deepEqual([...shown], [[1, { state: 'CANCELLED', exitCode: '0:15', node: 'vm' }]]);
    assert.equal(taskNote('5', 1, shown.get(1), '/s/runs/a/slurm.log'), 'failed: Slurm job 5_1 CANCELLED, exit 0:15; log /s/runs/a/slurm.log');
    assert.equal(taskNote('5', 1, { state: 'PENDING', reason: 'BeginTime' }, 'L'), 'queued (Slurm job 5_1, BeginTime)');
  });
});

describe('slurm launcher on a running cluster', function () {
  this.timeout(600000);
  const down = slurmUp();
  before(function () {
    if (down) {
      console.warn(`\n  !!! SKIPPED: no Slurm cluster here (${down}). Start one with \`bash environment/slurm.sh start\` and export the SLURM_CONF it prints; CI does.\n`);
      this.skip();
    }
  });

  // Three tiny runs: 12 batches per epoch, 2 epochs, aligned mixup (Sinkhorn) on synthetic shapes.
  const spec: SweepSpec = {
    protocol: 'synthetic',
    overrides: { method: 'alignmixup', epochs: 2, batchSize: 16, logBatches: true, data: { trainPerClass: 48, valPerClass: 8, testPerClass: 8, workers: 0 } },
    seeds: [0, 1, 2],
  } as SweepSpec;

  it('runs a sweep as a job array; tasks requeued by scontrol (TERM) and before a time limit (USR1) resume exactly: collect matches the local launcher', async () => {
    // The reference: the local launcher, one compute thread per run as on Slurm (--cpus-per-task=1).
    const localDir = tmp('sweep-local');
    createSweep(localDir, spec);
    await runSweep(localDir, localLauncher({ jobs: 2, threads: 2 }));

    const dir = tmp('sweep-slurm');
    createSweep(dir, spec);
    const report = await runSweep(dir, slurmLauncher({ cpusPerTask: 1 }));
    assert.equal(report.waited, false);
    assert.deepEqual(report.submitted, [0, 1, 2]);
    const jobId = /Slurm job array (\d+)/.exec(report.note ?? '')?.[1] as string;
    assert.ok(jobId, report.note);
    const { runs } = readSweep(dir);
    const runDir = (i: number) => sweepRunDir(dir, runs[i]);
    const batchesDone = (i: number) => (fs.existsSync(path.join(runDir(i), 'batches.jsonl')) ? readBatchLog(runDir(i)).length : 0);
    const waitFor = async (what: string, ok: () => boolean, seconds: number) => {
      for (const t0 = Date.now(); !ok(); await sleep(100)) {
        if (Date.now() - t0 > seconds * 1000) assert.fail(`timed out after ${seconds} s waiting for ${what}; squeue: ${slurm('squeue', '-r')}`);
      }
    };

    // Run 0 is queued or running; describe says so through squeue.
    assert.match((await describeSlurmRuns(dir)).get(0) ?? '', new RegExp(`^(queued|running|configuring) \\(Slurm job ${jobId}_0`));
    // Task 1: an administrator's / preemption requeue (Slurm sends TERM), a few batches in.
    await waitFor('run 1 to train', () => batchesDone(1) >= 3, 180);
    slurm('scontrol', 'requeue', `${jobId}_1`);
    // Task 2: the signal before the time limit (USR1 to the job script), which requeues itself.
    await waitFor('run 2 to train', () => batchesDone(2) >= 3, 180);
    slurm('scancel', '--batch', '--signal=USR1', `${jobId}_2`);
    await waitFor('run 2 to checkpoint', () => readRunStatus(runDir(2))?.state === 'cancelled', 60);
    await waitFor('all runs to complete', () => sweepStatus(dir).every((r) => r.state === 'completed'), 240);

    for (const i of [1, 2]) {
      const status = readRunStatus(runDir(i));
      assert.equal(status?.attempts, 2, `run ${i} ran twice`);
      const log = fs.readFileSync(path.join(runDir(i), 'run.log'), 'utf8');
      assert.match(log, /cancelled after \d+ epochs/);
      assert.match(log, /resuming from its last checkpoint/);
      assert.equal(readBatchLog(runDir(i)).length, 2 * 12, `run ${i}: every batch logged once`);
    }
    assert.match(fs.readFileSync(path.join(runDir(1), 'slurm.log'), 'utf8'), /DUE TO JOB REQUEUE/);
    assert.match(fs.readFileSync(path.join(runDir(2), 'slurm.log'), 'utf8'), /checkpointed before the time limit: requeueing/);
    assert.equal(readRunStatus(runDir(0))?.attempts, 1);

    // The same figures as the local launcher, and the same weights.
    const figures = (r: SweepResults) => ({
      groups: r.groups.map((g) => ({ ...g, stats: { ...g.stats, trainSeconds: null } })),
      runs: r.runs.map((v) => ({ id: v.id, state: v.state, epochsDone: v.epochsDone, summary: { ...v.summary, trainSeconds: null } })),
      failed: r.failed.length,
    });
    assert.deepEqual(figures(collectSweep(dir)), figures(collectSweep(localDir)));
    for (const run of runs) {
      const a = loadCheckpoint(path.join(sweepRunDir(localDir, run), 'last.ckpt')).tensors;
      const b = loadCheckpoint(path.join(sweepRunDir(dir, run), 'last.ckpt')).tensors;
      for (const [k, t] of Object.entries(a)) assert.deepEqual(b[k].dataSync(), t.dataSync(), `${run.id}: ${k}`);
      tf.dispose([...Object.values(a), ...Object.values(b)]);
    }
  });

  it('reports a task cancelled before it ran as failed, with its log path', async () => {
    const dir = tmp('sweep-cancel');
    // The spec's slurm section reaches sbatch: the task may not start for 10 minutes.
    createSweep(dir, { ...spec, seeds: [0], slurm: { sbatchArgs: ['--begin=now+600'] } });
    const report = await slurmLauncher().submit(dir, [0]);
    const jobId = /Slurm job array (\d+)/.exec(report.note ?? '')?.[1] as string;
    // Once the scheduler has looked at it, the task waits for its begin time.
    for (const t0 = Date.now(); !/BeginTime/.test((await describeSlurmRuns(dir)).get(0) ?? ''); await sleep(200)) {
      if (Date.now() - t0 > 60000) assert.fail(`task ${jobId}_0 never waited for its begin time: ${(await describeSlurmRuns(dir)).get(0)}`);
    }
    assert.equal((await describeSlurmRuns(dir)).get(0), `queued (Slurm job ${jobId}_0, BeginTime)`);
    slurm('scancel', jobId);
    const log = path.join(sweepRunDir(dir, readSweep(dir).runs[0]), 'slurm.log');
    assert.equal((await launcherNotes(dir)).get(0), `failed: Slurm job ${jobId}_0 CANCELLED, exit 0:0, BeginTime; log ${log}`);
  });
});
