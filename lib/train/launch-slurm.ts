/**
 * The Slurm launcher: the runs of a sweep as one `sbatch` job array, task i running
 * `alignmix sweep worker DIR --index i` (runSweepRun), which skips a completed run and resumes an
 * unfinished one exactly from its last.ckpt. The sweep directory must be on a filesystem the
 * compute nodes share, with the repository and Node.js at the same paths.
 *
 * Submission: `sbatch --parsable --array=<indices>[%concurrency] --requeue --open-mode=append
 * --output=DIR/slurm/%a.log --signal=B:USR1@<signalBefore> [resources] [sbatch args] DIR/slurm/job.sh`.
 * Resources come from the spec's `slurm` section (SlurmOptions) and, overriding it, from the
 * launcher's options (CLI: the arguments after `--`). Each run directory gets `slurm.log`, a link
 * to its task's output file (every attempt appended). Submitted jobs are listed in
 * DIR/slurm/jobs.json, which `describe` reads.
 *
 * Stopping and requeue. The job script runs the worker in the background and forwards signals:
 *   - USR1, sent to the script `signalBefore` seconds before the time limit (and on preemption
 *     where the cluster sets PreemptParameters=send_user_signal): the worker finishes its batch
 *     and checkpoints (status 'cancelled', exit 130), then the script requeues its own task
 *     (`scontrol requeue JOB_TASK`); the task starts again later and resumes from last.ckpt.
 *   - TERM, which Slurm sends on `scancel`, `scontrol requeue` and preemption: the worker
 *     checkpoints the same way; the script does not requeue (Slurm requeues when that is what was
 *     asked, and a cancel stays cancelled). The checkpoint has to be written within the cluster's
 *     KillWait (default 30 s), after which Slurm sends SIGKILL: one batch plus one checkpoint.
 * A resumed run ends with the same weights and figures as one that never stopped (the trainer's
 * mid-epoch checkpoint; test/train/launch-slurm.test.ts requeues both ways and compares with the
 * local launcher).
 *
 * Status: accounting (sacct) is often unavailable, so `describe` asks `squeue` (queued and running
 * tasks) and `scontrol show job` (finished tasks, until the controller forgets them after
 * MinJobAge). A task that Slurm ended without the worker recording an outcome (cancelled before
 * it started, killed, out of memory, node failure) is reported as failed with its log path.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readRunStatus, writeJsonAtomic } from './run-dir';
import { SlurmOptions, arraySpec, checkSlurmOptions, sbatchArguments } from './slurm-options';
import { Launcher, LaunchReport, readSweep, sweepRunDir } from './sweep';

const CLI_ENTRY = path.join(__dirname, '..', '..', 'bin', 'alignmix.js');
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The job script: run the worker, forward USR1 / TERM to it, requeue after USR1 (module comment). */
export function jobScript(dir: string): string {
  return `#!/bin/bash
# One task of an alignmix sweep's job array (written by lib/train/launch-slurm.ts).
unset TF_NUM_INTRAOP_THREADS
export ALIGNMIX_THREADS="\${SLURM_CPUS_PER_TASK:-1}"
task="\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
echo "[$(date -u +%FT%TZ)] Slurm task $task (restart \${SLURM_RESTART_COUNT:-0}) on $(hostname)"
${quote(process.execPath)} ${quote(CLI_ENTRY)} sweep worker ${quote(dir)} --index "$SLURM_ARRAY_TASK_ID" &
worker=$!
requeue=0
trap 'requeue=1; kill -USR1 $worker 2>/dev/null' USR1
trap 'kill -TERM $worker 2>/dev/null' TERM
# wait returns early when a trapped signal arrives: wait again until the worker has exited.
while :; do
  wait $worker
  rc=$?
  kill -0 $worker 2>/dev/null || break
done
echo "[$(date -u +%FT%TZ)] worker exited with $rc"
if [ "$requeue" = 1 ] && [ "$rc" = 130 ]; then
  echo "[$(date -u +%FT%TZ)] checkpointed before the time limit: requeueing $task"
  scontrol requeue "$task"
fi
exit $rc
`;
}

interface SubmittedJob {
  jobId: string;
  indices: number[];
  submitted: string;
  sbatch: string[];
}

const jobsFile = (dir: string) => path.join(dir, 'slurm', 'jobs.json');
const SLURM_LOG = 'slurm.log';

function readJobs(dir: string): SubmittedJob[] {
  const file = jobsFile(dir);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as SubmittedJob[]) : [];
}

function command(cmd: string, args: string[]): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) {
    const hint = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? ' (Slurm is not installed here; bash environment/slurm.sh start runs a local one)' : '';
    throw new Error(`slurm launcher: cannot run ${cmd}: ${r.error.message}${hint}`);
  }
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** One line per array task from `squeue -r` / `scontrol show job -o`: task index -> fields. */
interface TaskState {
  state: string;
  reason?: string;
  node?: string;
  exitCode?: string;
}

/** Parse `squeue -h -r -o '%K|%T|%r|%N'` output (array index, state, reason, node). */
export function parseSqueue(out: string): Map<number, TaskState> {
  const tasks = new Map<number, TaskState>();
  for (const line of out.split('\n')) {
    const [index, state, reason, node] = line.trim().split('|');
    if (!/^\d+$/.test(index ?? '')) continue;
    tasks.set(Number(index), { state, ...(reason && reason !== 'None' ? { reason } : {}), ...(node ? { node } : {}) });
  }
  return tasks;
}

