/**
 * The local launcher: runs of a sweep on this machine, no service needed.
 *
 * Worker processes. Up to `jobs` at once, each `alignmix sweep worker DIR --index i` (node
 * bin/alignmix.js), given `threads / jobs` compute threads (ALIGNMIX_THREADS, which the native
 * backend and wasm read; default threads: all cores). A worker that dies without writing its
 * outcome (killed, out of memory, a native crash) is marked failed with its exit code or signal
 * and the end of its stderr; its last checkpoint stays, and running the sweep again resumes it.
 *
 * In process. With `inProcess` (one job) the runs train one after another inside this process
 * (runSweepRun), so a notebook can draw live curves and `alignmix compare` pays no process
 * start-up. The same worker function runs either way.
 *
 * Stopping. The launch signal (Ctrl-C in the CLI, the kernel's interrupt in a notebook) starts
 * no further run and sends SIGINT to the running workers, which finish their batch, checkpoint
 * there and record 'cancelled': every run is resumable, mid-epoch too (the trainer saves the
 * loader position and the epoch's running sums). Workers run in their own process group, so a
 * terminal's Ctrl-C reaches them once, through the launcher (a second SIGINT would end a worker
 * at once, see interruptSignal in lib/cli/main.ts).
 *
 * Figures do not depend on `jobs` as long as each run gets the same number of threads (TF's
 * reductions may depend on the thread count): test/train/sweep.test.ts compares 1 and 2 jobs.
 */
import { ChildProcess, spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { assertInt, assertKnownKeys } from '../validate';
import { appendRunLog, readRunStatus, writeRunStatus } from './run-dir';
import { LaunchOptions, LaunchReport, Launcher, readSweep, runSweepRun, sweepRunDir } from './sweep';

export interface LocalLauncherOptions {
  /** Runs at once (default 1). */
  jobs?: number;
  /** Compute threads shared by the jobs (default ALIGNMIX_THREADS, else all cores). */
  threads?: number;
  /** Train in this process, one run after another (jobs must be 1). */
  inProcess?: boolean;
}

/** The CLI entry the workers run (bin/alignmix.js, next to lib/). */
const CLI_ENTRY = path.join(__dirname, '..', '..', 'bin', 'alignmix.js');
const STDERR_TAIL = 4000;

export function localLauncher(options: LocalLauncherOptions = {}): Launcher {
  const where = 'localLauncher';
  assertKnownKeys(where, options, ['jobs', 'threads', 'inProcess']);
  const jobs = options.jobs ?? 1;
  assertInt(where, 'jobs', jobs, 1);
  const threads = options.threads ?? (Number(process.env.ALIGNMIX_THREADS) || os.cpus().length);
  assertInt(where, 'threads', threads, 1);
  if (options.inProcess && jobs !== 1) throw new Error(`${where}: inProcess runs one job at a time, got jobs ${jobs}`);
  const threadsPerJob = Math.max(1, Math.floor(threads / jobs));
  return {
    name: 'local',
    submit: (dir, indices, launch = {}) => (options.inProcess ? runInProcess(dir, indices, launch) : runWorkers(dir, indices, jobs, threadsPerJob, launch)),
  };
}

async function runInProcess(dir: string, indices: readonly number[], launch: LaunchOptions): Promise<LaunchReport> {
  const { runs } = readSweep(dir);
  for (const index of indices) {
    if (launch.signal?.aborted) break;
    const run = runs[index];
    launch.onEvent?.({ kind: 'started', index, id: run.id, pid: process.pid });
    const status = await runSweepRun(dir, index, { signal: launch.signal, callbacks: launch.callbacks?.(run) });
    launch.onEvent?.({ kind: 'stopped', index, id: run.id, status });
  }
  return { launcher: 'local', submitted: [...indices], waited: true };
}

async function runWorkers(dir: string, indices: readonly number[], jobs: number, threadsPerJob: number, launch: LaunchOptions): Promise<LaunchReport> {
  const { runs } = readSweep(dir);
  const queue = [...indices];
  const running = new Set<ChildProcess>();
  const stopAll = () => { for (const child of running) child.kill('SIGINT'); };
  launch.signal?.addEventListener('abort', stopAll);
  const env: NodeJS.ProcessEnv = { ...process.env, ALIGNMIX_THREADS: String(threadsPerJob) };
  // The parent's backend may have set this for itself; each worker sets its own from ALIGNMIX_THREADS.
  delete env.TF_NUM_INTRAOP_THREADS;

  const startNext = (): Promise<void> | null => {
    const index = queue.shift();
    if (index === undefined || launch.signal?.aborted) return null;
    const run = runs[index];
    const child = spawn(process.execPath, [CLI_ENTRY, 'sweep', 'worker', dir, '--index', String(index)], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    running.add(child);
    launch.onEvent?.({ kind: 'started', index, id: run.id, pid: child.pid });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-STDERR_TAIL); });
    return new Promise<void>((resolve) => {
      child.on('close', (code, signal) => {
        running.delete(child);
        const runDir = sweepRunDir(dir, run);
        let status = readRunStatus(runDir);
        if (!status || status.state === 'running') {
          // The worker died before it could record its outcome.
          const how = signal ? `signal ${signal}` : `exit code ${code}`;
          const error = `worker process ${child.pid} ended with ${how} without recording an outcome${stderr ? `; its stderr ended with:\n${stderr.trim()}` : ''}`;
          status = {
            state: 'failed', updated: new Date().toISOString(), pid: child.pid ?? -1, host: os.hostname(), attempts: status?.attempts ?? 1,
            epochsDone: status?.epochsDone ?? 0, epochs: run.config.epochs, error,
          };
          appendRunLog(runDir, `[${status.updated}] ${error}`);
          writeRunStatus(runDir, status);
        }
        launch.onEvent?.({ kind: 'stopped', index, id: run.id, pid: child.pid, status });
        resolve();
      });
    });
  };

  const lane = async (): Promise<void> => {
    for (let next = startNext(); next; next = startNext()) await next;
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, lane));
  } finally {
    launch.signal?.removeEventListener('abort', stopAll);
  }
  return { launcher: 'local', submitted: [...indices], waited: true };
}
