/** Temporary folders and small fixtures for the data tests. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** A fresh temporary folder; remove it with `removeDir`. */
export function tempDir(prefix = 'alignmix-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** All files (relative paths, sorted) under `dir`. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, d.name);
      if (d.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}
