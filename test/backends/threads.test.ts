import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/**
 * A fresh process that (optionally) loads TensorFlow for the image loader's JPEG decoder first,
 * then calls initBackend({ threads: asked }) and runs a matMul; what initBackend reported, the
 * process's thread count (TensorFlow's intra-op pool adds one thread per intra-op thread) and stderr.
 */
function start(asked: number, decoderFirstWith?: number) {
  const script = [
    decoderFirstWith === undefined ? '' : "require('./lib/data/native-jpeg').nativeJpeg();",
    `require('./lib/backend').initBackend({ threads: ${asked} }).then((b) => {`,
    "  const tf = require('@tensorflow/tfjs-core'); tf.matMul(tf.ones([300, 300]), tf.ones([300, 300])).dataSync();",
    "  console.log(JSON.stringify({ name: b.name, threads: b.threads, tasks: require('fs').readdirSync('/proc/self/task').length }));",
    '});',
  ].join('\n');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.TF_NUM_INTRAOP_THREADS;
  if (decoderFirstWith !== undefined) env.ALIGNMIX_THREADS = String(decoderFirstWith);
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return { ...(JSON.parse(r.stdout.trim().split('\n').pop() as string) as { name: string; threads: number; tasks: number }), stderr: r.stderr };
}

describe('TensorFlow intra-op threads (lib/backend.ts initBackend, lib/backends/native-library.ts)', () => {
  it('reports the threads TensorFlow runs, and warns when an earlier load fixed another number', function () {
    this.timeout(240_000);
    if (process.platform !== 'linux') {
      console.warn('    SKIPPED: counts threads through /proc/self/task (Linux only)');
      this.skip();
    }
    const three = start(3);
    if (three.name !== 'tensorflow') {
      console.warn(`    SKIPPED: the native backend is not available here (got ${three.name})`);
      this.skip();
    }
    const one = start(1);
    assert.equal(three.threads, 3);
    assert.equal(one.threads, 1);
    // The reference: TensorFlow's pool adds a thread per intra-op thread.
    assert.equal(three.tasks - one.tasks, 2);
    assert.doesNotMatch(one.stderr, /intra-op threads/);

    // The image loader's decoder loaded TensorFlow first, with 3 threads; initBackend then asks for 1.
    const late = start(1, 3);
    assert.equal(late.threads, 3);
    assert.equal(late.tasks, three.tasks);
    assert.match(late.stderr, /TensorFlow runs 3 intra-op threads, not the 1 asked for/);
  });
});
