/**
 * Directory scanning shared by the folder-based readers (TinyImageNet, ImageNet) and the parallel
 * decode of a file list into memory.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeInto } from './batch';
import { sharedBytes } from './source';
import type { FileSource, ImageShape } from './types';
import { WorkerPool } from './worker-pool';

const IMAGE_EXTENSIONS = ['.jpeg', '.jpg', '.png'];

/** Image files (by extension, case-insensitive) directly in `dir`, sorted by name. */
export function listImages(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase()))
    .sort()
    .map((name) => path.join(dir, name));
}

/** Sub-folders of `dir`, sorted by name. */
export function listFolders(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/** Items decoded per worker task: large enough to amortise messaging, small enough to balance. */
const DECODE_CHUNK = 256;

/**
 * Decode every file of a file source into one shared buffer (item i at i * h * w * c); every image
 * must have `shape`. Uses `workers` threads (default: one per core; 0: the calling thread).
 */
export async function decodeAll(source: FileSource, shape: ImageShape, workers = os.cpus().length): Promise<Uint8Array> {
  const n = source.files.length;
  const target = sharedBytes(n * shape[0] * shape[1] * shape[2]);
  if (workers === 0 || n <= DECODE_CHUNK) {
    await decodeInto(source, target, shape, 0);
    return target;
  }
  const pool = new WorkerPool(workers);
  try {
    const tasks: Promise<void>[] = [];
    for (let from = 0; from < n; from += DECODE_CHUNK) {
      const to = Math.min(n, from + DECODE_CHUNK);
      const chunk: FileSource = { kind: 'files', files: source.files.slice(from, to), labels: source.labels.slice(from, to), channels: source.channels };
      tasks.push(pool.runDecode(chunk, target, shape, from));
    }
    await Promise.all(tasks);
  } finally {
    await pool.terminate();
  }
  return target;
}
