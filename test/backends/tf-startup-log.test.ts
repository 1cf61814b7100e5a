import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { keepTfErrors } from '../../lib/backend';

const ROOT = path.join(__dirname, '..', '..');
const GATE = path.join(ROOT, 'build', 'native', 'stderr_gate.node');
/** TensorFlow 2.21's start-up lines, as it prints them before applying TF_CPP_MIN_LOG_LEVEL. */
const STARTUP = [/All log messages before absl::InitializeLog\(\)/, /port\.cc:\d+\] oneDNN custom operations/, /cpu_feature_guard/];

/** A fresh process that starts the backend the CLI and the notebooks use; its stderr and backend name. */
function startBackend(env: Record<string, string | undefined>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', "require('./lib/backend').initBackend().then((b) => console.log(b.name))"], {
    cwd: ROOT,
    env: childEnv,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { backend: r.stdout.trim(), stderr: r.stderr };
}

describe('TensorFlow start-up log (lib/backends/native-library.ts quietNativeLoad)', () => {
  it('keepTfErrors drops info and warning lines with their continuations, keeps errors and other text', () => {
    const captured = [
      'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',
      'I0000 00:00:1796238093.044336   20711 port.cc:153] oneDNN custom operations are on.',
      'I0000 00:00:1796238093.144042   20711 cpu_feature_guard.cc:227] This TensorFlow binary is optimized',
      'To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.',
      'W0000 00:00:1796238093.2   20711 env.cc:1] a warning',
      'E0000 00:00:1796238093.3   20711 loader.cc:7] cannot open libfoo.so',
      'continued error detail',
      '',
      'a line from JavaScript',
      '',
    ].join('\n');
    assert.equal(keepTfErrors(captured), ['E0000 00:00:1796238093.3   20711 loader.cc:7] cannot open libfoo.so', 'continued error detail', '', 'a line from JavaScript', ''].join('\n'));
  });

  it('starting the native backend prints none of them by default, and all with ALIGNMIX_TF_LOG=1', function () {
    if (!fs.existsSync(GATE)) {
      console.warn(`    SKIPPED: ${path.relative(ROOT, GATE)} is not built (environment/native-backend.js builds it at npm install; needs cc and Node's headers)`);
      this.skip();
    }
    this.timeout(240_000);
    const quiet = startBackend({ TF_CPP_MIN_LOG_LEVEL: undefined, ALIGNMIX_TF_LOG: undefined });
    if (quiet.backend !== 'tensorflow') {
      console.warn(`    SKIPPED: the native backend is not available here (got ${quiet.backend})`);
      this.skip();
    }
    for (const line of STARTUP) assert.doesNotMatch(quiet.stderr, line);
    const loud = startBackend({ TF_CPP_MIN_LOG_LEVEL: undefined, ALIGNMIX_TF_LOG: '1' });
    assert.equal(loud.backend, 'tensorflow');
    // The reference: what TensorFlow prints when nobody filters (this library version prints these two at least).
    assert.match(loud.stderr, STARTUP[0]);
    assert.match(loud.stderr, STARTUP[1]);
  });
});
