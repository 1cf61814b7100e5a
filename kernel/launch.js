#!/usr/bin/env node
/*
 * Launcher of the alignmix notebook kernel (kernels/alignmix/kernel.json runs it as
 * `node launch.js kernel --config-path CONNECTION_FILE`).
 *
 * 1. Quiet TensorFlow. The native backend prints its start-up lines (absl::InitializeLog, oneDNN
 *    notices) from C++ when it loads, straight to the process's stderr, i.e. into the first cell's
 *    output; TF_CPP_MIN_LOG_LEVEL=2 (set before anything can load the addon) hides them.
 *    ALIGNMIX_TF_LOG=1 keeps TensorFlow's own level (README: "TensorFlow's log lines").
 *
 * 2. Working directory. Cells are compiled with the kernel's working directory as TypeScript
 *    rootDir and resolve imports from there, so the kernel starts at the repository root and
 *    notebooks in notebooks/ import the library as './lib/...'.
 *
 * 3. Directory watching off. tslab 1.0.22 drives TypeScript's watch compiler through a
 *    single-slot timer and throws "Unexpected pending rebuildTimer" when TypeScript asks for a
 *    second timer, which a directory watcher event (a folder or file created or deleted under a
 *    folder the compiled code imports from) makes it do; from then on every cell would fail. With
 *    directory watchers replaced by inert ones, only the program-update timer remains. Edits to
 *    existing files are still seen; a file created after a failed import needs a kernel restart.
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
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.join(tslabDir, 'dist')] }));
  ts.sys.watchDirectory = () => ({ close() {} });
  ({ Kernel } = require('./kernel'));
} catch (e) {
  console.error(`alignmix kernel: cannot load tslab from ${tslabDir} (${e.message.split('\n')[0]}); run \`npm install\` in ${repoRoot}`);
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
