/**
 * Optional dataset download: fetch an archive, verify it, extract it, never leaving a half-written
 * file or folder behind.
 *
 * - The download streams to `<name>.part-<pid>-<time>` next to the destination while its MD5 is
 *   computed; only a file whose byte count and MD5 match is renamed to the final name. Any failure
 *   deletes the partial file.
 * - Extraction goes into a temporary folder inside the destination; its top-level entries are
 *   moved into place only after the whole archive extracted.
 * tar archives (.tar, .tar.gz, .tgz) go through the `tar` package, zip archives through ./zip.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tar from 'tar';
import { extractZip } from './zip';

/** A dataset archive published on the web. */
export interface ArchiveSpec {
  url: string;
  /** File name of the archive. */
  fileName: string;
  /** Expected MD5 (hex) of the archive. */
  md5: string;
  /** Expected size in bytes. */
  bytes: number;
  /** The folder the archive extracts to. */
  folder: string;
}

/** Official archives (MD5s as published by the dataset authors). */
export const ARCHIVES = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    fileName: 'cifar-10-binary.tar.gz',
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    bytes: 170052171,
    folder: 'cifar-10-batches-bin',
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    fileName: 'cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
    bytes: 168513733,
    folder: 'cifar-100-binary',
  },
  tinyImageNet: {
    url: 'http://cs231n.stanford.edu/tiny-imagenet-200.zip',
    fileName: 'tiny-imagenet-200.zip',
    md5: '90528d7ca1a48142e341f4ef8d21d0de',
    bytes: 248100043,
    folder: 'tiny-imagenet-200',
  },
} satisfies Record<string, ArchiveSpec>;

export interface DownloadOptions {
  /** Expected MD5 (hex); a mismatch rejects the file. */
  md5?: string;
  /** Expected size in bytes; a mismatch rejects the file. */
  bytes?: number;
  /** Called as data arrives (total: from Content-Length, or null). */
  onProgress?: (received: number, total: number | null) => void;
}

/** MD5 of a file, hex. */
export async function md5File(file: string): Promise<string> {
  const hash = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeChunk(out: fs.WriteStream, chunk: Uint8Array): Promise<void> {
  if (!out.write(chunk)) await new Promise<void>((resolve, reject) => {
    out.once('drain', resolve);
    out.once('error', reject);
  });
}

/**
 * Download `url` to the file `dest`, verified against `md5` / `bytes` when given. On success
 * `dest` holds the complete file; on failure neither `dest` nor a partial file exists.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<void> {
  const tmp = `${dest}.part-${process.pid}-${Date.now()}`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const out = fs.createWriteStream(tmp, { flags: 'wx' });
  const outClosed = new Promise<void>((resolve) => out.once('close', () => resolve()));
  try {
    const response = await fetch(url);
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    const lengthHeader = response.headers.get('content-length');
    const total = lengthHeader === null ? null : Number(lengthHeader);
    const hash = crypto.createHash('md5');
    let received = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.length;
      await writeChunk(out, value);
      options.onProgress?.(received, total);
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    await outClosed;
    if (options.bytes !== undefined && received !== options.bytes) throw new Error(`size mismatch: got ${received} bytes, expected ${options.bytes}`);
    const md5 = hash.digest('hex');
    if (options.md5 !== undefined && md5 !== options.md5.toLowerCase()) throw new Error(`MD5 mismatch: got ${md5}, expected ${options.md5.toLowerCase()}`);
    fs.renameSync(tmp, dest);
  } catch (e) {
    out.destroy();
    await outClosed;
    fs.rmSync(tmp, { force: true });
    throw new Error(`downloadFile: ${url} -> ${dest}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Extract a .tar, .tar.gz, .tgz or .zip archive into `destDir`. Entries appear there only once
 * the whole archive extracted; an existing top-level entry of the same name is an error.
 */
export async function extractArchive(archive: string, destDir: string): Promise<void> {
  const where = 'extractArchive';
  if (!fs.existsSync(archive)) throw new Error(`${where}: ${archive} does not exist`);
  fs.mkdirSync(destDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(destDir, '.extract-'));
  try {
    const lower = archive.toLowerCase();
    if (lower.endsWith('.zip')) extractZip(archive, tmp);
    else if (/\.(tar|tar\.gz|tgz)$/.test(lower)) await tar.x({ file: archive, cwd: tmp, strict: true });
    else throw new Error(`unknown archive type (expected .tar, .tar.gz, .tgz or .zip)`);
    const entries = fs.readdirSync(tmp);
    for (const entry of entries) {
      if (fs.existsSync(path.join(destDir, entry))) throw new Error(`${path.join(destDir, entry)} already exists; remove it first`);
    }
    for (const entry of entries) fs.renameSync(path.join(tmp, entry), path.join(destDir, entry));
  } catch (e) {
    throw new Error(`${where}: ${archive}: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Make `spec.folder` exist under `root`: reuse a verified archive already in `root`, else
 * download it (replacing an unverified file of that name), then extract. Returns the folder's
 * path.
 */
export async function fetchArchive(spec: ArchiveSpec, root: string, onProgress?: DownloadOptions['onProgress']): Promise<string> {
  const archive = path.join(root, spec.fileName);
  const verified = fs.existsSync(archive) && fs.statSync(archive).size === spec.bytes && (await md5File(archive)) === spec.md5;
  if (!verified) {
    await downloadFile(spec.url, archive, { md5: spec.md5, bytes: spec.bytes, onProgress });
  }
  await extractArchive(archive, root);
  return path.join(root, spec.folder);
}

export interface LocateOptions {
  /** Function name for errors. */
  where: string;
  /** Human name of the dataset, e.g. 'CIFAR-10'. */
  dataset: string;
  root: string;
  /** Files or folders (relative) that must exist in the dataset folder. */
  required: string[];
  /** Layout description for the error message. */
  layout: string;
  archive: ArchiveSpec;
  download: boolean;
  onProgress?: DownloadOptions['onProgress'];
}

/**
 * The dataset folder: `root` itself or `root/<archive folder>`, whichever holds every required
 * entry; with `download`, fetched and extracted into `root` when neither does.
 * @throws naming the path, the missing entries and the expected layout.
 */
export async function locateDataset(options: LocateOptions): Promise<string> {
  const { root, required, archive } = options;
  const candidates = [root, path.join(root, archive.folder)];
  const missingIn = (dir: string) => required.filter((entry) => !fs.existsSync(path.join(dir, entry)));
  const found = candidates.find((dir) => missingIn(dir).length === 0);
  if (found) return found;
  if (options.download) {
    const dir = await fetchArchive(archive, root, options.onProgress);
    const missing = missingIn(dir);
    if (missing.length) throw new Error(`${options.where}: ${archive.fileName} extracted to ${dir} but lacks ${missing.join(', ')}`);
    return dir;
  }
  const missing = missingIn(fs.existsSync(candidates[1]) ? candidates[1] : root);
  throw new Error(
    `${options.where}: ${options.dataset} not found at ${root}: missing ${missing.join(', ')}; expected ${options.layout} ` +
      `(the '${archive.folder}' folder of ${archive.fileName}, as ${root} or inside it); pass download: true to fetch it`,
  );
}
