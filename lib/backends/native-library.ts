/**
 * Loading TensorFlow's native library (tfjs-node's addon): the environment it reads when it loads
 * and a quiet load. No TensorFlow.js imports: the image loader's worker threads load the addon
 * through this too (lib/data/native-jpeg.ts).
 */

/** Threads for the compute library when not given: ALIGNMIX_THREADS, else all cores. */
export function defaultThreads(): number {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const os = require('os') as typeof import('os');
  return Number(process.env.ALIGNMIX_THREADS) || (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/**
 * Set what TensorFlow reads when its library loads (log level 2, `threads` intra-op threads, one
 * inter-op thread), leaving alone what the user set. ALIGNMIX_TF_LOG=1 keeps TF's own level (all
 * its start-up lines). Only the main thread's process.env reaches the C environment TF reads
 * (a worker thread's is a copy), so this runs on the main thread before the library loads.
 */
export function setTfEnvDefaults(threads: number): void {
  if (process.env.ALIGNMIX_TF_LOG !== '1') process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  process.env.TF_NUM_INTRAOP_THREADS ??= String(threads);
  process.env.TF_NUM_INTEROP_THREADS ??= '1';
  intraOpThreadsAtLoad ??= Number(process.env.TF_NUM_INTRAOP_THREADS);
}

/** TF_NUM_INTRAOP_THREADS at the first setTfEnvDefaults, which both callers run right before loading the library. */
let intraOpThreadsAtLoad: number | undefined;

/**
 * The intra-op threads TensorFlow's library got in this process: the library reads them once,
 * when it first loads, which may have been for the image loader's decoder (lib/data/native-jpeg)
 * before initBackend asked for a number, or with TF_NUM_INTRAOP_THREADS set by the user.
 */
export function intraOpThreads(): number | undefined {
  return intraOpThreadsAtLoad;
}

/** The stderr gate environment/native-backend.js builds (environment/stderr-gate/stderr_gate.c), or null. */
function stderrGate(): { divert(): string; restore(): string } | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require(require('path').join(__dirname, '..', '..', 'build', 'native', 'stderr_gate.node'));
  } catch {
    return null;
  }
}

/** An absl log line's prefix: severity letter, MMDD, time (TF 2.21 prints hh:mm:<seconds since the epoch>), thread id, file:line]. */
const ABSL_LINE = /^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] /;
const ABSL_NOTICE = 'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR';

/**
 * What TF_CPP_MIN_LOG_LEVEL=2 keeps of stderr text TensorFlow wrote before applying it: errors
 * (E, F lines) and everything not from absl's logging; info and warning lines (I, W), the lines
 * that continue them (a message over several lines) and absl's "before InitializeLog" notice go.
 */
export function keepTfErrors(text: string): string {
  const kept: string[] = [];
  let dropping = false;
  for (const line of text.split('\n')) {
    const absl = ABSL_LINE.exec(line);
    if (absl) dropping = absl[1] === 'I' || absl[1] === 'W';
    else if (line === ABSL_NOTICE) dropping = true;
    else if (line === '') dropping = false;
    if (!dropping) kept.push(line);
  }
  return kept.join('\n').replace(/^\n+/, '');
}

/**
 * Load the native library (`load`) quietly: TensorFlow's libraries log a few info lines while they
 * are loaded (oneDNN, CPU features), before TF applies TF_CPP_MIN_LOG_LEVEL, and Node cannot
 * redirect the process's stderr; the stderr gate diverts it into a file meanwhile and this writes
 * back what the log level keeps (`keepTfErrors`). Only with the level at 2 or more and
 * ALIGNMIX_TF_LOG not 1; without a built gate, or if the process dies while TF loads (its last
 * words are then in /tmp/alignmix-stderr-*), the lines show as TF wrote them.
 */
export function quietNativeLoad<T>(load: () => T): T {
  const gate = process.env.ALIGNMIX_TF_LOG !== '1' && Number(process.env.TF_CPP_MIN_LOG_LEVEL) >= 2 ? stderrGate() : null;
  if (!gate) return load();
  gate.divert();
  try {
    return load();
  } finally {
    const kept = keepTfErrors(gate.restore());
    if (kept) process.stderr.write(kept.endsWith('\n') ? kept : kept + '\n');
  }
}
