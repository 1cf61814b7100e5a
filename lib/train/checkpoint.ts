/**
 * Checkpoint files: named tensors plus a JSON document, in one file written atomically.
 *
 * Layout (little endian):
 *   "ALIGNMIX-CKPT\n"   14-byte magic (format version 1)
 *   uint32             byte length H of the JSON header
 *   H bytes            UTF-8 JSON: { version, meta, tensors: [{ key, dtype, shape, offset, bytes }] }
 *   payload            raw tensor data; offsets are relative to the payload start
 *
 * Atomicity: the file is written under a temporary name in the same directory, flushed to disk
 * (fsync), then renamed over the target. A crash leaves either the old checkpoint or the new one,
 * never a torn file; stale temporaries are ignored by readers.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';

const MAGIC = Buffer.from('ALIGNMIX-CKPT\n', 'latin1');
const FORMAT_VERSION = 1;

type StoredDtype = 'float32' | 'int32';

interface TensorEntry {
  key: string;
  dtype: StoredDtype;
  shape: number[];
  offset: number;
  bytes: number;
}

interface Header {
  version: number;
  meta: unknown;
  tensors: TensorEntry[];
}

export interface Checkpoint<M = unknown> {
  meta: M;
  tensors: Record<string, tf.Tensor>;
}

/**
 * Write `tensors` and `meta` (JSON-serialisable) to `file` atomically. Tensors are read back from
 * the device (dataSync); they are not disposed.
 */
export function saveCheckpoint(file: string, tensors: Record<string, tf.Tensor>, meta: unknown): void {
  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [key, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32' && t.dtype !== 'int32') {
      throw new Error(`saveCheckpoint: tensor '${key}' has dtype ${t.dtype}; only float32 and int32 are stored`);
    }
    const data = t.dataSync() as Float32Array | Int32Array;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ key, dtype: t.dtype, shape: t.shape.slice(), offset, bytes: buf.byteLength });
    chunks.push(buf);
    offset += buf.byteLength;
  }
  const header = Buffer.from(JSON.stringify({ version: FORMAT_VERSION, meta, tensors: entries } as Header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);

  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const part of [MAGIC, len, header, ...chunks]) fs.writeSync(fd, part);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  // Make the rename itself durable.
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Some filesystems do not allow fsync on directories; the rename is still atomic.
  }
}

/** Read a checkpoint written by saveCheckpoint. The caller disposes the returned tensors. */
export function loadCheckpoint<M = unknown>(file: string): Checkpoint<M> {
  if (!fs.existsSync(file)) throw new Error(`loadCheckpoint: no checkpoint at ${file}`);
  const buf = fs.readFileSync(file);
  const corrupt = (why: string) => new Error(`loadCheckpoint: ${file} is not a valid alignmix checkpoint (${why})`);
  if (buf.byteLength < MAGIC.byteLength + 4 || !buf.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw corrupt('bad magic bytes');
  const headerLen = buf.readUInt32LE(MAGIC.byteLength);
  const headerStart = MAGIC.byteLength + 4;
  const payloadStart = headerStart + headerLen;
  if (payloadStart > buf.byteLength) throw corrupt('truncated header');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(headerStart, payloadStart).toString('utf8'));
  } catch {
    throw corrupt('unreadable header');
  }
  if (header.version !== FORMAT_VERSION) throw corrupt(`format version ${header.version}, expected ${FORMAT_VERSION}`);
  const tensors: Record<string, tf.Tensor> = {};
  for (const e of header.tensors) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.bytes !== size * 4 || payloadStart + e.offset + e.bytes > buf.byteLength) {
      for (const t of Object.values(tensors)) t.dispose();
      throw corrupt(`tensor '${e.key}' is truncated or inconsistent`);
    }
    // Copy: the file buffer's offsets are not 4-byte aligned in general.
    const raw = new Uint8Array(e.bytes);
    raw.set(buf.subarray(payloadStart + e.offset, payloadStart + e.offset + e.bytes));
    const values = e.dtype === 'int32' ? new Int32Array(raw.buffer) : new Float32Array(raw.buffer);
    tensors[e.key] = tf.tensor(values, e.shape, e.dtype);
  }
  return { meta: header.meta as M, tensors };
}
