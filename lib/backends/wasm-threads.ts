/**
 * Multi-threaded wasm (XNNPACK thread pool) under Node.
 *
 * Why tfjs runs wasm single-threaded in Node: its WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired
 * to false there (tfjs issue #3830). Forcing the flag does not help: the package then hands
 * Emscripten blob: URLs for the pthread worker script and for the main script, which Node's
 * worker_threads cannot load (ERR_WORKER_PATH), and the backend falls back silently.
 *
 * What works here: build the threaded SIMD module ourselves from the files the package ships, then
 * wrap it in the package's own BackendWasm class, as its init() does:
 *   - locateFile: the .wasm binary from wasm-out/, and ./wasm-pthread-worker.js as the worker
 *     script (the package ships that script only as a string);
 *   - mainScriptUrlOrBlob: the PATH of wasm-out/tfjs-backend-wasm-threaded-simd.js, which every
 *     worker evaluates (Emscripten's importScripts shim reads files under Node);
 *   - instantiateWasm: XNNPACK's pool is capped at emscripten_num_logical_cores() / 2, read once
 *     at load time (a hyper-threading guess; under Node it is os.cpus().length), so on a 2-core
 *     machine any request became 1 thread. That import is answered with 2 x threads so the
 *     requested count is used (the build pre-spawns 8 workers, XNNPACK's other cap);
 *   - after start-up the workers running pool threads are unref'd: Emscripten refs a worker while
 *     its thread runs and pool threads never end, so Node would otherwise never exit.
 * Any failure falls back to the package's single-threaded SIMD backend with a console warning, and
 * `wasmThreadStatus()` says how many threads run and why not more.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { assertInt } from '../validate';

/** The parts of the @tensorflow/tfjs-backend-wasm package used here. */
export interface WasmPackage {
  BackendWasm: new (module: never) => tf.KernelBackend;
  setThreadsCount(threads: number): void;
  getThreadsCount(): number;
}

export interface WasmThreadStatus {
  /** Threads asked for. */
  requested: number;
  /** Threads XNNPACK's pool actually has. */
  actual: number;
  /** Which wasm binary runs. */
  build: 'threaded-simd' | 'single-threaded';
  /** Why fewer threads than requested run; absent when the request was met. */
  reason?: string;
}

/** Emscripten's module as far as it is used here. */
interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  PThread: { runningWorkers: { unref(): void }[] };
  tfjs?: Record<string, unknown>;
}

type WasmImports = Record<string, Record<string, unknown>>;

/** The WebAssembly global (its types live in lib.dom, which this project does not load). */
interface WasmInstantiation {
  instance: object;
  module: object;
}
const webAssembly = (globalThis as unknown as {
  WebAssembly: { instantiate(bytes: Uint8Array, imports: WasmImports): Promise<WasmInstantiation> };
}).WebAssembly;

interface FactoryConfig {
  mainScriptUrlOrBlob: string;
  locateFile(file: string): string;
  instantiateWasm(imports: WasmImports, receive: (instance: object, module: object) => void): object;
}

/** The pool sizes XNNPACK accepts in this build (it pre-spawns this many workers). */
export const MAX_WASM_THREADS = 8;
const START_TIMEOUT_MS = 60000;
/** tfjs-backend-wasm registers 'wasm' with this priority. */
const WASM_PRIORITY = 2;

let status: WasmThreadStatus | null = null;
/** The package's own (single-threaded) factory, kept from the first configureWasmThreads call. */
let packageFactory: (() => tf.KernelBackend | Promise<tf.KernelBackend>) | null = null;

/** Thread set-up of the running wasm backend; null until the wasm backend has started. */
export function wasmThreadStatus(): WasmThreadStatus | null {
  return status;
}

function message(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/** Why the threaded build cannot run in this process, or null. */
async function threadSupportProblem(): Promise<string | null> {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return 'no SharedArrayBuffer/Atomics in this Node';
  if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) return 'this Node has no WebAssembly SIMD (the threaded build needs it)';
  try {
    require('worker_threads');
  } catch {
    return 'no worker_threads module in this Node';
  }
  return null;
}

