import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

/**
 * tslab's module loader resolves `./x` only as `./x.js`, never as `./x/index.js`, so a folder
 * import anywhere in lib/ breaks every notebook that reaches that module (kernel/README.md).
 * tsc and ts-node accept folder imports, so only this check catches them.
 */
function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const IMPORT = /(?:from\s+|require\(\s*|import\(\s*)'(\.{1,2}\/[^']*)'/g;

describe('lib/ imports work in the tslab kernel', () => {
  it('no relative import in lib/ names a folder', () => {
    const lib = path.join(__dirname, '..', 'lib');
    const offenders: string[] = [];
    let seen = 0;
    for (const file of tsFiles(lib)) {
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        seen += 1;
        const target = path.resolve(path.dirname(file), m[1]);
        if (fs.existsSync(target) && fs.statSync(target).isDirectory()) {
          offenders.push(`${path.relative(lib, file)}: '${m[1]}' is a folder, import '${m[1]}/index'`);
        }
      }
    }
    assert.ok(seen > 100, `expected to scan many imports, saw ${seen}`);
    assert.deepEqual(offenders, []);
  });
});
