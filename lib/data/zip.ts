/**
 * Extracting .zip archives (TinyImageNet ships as one), with no dependency beyond Node's zlib.
 *
 * Reads the central directory (PKWARE APPNOTE 4.3.12/4.3.16; Zip64 end record and extra fields
 * for archives or entries past 4 GiB or 65,535 entries), then each entry's local header and data:
 * stored (method 0) or deflated (method 8). Every entry's size and CRC-32 are checked, and entry
 * names that are absolute or climb out of the destination ('..') are rejected.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { reflectedCrc32 } from '../crc';

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as stored in zip entries. */
export const crc32 = reflectedCrc32(0xedb88320);

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const MAX32 = 0xffffffff;

function findEndRecord(buf: Buffer, file: string): number {
  // The end record is 22 bytes plus a comment of at most 65,535 bytes.
  for (let p = buf.length - 22; p >= Math.max(0, buf.length - 22 - 65535); p--) {
    if (buf.readUInt32LE(p) === SIG_EOCD) return p;
  }
  throw new Error(`extractZip: ${file} is not a zip archive (no end of central directory record)`);
}

/** Safe destination path of an entry, or an error for names that escape `dest`. */
function entryPath(dest: string, name: string, file: string): string {
  const normal = path.posix.normalize(name.replace(/\\/g, '/'));
  if (path.posix.isAbsolute(normal) || normal === '..' || normal.startsWith('../') || /^[a-zA-Z]:/.test(normal)) {
    throw new Error(`extractZip: ${file}: entry '${name}' would be written outside the destination`);
  }
  return path.join(dest, ...normal.split('/'));
}

/** Extract every entry of the zip archive `file` under the directory `dest` (created if needed). */
export function extractZip(file: string, dest: string): void {
  const buf = fs.readFileSync(file);
  const end = findEndRecord(buf, file);
  let cdSize = buf.readUInt32LE(end + 12);
  let cdOffset = buf.readUInt32LE(end + 16);
  if (end >= 20 && buf.readUInt32LE(end - 20) === SIG_ZIP64_LOCATOR) {
    const record = Number(buf.readBigUInt64LE(end - 20 + 8));
    if (buf.readUInt32LE(record) !== SIG_ZIP64_EOCD) throw new Error(`extractZip: ${file}: bad Zip64 end record`);
    cdSize = Number(buf.readBigUInt64LE(record + 40));
    cdOffset = Number(buf.readBigUInt64LE(record + 48));
  }
  fs.mkdirSync(dest, { recursive: true });
  const cdEnd = cdOffset + cdSize;
  let p = cdOffset;
  while (p < cdEnd) {
    if (buf.readUInt32LE(p) !== SIG_CENTRAL) throw new Error(`extractZip: ${file}: corrupt central directory at byte ${p}`);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let compressed = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLength);
    // Zip64 extended information: 8-byte values for the fields saturated at 0xFFFFFFFF, in order.
    for (let e = p + 46 + nameLength; e + 4 <= p + 46 + nameLength + extraLength; ) {
      const id = buf.readUInt16LE(e);
      const length = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          const v = Number(buf.readBigUInt64LE(q));
          q += 8;
          return v;
        };
        if (size === MAX32) size = next();
        if (compressed === MAX32) compressed = next();
        if (local === MAX32) local = next();
      }
      e += 4 + length;
    }
    p += 46 + nameLength + extraLength + commentLength;

    const target = entryPath(dest, name, file);
    if (name.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    if (flags & 1) throw new Error(`extractZip: ${file}: entry '${name}' is encrypted`);
    if (buf.readUInt32LE(local) !== SIG_LOCAL) throw new Error(`extractZip: ${file}: entry '${name}' has no local header at byte ${local}`);
    const dataStart = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(dataStart, dataStart + compressed);
    let content: Buffer;
    if (method === 0) content = raw;
    else if (method === 8) content = zlib.inflateRawSync(raw);
    else throw new Error(`extractZip: ${file}: entry '${name}' uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    if (content.length !== size || crc32(content) !== crc) {
      throw new Error(`extractZip: ${file}: entry '${name}' is corrupt (size or CRC-32 mismatch)`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
}
