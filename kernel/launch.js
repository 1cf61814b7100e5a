#!/usr/bin/env node
/*
 * Launcher of the alignmix notebook kernel (kernels/alignmix/kernel.json runs it as
 * `node launch.js kernel --config-path CONNECTION_FILE`).
 *
 * 1. Quiet TensorFlow. The native backend logs its start-up from C++ to the process's stderr,
 *    which is the Jupyter server's log (the kernel forwards to cells only what JavaScript writes);
 *    TF_CPP_MIN_LOG_LEVEL=2, set before anything can load the addon, keeps TensorFlow's info and
 *    warning lines out of it (lib/backend.ts also drops those TF prints before applying it).
 *    ALIGNMIX_TF_LOG=1 keeps TensorFlow's own level (kernel/README.md, "Quiet TensorFlow").
 *
 * 2. Working directory. Cells are compiled with the kernel's working directory as TypeScript
 *    rootDir and resolve imports from there, so the kernel starts at the repository root and
 *    notebooks in notebooks/ import the library as './lib/...'.
 *
 * 3. Directory watching off (kernel/typescript.js, when it loads TypeScript): tslab 1.0.22's watch
 *    compiler breaks for good when a folder appears under an imported one.
 *
 * 4. Orphan guard. Like ipykernel's parent poller, the kernel exits when the process that started
 *    it (Jupyter server, nbclient, a test runner) is gone.
 */
'use strict';
const path = require('path');

if (process.env.ALIGNMIX_TF_LOG !== '1' && process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';

const repoRoot = path.resolve(__dirname, '..');
const tslabDir = path.join(repoRoot, 'node_modules', 'tslab');
process.chdir(repoRoot);

const args = process.argv.slice(2);
const at = args.indexOf('--config-path');
if (args[0] !== 'kernel' || at < 0 || !args[at + 1]) {
  console.error('usage: node kernel/launch.js kernel --config-path CONNECTION_FILE');
  process.exit(2);
}

let Kernel;
try {
  require.resolve(path.join(tslabDir, 'dist', 'converter.js'));
  require.resolve('typescript', { paths: [repoRoot] });
  ({ Kernel } = require('./kernel'));
} catch (e) {
  console.error(`alignmix kernel: cannot load tslab from ${tslabDir} or the project's typescript (${e.message.split('\n')[0]}); run \`npm install\` in ${repoRoot}`);
  process.exit(1);
}

const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 2000).unref();

new Kernel({ connectionFile: args[at + 1], rootDir: repoRoot, tslabDir })
  .start()
  .catch((e) => {
    console.error(`alignmix kernel: ${e.stack || e}`);
    process.exit(1);
  });
