/**
 * wasm threads in Node (lib/backends/wasm-threads), each case in a fresh child process started the
 * way a user starts alignmix (ALIGNMIX_BACKEND=wasm, ALIGNMIX_THREADS=n):
 *   - the status says how many XNNPACK threads run; when the threaded build cannot start (here:
 *     its worker script hidden), the status gives the reason AND a warning is printed (never a
 *     silent fallback);
 *   - convolution forward and filter gradient on that build equal their closed forms;
 *   - the process exits by itself (pool threads must not keep Node alive);
 *   - threads cannot be reconfigured once the backend runs.
 */
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { configureWasmThreads, WasmPackage, WasmThreadStatus } from '../../lib/backends/wasm-training';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * x = ones [2, 16, 16, 8], W = ones [3, 3, 8, 4], 'same':
 *   y[b, i, j, o] = 8 * rows(i) * cols(j), rows(i) = 2 on the border rows, else 3;
 *   d sum(y) / dW[u, v, c, o] = 2 * n(u) * n(v), n = 15 for the outer taps, 16 for the centre one.
 */
const CHILD = `
const tf = require('@tensorflow/tfjs-core');
const { initBackend } = require('./lib/backend');
const { wasmThreadStatus, configureWasmThreads } = require('./lib/backends/wasm-training');
(async () => {
  await initBackend();
  const x = tf.ones([2, 16, 16, 8]);
  const w = tf.ones([3, 3, 8, 4]);
  const y = tf.conv2d(x, w, 1, 'same').dataSync();
  const dW = tf.grad((f) => tf.sum(tf.conv2d(x, f, 1, 'same')))(w).dataSync();
  let reconfigure = 'no error';
  try { configureWasmThreads(require('@tensorflow/tfjs-backend-wasm'), 1); } catch (e) { reconfigure = e.message; }
  console.log(JSON.stringify({ backend: tf.getBackend(), status: wasmThreadStatus(), y: Array.from(y), dW: Array.from(dW), reconfigure }));
})();
`;

interface ChildResult {
  backend: string;
  status: WasmThreadStatus;
  y: number[];
  dW: number[];
  reconfigure: string;
}

/** Run CHILD with `threads` wasm threads, after `preamble` (JS). */
function runChild(threads: number, preamble = ''): { result: ChildResult; stderr: string } {
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', preamble + CHILD], {
    cwd: ROOT,
    env: { ...process.env, ALIGNMIX_BACKEND: 'wasm', ALIGNMIX_THREADS: String(threads) },
    encoding: 'utf8',
    timeout: 90000,
  });
  assert.equal(r.signal, null, `child (threads ${threads}) did not exit by itself within 90 s: ${r.stderr}`);
  assert.equal(r.status, 0, `child (threads ${threads}) failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { result: JSON.parse(lines[lines.length - 1]) as ChildResult, stderr: r.stderr };
}

function checkClosedForms(res: ChildResult): void {
  const border = (i: number) => (i === 0 || i === 15 ? 2 : 3);
  res.y.forEach((v, k) => {
    const j = Math.floor(k / 4) % 16;
    const i = Math.floor(k / (4 * 16)) % 16;
    assert.equal(v, 8 * border(i) * border(j), `y at flat index ${k}`);
  });
  const taps = (u: number) => (u === 1 ? 16 : 15);
  res.dW.forEach((v, k) => {
    const vIdx = Math.floor(k / 32) % 3;
    const uIdx = Math.floor(k / 96);
    assert.equal(v, 2 * taps(uIdx) * taps(vIdx), `dW at flat index ${k}`);
  });
}

describe('backends: wasm threads in Node', function () {
  this.timeout(200000);

  it('2 threads: the threaded SIMD build runs them, or says why not; results exact; exits', function () {
    const { result, stderr } = runChild(2);
    assert.equal(result.backend, 'wasm');
    assert.equal(result.status.requested, 2);
    if (result.status.build === 'threaded-simd') {
      assert.equal(result.status.actual, 2);
      assert.equal(result.status.reason, undefined);
    } else {
      console.log(`      threaded wasm unavailable here: ${result.status.reason}`);
      assert.equal(result.status.actual, 1);
      assert.ok(result.status.reason, 'a fallback must carry its reason');
      assert.match(stderr, /threaded wasm could not start/, 'a fallback must be reported on stderr');
    }
    checkClosedForms(result);
    assert.match(result.reconfigure, /already started/);
  });

  it('a threaded start-up failure falls back to one thread, with the reason in the status and on stderr', function () {
    // Hide the pthread worker script, as a broken install would.
    const hide = `const fs = require('fs'); const exists = fs.existsSync;
      fs.existsSync = (p) => !String(p).endsWith('wasm-pthread-worker.js') && exists(p);`;
    const { result, stderr } = runChild(2, hide);
    assert.equal(result.backend, 'wasm');
    assert.equal(result.status.build, 'single-threaded');
    assert.equal(result.status.actual, 1);
    assert.match(result.status.reason ?? '', /threaded wasm could not start \(missing .*wasm-pthread-worker\.js\)/);
    assert.match(stderr, /\[alignmix\] threaded wasm could not start/);
    checkClosedForms(result);
  });

  it('1 thread: the single-threaded SIMD build, no fallback reason', function () {
    const { result } = runChild(1);
    assert.deepEqual(result.status, { requested: 1, actual: 1, build: 'single-threaded' });
    checkClosedForms(result);
  });

  it('configureWasmThreads rejects a thread count that is not a positive integer', function () {
    for (const bad of [0, 1.5, -2]) {
      assert.throws(() => configureWasmThreads({} as WasmPackage, bad), /configureWasmThreads.*threads/);
    }
  });
});
