#!/usr/bin/env node
/*
 * Launcher of the alignmix notebook kernel (kernels/alignmix/kernel.json runs it).
 *
 * 1. Working directory. tslab compiles notebook cells with the kernel's working directory as
 *    TypeScript rootDir and resolves imports from there, so the kernel must start at the
 *    repository root for notebooks in notebooks/ to import the library as './lib/...'. Jupyter
 *    starts kernels in the notebook's folder; this launcher moves to the repository root and hands
 *    over to the repository's own tslab (node_modules/tslab), so notebooks and lib/display share
 *    that one tslab instance.
 *
 * 2. Directory watching off. tslab 1.0.22 drives TypeScript's watch compiler through a
 *    single-slot timer and throws "Unexpected pending rebuildTimer" when TypeScript asks for a
 *    second timer. A directory watcher event (a folder or file created or deleted under a folder
 *    the compiled code imports from, e.g. a new lib/ subfolder, an editor's temporary file) makes
 *    TypeScript schedule a "failed lookup" timer next to its program-update timer; from then on
 *    every cell fails with that error until the kernel restarts. With directory watchers replaced
 *    by inert ones (here, before tslab loads TypeScript's sys), only the program-update timer
 *    remains, which TypeScript always clears before setting again. Edits to existing files are
 *    still seen (file watchers are untouched); a file created after a failed import is seen after
 *    a kernel restart.
 *
 * 3. Orphan guard. tslab never exits on its own; like ipykernel's parent poller, the kernel exits
 *    when the process that started it (Jupyter server, nbclient, a test runner) is gone, so a
 *    killed runner leaves no kernel behind holding CI's output pipes open.
 */
'use strict';
const path = require('path');

const repoRoot = path.resolve(__dirname, '..');
const tslabDir = path.join(repoRoot, 'node_modules', 'tslab');

process.chdir(repoRoot);
let tslab;
try {
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [path.join(tslabDir, 'dist')] }));
  ts.sys.watchDirectory = () => ({ close() {} });
  tslab = require(path.join(tslabDir, 'dist', 'main.js'));
} catch (e) {
  console.error(`alignmix kernel: cannot load tslab from ${tslabDir} (${e.message.split('\n')[0]}); run \`npm install\` in ${repoRoot}`);
  process.exit(1);
}
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) process.exit(0);
}, 2000).unref();
tslab.main();