/** Parse `scontrol show job -o JOB` (one record per line, Key=Value pairs) for array tasks. */
export function parseScontrol(out: string): Map<number, TaskState> {
  const tasks = new Map<number, TaskState>();
  for (const line of out.split('\n')) {
    const fields = new Map<string, string>();
    for (const m of line.matchAll(/(\w+)=(\S*)/g)) if (!fields.has(m[1])) fields.set(m[1], m[2]);
    const index = fields.get('ArrayTaskId');
    const state = fields.get('JobState');
    // A pending array's remainder is one record with a range ('3-5%2'): squeue -r lists those.
    if (!index || !/^\d+$/.test(index) || !state) continue;
    const reason = fields.get('Reason');
    tasks.set(Number(index), { state, exitCode: fields.get('ExitCode'), ...(reason && reason !== 'None' ? { reason } : {}), ...(fields.get('NodeList') && fields.get('NodeList') !== '(null)' ? { node: fields.get('NodeList') } : {}) });
  }
  return tasks;
}

/** What Slurm says of the tasks of `jobId`: finished ones from scontrol, queued/running from squeue. */
function queryJob(jobId: string): Map<number, TaskState> {
  const shown = command('scontrol', ['show', 'job', '-o', jobId]);
  const tasks = shown.ok ? parseScontrol(shown.stdout) : new Map<number, TaskState>();
  const queued = command('squeue', ['-h', '-r', '-j', jobId, '-o', '%K|%T|%r|%N']);
  if (queued.ok) for (const [i, t] of parseSqueue(queued.stdout)) tasks.set(i, t);
  return tasks;
}

/** A note for one task (see Launcher.describe). */
export function taskNote(jobId: string, index: number, t: TaskState | undefined, logFile: string): string {
  const task = `Slurm job ${jobId}_${index}`;
  if (!t) return `not known to Slurm any more (${task}); log ${logFile}`;
  switch (t.state) {
    case 'PENDING':
    case 'REQUEUED':
    case 'REQUEUE_HOLD':
    case 'REQUEUE_FED':
      return `queued (${task}${t.reason ? `, ${t.reason}` : ''})`;
    case 'RUNNING':
    case 'CONFIGURING':
    case 'COMPLETING':
    case 'SUSPENDED':
      return `${t.state.toLowerCase()} (${task}${t.node ? ` on ${t.node}` : ''})`;
    case 'COMPLETED':
      return `finished (${task}); log ${logFile}`;
    default:
      return `failed: ${task} ${t.state}${t.exitCode ? `, exit ${t.exitCode}` : ''}${t.reason ? `, ${t.reason}` : ''}; log ${logFile}`;
  }
}

/**
 * What Slurm says of the sweep's runs that are not completed or failed (not started, running, or
 * cancelled and perhaps requeued), from the latest job each was submitted in. Empty when the sweep
 * was never submitted to Slurm.
 */
export async function describeSlurmRuns(dir: string): Promise<Map<number, string>> {
  const notes = new Map<number, string>();
  const jobs = readJobs(dir);
  if (!jobs.length) return notes;
  const { runs } = readSweep(dir);
  const latest = new Map<number, string>();
  for (const job of jobs) for (const i of job.indices) latest.set(i, job.jobId);
  const states = new Map<string, Map<number, TaskState>>();
  for (const [index, jobId] of latest) {
    const runDir = sweepRunDir(dir, runs[index]);
    const status = readRunStatus(runDir);
    // 'cancelled' stays in question: Slurm may have requeued the task (it resumes when it starts).
    if (status && (status.state === 'completed' || status.state === 'failed')) continue;
    if (!states.has(jobId)) states.set(jobId, queryJob(jobId));
    notes.set(index, taskNote(jobId, index, states.get(jobId)?.get(index), path.join(runDir, SLURM_LOG)));
  }
  return notes;
}

/**
 * The launcher. `options` override the spec's `slurm` section key by key (sbatchArgs are
 * appended to the spec's).
 */
export function slurmLauncher(options: SlurmOptions = {}): Launcher {
  checkSlurmOptions('slurmLauncher', options);
  return {
    name: 'slurm',
    async submit(dir, indices): Promise<LaunchReport> {
      dir = path.resolve(dir);
      const { spec, runs } = readSweep(dir);
      const base = spec.slurm ?? {};
      const o: SlurmOptions = { ...base, ...options, sbatchArgs: [...(base.sbatchArgs ?? []), ...(options.sbatchArgs ?? [])] };
      const slurmDir = path.join(dir, 'slurm');
      fs.mkdirSync(slurmDir, { recursive: true });
      for (const index of indices) {
        const runDir = sweepRunDir(dir, runs[index]);
        fs.mkdirSync(runDir, { recursive: true });
        const link = path.join(runDir, SLURM_LOG);
        fs.rmSync(link, { force: true });
        fs.symlinkSync(path.relative(runDir, path.join(slurmDir, `${index}.log`)), link);
      }
      const script = path.join(slurmDir, 'job.sh');
      fs.writeFileSync(script, jobScript(dir), { mode: 0o755 });
      const args = sbatchArguments(dir, indices, o);
      const r = command('sbatch', [...args, script]);
      if (!r.ok) throw new Error(`sbatch failed: ${r.stderr.trim() || r.stdout.trim()} (arguments: ${args.join(' ')})`);
      const jobId = r.stdout.trim().split(';')[0];
      if (!/^\d+$/.test(jobId)) throw new Error(`sbatch printed '${r.stdout.trim()}', not a job id`);
      writeJsonAtomic(jobsFile(dir), [...readJobs(dir), { jobId, indices: [...indices], submitted: new Date().toISOString(), sbatch: args }]);
      return { launcher: 'slurm', submitted: [...indices], waited: false, note: `Slurm job array ${jobId} (${indices.length} tasks, --array=${arraySpec(indices, o.concurrency)})` };
    },
    describe: describeSlurmRuns,
  };
}
