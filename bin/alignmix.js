#!/usr/bin/env node
// CLI entry: `npx alignmix <command>` from the repo. Compiles lib/ on the fly with ts-node
// (transpile-only: type checking is `npm run typecheck`'s job, not every start-up's).
'use strict';
const path = require('path');
require('ts-node').register({
  transpileOnly: true,
  project: path.join(__dirname, '..', 'tsconfig.json'),
});
require('../lib/cli/main').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`alignmix: ${err && err.message ? err.message : err}`);
    if (process.env.ALIGNMIX_DEBUG) console.error(err && err.stack);
    process.exitCode = 1;
  },
);
