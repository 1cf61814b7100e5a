'use strict';
/*
 * Entry point of the loader's worker threads. Node starts workers only from .js files, so this
 * small plain-JS file loads the TypeScript worker body: through ts-node (transpile-only) when the
 * library runs from its .ts sources (tests, CLI, notebooks), or directly when a compiled
 * batch-worker-main.js sits next to it.
 */
const fs = require('fs');
const path = require('path');

const compiled = path.join(__dirname, 'batch-worker-main.js');
if (fs.existsSync(compiled)) {
  require(compiled);
} else {
  if (!require.extensions['.ts']) {
    require('ts-node').register({ transpileOnly: true, projectSearchDir: __dirname, compilerOptions: { module: 'commonjs' } });
  }
  require('./batch-worker-main.ts');
}