async function startThreadedBackend(wasm: WasmPackage, threads: number): Promise<tf.KernelBackend> {
  const problem = await threadSupportProblem();
  if (problem) throw new Error(problem);
  const mainScript = require.resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  const dir = path.dirname(mainScript);
  const binary = path.join(dir, 'tfjs-backend-wasm-threaded-simd.wasm');
  const workerScript = path.join(__dirname, 'wasm-pthread-worker.js');
  for (const file of [binary, workerScript]) {
    if (!fs.existsSync(file)) throw new Error(`missing ${file}`);
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const factory = require(mainScript) as (config: FactoryConfig) => Promise<ThreadedModule>;

  // Emscripten's Node glue adds process-wide handlers that rethrow every uncaught exception and
  // rejection from inside its minified one-line script, so Node's crash report would print that
  // whole line instead of the real throw site. Node's defaults do the same minus that: drop them.
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const before = events.map((event) => process.listeners(event as 'uncaughtException') as unknown[]);
  let fail: (e: unknown) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => { fail = reject; });
  const timer = setTimeout(() => fail(new Error(`did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
  timer.unref();
  try {
    const module = await Promise.race([failed, factory({
      mainScriptUrlOrBlob: mainScript,
      locateFile: (file) => (file.endsWith('.worker.js') ? workerScript : path.join(dir, file)),
      instantiateWasm: (imports, receive) => {
        const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
        webAssembly.instantiate(fs.readFileSync(binary), { ...imports, env, wasi_snapshot_preview1: env })
          .then((r) => receive(r.instance, r.module), fail);
        return {};
      },
    })]);
    // The same bridge the package's init() builds.
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    const backend = new wasm.BackendWasm(module as never); // creates the pool
    for (const worker of module.PThread.runningWorkers) worker.unref();
    return backend;
  } finally {
    clearTimeout(timer);
    events.forEach((event, k) => {
      for (const listener of process.listeners(event as 'uncaughtException')) {
        if (!before[k].includes(listener)) process.removeListener(event, listener);
      }
    });
  }
}

/**
 * Make the 'wasm' backend run `threads` XNNPACK threads (1 = the package's single-threaded SIMD
 * build). Call after loading @tensorflow/tfjs-backend-wasm and before the wasm backend starts
 * (calling again before then replaces the setting).
 * When the threaded build cannot start, the backend starts single-threaded, a warning says why,
 * and `wasmThreadStatus()` records it.
 */
export function configureWasmThreads(wasm: WasmPackage, threads: number): void {
  assertInt('configureWasmThreads', 'threads', threads, 1);
  if ('wasm' in tf.engine().registry) {
    throw new Error('configureWasmThreads: the wasm backend has already started; configure threads before tf.setBackend(\'wasm\')');
  }
  packageFactory ??= tf.findBackendFactory('wasm');
  const singleThreaded = packageFactory;
  if (!singleThreaded) throw new Error('configureWasmThreads: @tensorflow/tfjs-backend-wasm is not loaded (no \'wasm\' backend registered)');
  const pool = Math.min(threads, MAX_WASM_THREADS);
  wasm.setThreadsCount(pool);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    let reason = threads > MAX_WASM_THREADS ? `this wasm build supports at most ${MAX_WASM_THREADS} threads` : undefined;
    if (pool > 1) {
      try {
        const backend = await startThreadedBackend(wasm, pool);
        status = { requested: threads, actual: wasm.getThreadsCount(), build: 'threaded-simd', reason };
        return backend;
      } catch (e) {
        reason = `threaded wasm could not start (${message(e)})`;
        console.warn(`[alignmix] ${reason}; running wasm single-threaded`);
      }
    }
    const backend = await singleThreaded();
    status = { requested: threads, actual: wasm.getThreadsCount(), build: 'single-threaded', reason };
    return backend;
  }, WASM_PRIORITY);
}
