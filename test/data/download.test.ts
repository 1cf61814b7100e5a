import { strict as assert } from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import * as tar from 'tar';
import * as zlib from 'zlib';
import { downloadFile, extractArchive } from '../../lib/data';
import { ArchiveSpec, locateDataset } from '../../lib/data/download';
import { listTree, removeDir, tempDir } from './helpers';

const md5 = (b: Buffer) => crypto.createHash('md5').update(b).digest('hex');

/** Bitwise CRC-32 (reference for the zip writer below; the library uses a table). */
function crc32Bitwise(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const byte of bytes) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal zip writer (APPNOTE 4.3): entries stored or deflated; `crcOverride` corrupts one CRC. */
function writeZip(entries: { name: string; data?: Buffer; deflate?: boolean; crcOverride?: number }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const data = e.data ?? Buffer.alloc(0);
    const body = e.deflate ? zlib.deflateRawSync(data) : data;
    const crc = e.crcOverride ?? crc32Bitwise(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('data/download', () => {
  let server: http.Server;
  let base: string;
  let hits = 0;
  const files = new Map<string, Buffer>();
  let dir: string;

  before(async () => {
    server = http.createServer((req, res) => {
      hits++;
      const body = files.get(req.url ?? '');
      if (!body) {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-length': body.length });
      // Two chunks, so the download loop sees more than one.
      res.write(body.subarray(0, body.length >> 1));
      res.end(body.subarray(body.length >> 1));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => (dir = tempDir()));
  afterEach(() => removeDir(dir));

  it('downloads and verifies MD5 and size; progress reaches the total', async () => {
    const body = crypto.randomBytes(100000);
    files.set('/ok.bin', body);
    const dest = path.join(dir, 'sub', 'ok.bin');
    let last = [0, 0 as number | null];
    await downloadFile(`${base}/ok.bin`, dest, { md5: md5(body), bytes: body.length, onProgress: (r, t) => (last = [r, t]) });
    assert.ok(fs.readFileSync(dest).equals(body));
    assert.deepEqual(last, [body.length, body.length]);
    assert.deepEqual(listTree(dir), [path.join('sub', 'ok.bin')], 'no partial file left next to it');
  });

  it('a checksum or size mismatch and an HTTP error are rejected, leaving no file behind', async () => {
    const body = Buffer.from('pretend archive');
    files.set('/a.tar.gz', body);
    const dest = path.join(dir, 'a.tar.gz');
    await assert.rejects(downloadFile(`${base}/a.tar.gz`, dest, { md5: '0'.repeat(32) }), (e: Error) => /MD5 mismatch/.test(e.message) && e.message.includes(dest));
    assert.deepEqual(listTree(dir), []);
    await assert.rejects(downloadFile(`${base}/a.tar.gz`, dest, { md5: md5(body), bytes: body.length + 1 }), /size mismatch/);
    assert.deepEqual(listTree(dir), []);
    await assert.rejects(downloadFile(`${base}/missing`, dest), /HTTP 404/);
    assert.deepEqual(listTree(dir), []);
  });

  it('extracts a tar.gz written by the test; a corrupt archive extracts nothing', async () => {
    const src = tempDir();
    try {
      fs.mkdirSync(path.join(src, 'cifar-10-batches-bin'));
      fs.writeFileSync(path.join(src, 'cifar-10-batches-bin', 'data_batch_1.bin'), Buffer.from([1, 2, 3]));
      fs.writeFileSync(path.join(src, 'cifar-10-batches-bin', 'readme.html'), '<p>hi</p>');
      const archive = path.join(src, 'x.tar.gz');
      await tar.c({ gzip: true, file: archive, cwd: src }, ['cifar-10-batches-bin']);
      await extractArchive(archive, dir);
      assert.deepEqual(listTree(dir), [path.join('cifar-10-batches-bin', 'data_batch_1.bin'), path.join('cifar-10-batches-bin', 'readme.html')]);
      assert.deepEqual([...fs.readFileSync(path.join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin'))], [1, 2, 3]);
      await assert.rejects(extractArchive(archive, dir), /already exists/);

      const broken = path.join(src, 'broken.tar.gz');
      fs.writeFileSync(broken, fs.readFileSync(archive).subarray(0, 40));
      const other = path.join(dir, 'other');
      await assert.rejects(extractArchive(broken, other), (e: Error) => e.message.includes(broken));
      assert.deepEqual(fs.readdirSync(other), [], 'nothing half-extracted, no temporary folder');
    } finally {
      removeDir(src);
    }
  });

  it('extracts zip entries (stored and deflated) with CRC checks; rejects bad CRCs and escaping names', async () => {
    const text = Buffer.from('n01443537\nn01629819\n'.repeat(50));
    const bin = crypto.randomBytes(3000);
    const zipFile = path.join(dir, 'tiny.zip');
    fs.writeFileSync(
      zipFile,
      writeZip([
        { name: 'tiny-imagenet-200/' },
        { name: 'tiny-imagenet-200/wnids.txt', data: text, deflate: true },
        { name: 'tiny-imagenet-200/train/a/images/x.JPEG', data: bin },
      ]),
    );
    const out = path.join(dir, 'out');
    await extractArchive(zipFile, out);
    assert.ok(fs.readFileSync(path.join(out, 'tiny-imagenet-200', 'wnids.txt')).equals(text));
    assert.ok(fs.readFileSync(path.join(out, 'tiny-imagenet-200', 'train', 'a', 'images', 'x.JPEG')).equals(bin));

    fs.writeFileSync(zipFile, writeZip([{ name: 'f.txt', data: text, deflate: true, crcOverride: 12345 }]));
    await assert.rejects(extractArchive(zipFile, path.join(dir, 'bad')), /'f\.txt' is corrupt/);
    fs.writeFileSync(zipFile, writeZip([{ name: '../evil.txt', data: text }]));
    await assert.rejects(extractArchive(zipFile, path.join(dir, 'evil')), /outside the destination/);
    assert.ok(!fs.existsSync(path.join(dir, 'evil.txt')));
  });

  it('locateDataset downloads, verifies and extracts once, then finds the folder; without download it explains', async () => {
    const src = tempDir();
    try {
      fs.mkdirSync(path.join(src, 'toy-data'));
      fs.writeFileSync(path.join(src, 'toy-data', 'train.bin'), Buffer.from([9, 9]));
      const archive = path.join(src, 'toy.tgz');
      await tar.c({ gzip: true, file: archive, cwd: src }, ['toy-data']);
      const bytes = fs.readFileSync(archive);
      files.set('/toy.tgz', bytes);
      const spec: ArchiveSpec = { url: `${base}/toy.tgz`, fileName: 'toy.tgz', md5: md5(bytes), bytes: bytes.length, folder: 'toy-data' };
      const options = { where: 'loadToy', dataset: 'Toy', root: dir, required: ['train.bin'], layout: 'train.bin', archive: spec, download: false };
      await assert.rejects(locateDataset(options), (e: Error) => /loadToy: Toy not found at .*missing train\.bin; expected train\.bin.*toy\.tgz.*download: true/.test(e.message));
      const before = hits;
      assert.equal(await locateDataset({ ...options, download: true }), path.join(dir, 'toy-data'));
      assert.equal(hits, before + 1);
      assert.equal(await locateDataset({ ...options, download: true }), path.join(dir, 'toy-data'));
      assert.equal(hits, before + 1, 'present data is not fetched again');
      assert.deepEqual(listTree(dir), ['toy.tgz', path.join('toy-data', 'train.bin')].sort());
    } finally {
      removeDir(src);
    }
  });
});
