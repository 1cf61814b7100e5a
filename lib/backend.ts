/**
 * Backend selection: which TensorFlow.js backend runs alignmix, decided once at start-up.
 *
 * Order for `auto` (fastest that can train first):
 *   1. `tensorflow` — the native TensorFlow C library through @tensorflow/tfjs-node-gpu (CUDA) or
 *      @tensorflow/tfjs-node. `npm install` provisions it (environment/native-backend.js).
 *   2. `wasm` — @tensorflow/tfjs-backend-wasm (SIMD), with the training kernels it lacks
 *      registered by ./backends/wasm-training.
 *   3. `cpu` — the pure-JS reference backend: correct everywhere, far too slow for CNNs.
 *
 * Force a backend with `initBackend({ backend })` or the ALIGNMIX_BACKEND environment variable.
 * A forced backend that cannot start is an error, never a silent fallback: tfjs itself falls back
 * silently, which is how slow runs go unnoticed.
 */
import * as tf from '@tensorflow/tfjs-core';
// Static imports: tslab compiles only the local files a notebook reaches through `import`.
import { registerCpuKernelFixes } from './backends/cpu-kernel-fixes';
import { registerNativeReluGrad } from './backends/native-ops';
import { defaultThreads, intraOpThreads, quietNativeLoad, setTfEnvDefaults } from './backends/native-library';
import { configureWasmThreads, registerWasmTrainingKernels, wasmThreadStatus } from './backends/wasm-training';

export { keepTfErrors } from './backends/native-library';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendOptions {
  /** Which backend to use; default: ALIGNMIX_BACKEND or 'auto'. */
  backend?: BackendName;
  /**
   * Threads for the compute library (TF intra-op threads, wasm threads). Default: all cores.
   * For the native backend this only takes effect before the library is first loaded.
   */
  threads?: number;
}

export interface BackendInfo {
  /** tfjs backend name actually running (tf.getBackend()). */
  name: Exclude<BackendName, 'auto'>;
  /** What was asked for ('auto' unless forced). */
  requested: BackendName;
  /** Where the kernels run. */
  device: 'CPU' | 'GPU';
  /** Package that provides the backend, with its version. */
  provider: string;
  /** Version of the native TensorFlow library, for the `tensorflow` backend. */
  tensorflowVersion?: string;
  threads: number;
  /** Backends tried before this one and why they were not used (auto mode). */
  skipped: { name: string; reason: string }[];
}

let active: BackendInfo | null = null;

function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(`Unknown backend '${value}' (from ${source}); expected one of ${BACKEND_NAMES.join(', ')}`);
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

/**
 * Try the native library; returns the provider package and the threads TensorFlow runs, or throws
 * with the reason. `asked`: the caller's explicit thread count (warned about when TF runs another).
 */
function loadNative(threads: number, asked: number | undefined): { provider: string; device: 'CPU' | 'GPU'; tfVersion: string; threads: number } {
  setTfEnvDefaults(threads);
  const actualThreads = intraOpThreads() ?? threads;
  if (asked !== undefined && actualThreads !== asked) {
    console.warn(`alignmix: TensorFlow runs ${actualThreads} intra-op threads, not the ${asked} asked for: it reads the number once, `
      + 'when its library first loads (TF_NUM_INTRAOP_THREADS, or an image loader created before initBackend)');
  }
  const errors: string[] = [];
  for (const [pkg, device] of [['@tensorflow/tfjs-node-gpu', 'GPU'], ['@tensorflow/tfjs-node', 'CPU']] as const) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const mod = quietNativeLoad(() => require(pkg));
      tf.setBackend('tensorflow');
      if (tf.getBackend() !== 'tensorflow') throw new Error(`${pkg} loaded but did not register 'tensorflow'`);
      const tfVersion = String(mod.version?.['tfjs-node'] ?? '');
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const binding = (tf.backend() as any).binding;
      registerNativeReluGrad();
      return { provider: `${pkg}@${tfVersion}`, device, tfVersion: String(binding?.TF_Version ?? 'unknown'), threads: actualThreads };
    } catch (e) {
      errors.push(`${pkg}: ${firstLine(e)}`);
    }
  }
  throw new Error(errors.join('; '));
}

