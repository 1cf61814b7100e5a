import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { loadCifar10, loadCifar100 } from '../../lib/data';
import { removeDir, tempDir } from './helpers';

/** The test's pixel pattern: a distinct value for (record, channel, row, column). */
const value = (record: number, c: number, y: number, x: number) => (record * 7 + c * 85 + y * 5 + x * 3) % 256;

/** CIFAR records written in the official CHW layout with `labelBytes` label bytes. */
function cifarRecords(first: number, labels: number[][]): Buffer {
  const rec = labels[0].length + 3072;
  const buf = Buffer.alloc(labels.length * rec);
  labels.forEach((lab, r) => {
    lab.forEach((l, i) => (buf[r * rec + i] = l));
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) buf[r * rec + lab.length + c * 1024 + y * 32 + x] = value(first + r, c, y, x);
  });
  return buf;
}

const NAMES10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** CIFAR-10 folder: 5 train batches of 20 records (labels r mod 10), a test batch of 10. */
function writeCifar10(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let b = 0; b < 5; b++) {
    const labels = Array.from({ length: 20 }, (_, r) => [(b * 20 + r) % 10]);
    fs.writeFileSync(path.join(dir, `data_batch_${b + 1}.bin`), cifarRecords(b * 20, labels));
  }
  fs.writeFileSync(path.join(dir, 'test_batch.bin'), cifarRecords(1000, Array.from({ length: 10 }, (_, r) => [9 - r])));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), NAMES10.join('\n') + '\n\n');
}

describe('data/cifar', () => {
  let root: string;
  before(() => {
    root = tempDir();
    writeCifar10(path.join(root, 'cifar-10-batches-bin'));
  });
  after(() => removeDir(root));

  it('CIFAR-10: pixels CHW -> HWC and labels round-trip exactly, files in order', async () => {
    const { trainFull, test } = await loadCifar10({ root, valPerClass: 2 });
    assert.equal(trainFull.size, 100);
    assert.equal(test.size, 10);
    assert.deepEqual(trainFull.imageShape, [32, 32, 3]);
    assert.deepEqual(trainFull.classNames, NAMES10);
    for (const [ds, first, label] of [
      [trainFull, 0, (r: number) => r % 10],
      [test, 1000, (r: number) => 9 - r],
    ] as const) {
      for (let r = 0; r < ds.size; r++) {
        const item = ds.get(r);
        assert.equal(item.label, label(r));
        assert.equal(ds.label(r), label(r));
        for (let y = 0; y < 32; y++) {
          for (let x = 0; x < 32; x++) {
            for (let c = 0; c < 3; c++) {
              if (item.pixels[(y * 32 + x) * 3 + c] !== value(first + r, c, y, x)) assert.fail(`record ${r} (${y},${x},${c})`);
            }
          }
        }
      }
    }
  });

  it('CIFAR-10: validation holdout is stratified, disjoint from train, and they cover trainFull', async () => {
    const a = await loadCifar10({ root: path.join(root, 'cifar-10-batches-bin'), valPerClass: 3 });
    const b = await loadCifar10({ root, valPerClass: 3 });
    const items = (ds: typeof a.val) => Array.from({ length: ds.size }, (_, i) => ds.get(i).pixels[0] * 1000 + ds.get(i).pixels[1]);
    const perClass = new Array(10).fill(0);
    for (let i = 0; i < a.val.size; i++) perClass[a.val.label(i)]++;
    assert.deepEqual(perClass, new Array(10).fill(3));
    assert.equal(a.train.size, 70);
    const all = new Set([...items(a.train), ...items(a.val)]);
    assert.equal(all.size, 100, 'train and val are disjoint and together hold all 100 training records');
    assert.deepEqual(items(a.val), items(b.val), 'same seed -> same holdout');
    const c = await loadCifar10({ root, valPerClass: 3, splitSeed: 5 });
    assert.notDeepEqual(items(a.val), items(c.val));
  });

  it('CIFAR-10: a missing file is an error naming the path, the expected layout and download', async () => {
    const dir = tempDir();
    try {
      writeCifar10(dir);
      fs.rmSync(path.join(dir, 'data_batch_3.bin'));
      await assert.rejects(loadCifar10({ root: dir }), (e: Error) => {
        assert.match(e.message, new RegExp(`CIFAR-10 not found at ${dir.replace(/[/\\.]/g, '\\$&')}`));
        assert.match(e.message, /missing data_batch_3\.bin/);
        assert.match(e.message, /cifar-10-batches-bin/);
        assert.match(e.message, /download: true/);
        return true;
      });
    } finally {
      removeDir(dir);
    }
  });

  it('CIFAR-10: a truncated file and an out-of-range label are errors naming the file', async () => {
    const dir = tempDir();
    try {
      writeCifar10(dir);
      const file = path.join(dir, 'data_batch_2.bin');
      fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 3073 * 5 + 100));
      await assert.rejects(loadCifar10({ root: dir }), (e: Error) => e.message.includes(file) && /not a positive multiple of the 3073-byte record/.test(e.message));
      writeCifar10(dir);
      const bad = cifarRecords(0, [[3], [10], [1]]);
      fs.writeFileSync(path.join(dir, 'test_batch.bin'), bad);
      await assert.rejects(loadCifar10({ root: dir }), (e: Error) => e.message.includes(path.join(dir, 'test_batch.bin')) && /record 1 is 10/.test(e.message));
    } finally {
      removeDir(dir);
    }
  });

  it('CIFAR-100: fine labels by default, coarse on request, names from the label files', async () => {
    const dir = tempDir();
    try {
      const labels = Array.from({ length: 200 }, (_, r) => [r % 20, r % 100]);
      fs.writeFileSync(path.join(dir, 'train.bin'), cifarRecords(0, labels));
      fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecords(500, labels.slice(0, 10)));
      fs.writeFileSync(path.join(dir, 'fine_label_names.txt'), Array.from({ length: 100 }, (_, k) => `fine${k}`).join('\n'));
      fs.writeFileSync(path.join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, k) => `coarse${k}`).join('\n'));
      const fine = await loadCifar100({ root: dir, valPerClass: 1 });
      assert.equal(fine.trainFull.numClasses, 100);
      assert.equal(fine.trainFull.classNames[42], 'fine42');
      assert.equal(fine.val.size, 100);
      const coarse = await loadCifar100({ root: dir, labels: 'coarse', valPerClass: 2 });
      assert.equal(coarse.trainFull.numClasses, 20);
      for (const r of [0, 37, 199]) {
        assert.equal(fine.trainFull.label(r), r % 100);
        assert.equal(coarse.trainFull.label(r), r % 20);
        assert.equal(fine.trainFull.get(r).pixels[(5 * 32 + 7) * 3 + 2], value(r, 2, 5, 7));
      }
      assert.equal(fine.test.get(3).pixels[0], value(503, 0, 0, 0));
      // A CIFAR-10 file is not a CIFAR-100 file: 3073-byte records do not tile 3074.
      fs.writeFileSync(path.join(dir, 'test.bin'), cifarRecords(0, [[1], [2]]));
      await assert.rejects(loadCifar100({ root: dir }), /3074-byte record/);
    } finally {
      removeDir(dir);
    }
  });
});