async function loadWasm(threads: number): Promise<{ provider: string; threads: number }> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasm = require('@tensorflow/tfjs-backend-wasm');
  configureWasmThreads(wasm, threads);
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  const status = wasmThreadStatus();
  if (status?.reason) console.warn(`alignmix: wasm runs ${status.actual} of ${status.requested} threads: ${status.reason}`);
  return { provider: `@tensorflow/tfjs-backend-wasm@${wasm.version_wasm ?? tf.version_core}`, threads: status?.actual ?? 1 };
}

async function loadCpu(): Promise<string> {
  registerCpuKernelFixes();
  if (!(await tf.setBackend('cpu'))) throw new Error('cpu backend failed to initialise');
  return `@tensorflow/tfjs-backend-cpu@${tf.version_core}`;
}

/**
 * Start the backend (idempotent: later calls return the running one, and asking for a different
 * backend after start-up is an error because tensors would be stranded on the old one).
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  const requested = options.backend
    ? parseBackendName(options.backend, 'options.backend')
    : process.env.ALIGNMIX_BACKEND
      ? parseBackendName(process.env.ALIGNMIX_BACKEND, 'ALIGNMIX_BACKEND')
      : 'auto';
  if (active) {
    if (requested !== 'auto' && requested !== active.name) {
      throw new Error(`Backend '${active.name}' is already running; cannot switch to '${requested}' in this process`);
    }
    return active;
  }
  // The gradient functions of the ops live in the @tensorflow/tfjs union bundle, not in
  // tfjs-core: without this, tf.grad fails on the wasm and cpu backends ("gradient function not
  // found for Sum"). tfjs-node loads it too, so this costs nothing extra on the native backend.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require('@tensorflow/tfjs');
  const threads = options.threads ?? defaultThreads();
  const skipped: { name: string; reason: string }[] = [];
  const order: Exclude<BackendName, 'auto'>[] = requested === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [requested];

  for (const name of order) {
    try {
      let info: BackendInfo;
      if (name === 'tensorflow') {
        const native = loadNative(threads, options.threads);
        info = { name, requested, device: native.device, provider: native.provider, tensorflowVersion: native.tfVersion, threads: native.threads, skipped };
      } else if (name === 'wasm') {
        const wasm = await loadWasm(threads);
        info = { name, requested, device: 'CPU', provider: wasm.provider, threads: wasm.threads, skipped };
      } else {
        info = { name, requested, device: 'CPU', provider: await loadCpu(), threads: 1, skipped };
      }
      await tf.ready();
      active = info;
      return info;
    } catch (e) {
      if (requested !== 'auto') throw new Error(`Backend '${name}' could not start: ${firstLine(e)}`);
      skipped.push({ name, reason: firstLine(e) });
    }
  }
  throw new Error(`No TensorFlow.js backend could start: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/** The running backend; throws if initBackend() has not been awaited. */
export function backendInfo(): BackendInfo {
  if (!active) throw new Error('No backend yet: call `await initBackend()` first');
  return active;
}

/** One line for logs: "tensorflow (TF 2.21.0, CPU, 2 threads) via @tensorflow/tfjs-node@4.22.0". */
export function describeBackend(info: BackendInfo = backendInfo()): string {
  const tfv = info.tensorflowVersion ? `TF ${info.tensorflowVersion}, ` : '';
  const skipped = info.skipped.length ? `; skipped ${info.skipped.map((s) => `${s.name} (${s.reason})`).join(', ')}` : '';
  return `${info.name} (${tfv}${info.device}, ${info.threads} thread${info.threads === 1 ? '' : 's'}) via ${info.provider}${skipped}`;
}
