import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as jpeg from 'jpeg-js';
import * as path from 'path';
import { PNG } from 'pngjs';
import { BatchLoader, decodeImageFile, loadImageNetFolder, loadTinyImageNet } from '../../lib/data';
import { decodeAll } from '../../lib/data/folder-scan';
import type { FileSource } from '../../lib/data';
import { removeDir, tempDir } from './helpers';

type RGB = [number, number, number];

/** A flat-colour JPEG (quality 95). */
function writeJpeg(file: string, width: number, height: number, rgb: RGB): void {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...rgb, 255], p * 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ data, width, height }, 95).data);
}

/** A flat-colour PNG (lossless). */
function writePng(file: string, width: number, height: number, rgb: RGB): void {
  const png = new PNG({ width, height });
  for (let p = 0; p < width * height; p++) png.data.set([...rgb, 255], p * 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

/** Largest |pixel - colour| over an HWC uint8 image. */
function maxDeviation(pixels: ArrayLike<number>, rgb: RGB): number {
  let worst = 0;
  for (let i = 0; i < pixels.length; i++) worst = Math.max(worst, Math.abs(pixels[i] - rgb[i % 3]));
  return worst;
}

const colourOf = (k: number, i: number): RGB => [40 + 60 * k, 200 - 30 * i, 90 + 20 * ((k + i) % 3)];

describe('data/folders: image decoding', () => {
  let dir: string;
  before(() => (dir = tempDir()));
  after(() => removeDir(dir));

  it('decodes JPEG and PNG by content (not extension) to pixels close to the source colour', () => {
    writeJpeg(path.join(dir, 'a.jpg'), 13, 7, [200, 30, 120]);
    writePng(path.join(dir, 'b.JPEG'), 5, 9, [1, 2, 250]);
    const a = decodeImageFile(path.join(dir, 'a.jpg'));
    assert.deepEqual(a.shape, [7, 13, 3]);
    assert.ok(maxDeviation(a.pixels, [200, 30, 120]) <= 4, `JPEG deviation ${maxDeviation(a.pixels, [200, 30, 120])}`);
    const b = decodeImageFile(path.join(dir, 'b.JPEG'));
    assert.deepEqual(b.shape, [9, 5, 3]);
    assert.equal(maxDeviation(b.pixels, [1, 2, 250]), 0);
    const grey = decodeImageFile(path.join(dir, 'b.JPEG'), 1);
    assert.deepEqual(grey.shape, [9, 5, 1]);
    assert.equal(grey.pixels[0], Math.round((299 * 1 + 587 * 2 + 114 * 250) / 1000));
  });

  it('a corrupt or truncated file is an error naming the file', () => {
    const garbage = path.join(dir, 'garbage.JPEG');
    fs.writeFileSync(garbage, Buffer.from('this is not an image at all'));
    assert.throws(() => decodeImageFile(garbage), (e: Error) => e.message.includes(garbage) && /not a JPEG or PNG/.test(e.message));
    writeJpeg(path.join(dir, 'whole.jpg'), 16, 16, [10, 20, 30]);
    const truncated = path.join(dir, 'truncated.jpg');
    fs.writeFileSync(truncated, fs.readFileSync(path.join(dir, 'whole.jpg')).subarray(0, 60));
    assert.throws(() => decodeImageFile(truncated), (e: Error) => e.message.includes(truncated));
    assert.throws(() => decodeImageFile(path.join(dir, 'absent.jpg')), (e: Error) => e.message.includes(path.join(dir, 'absent.jpg')));
  });

  it('parallel decode in worker threads writes the same bytes as decoding on this thread', async () => {
    const files = [0, 1, 2].map((i) => {
      const f = path.join(dir, `p${i}.jpg`);
      writeJpeg(f, 8, 8, colourOf(i, i));
      return f;
    });
    // More items than one worker chunk, so several tasks run in two workers.
    const list = Array.from({ length: 600 }, (_, i) => files[(i * 7) % 3]);
    const source: FileSource = { kind: 'files', files: list, labels: new Int32Array(600), channels: 3 };
    const inline = await decodeAll(source, [8, 8, 3], 0);
    const threaded = await decodeAll(source, [8, 8, 3], 2);
    assert.ok(Buffer.from(inline).equals(Buffer.from(threaded)));
    assert.ok(maxDeviation(threaded.subarray(599 * 192, 600 * 192), colourOf((599 * 7) % 3, (599 * 7) % 3)) <= 4);
  });
});

describe('data/folders: TinyImageNet', () => {
  let root: string;
  const wnids = ['n0300', 'n0100', 'n0200']; // wnids.txt order; classes are sorted: n0100, n0200, n0300
  before(() => {
    root = tempDir();
    const dir = path.join(root, 'tiny-imagenet-200');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'wnids.txt'), wnids.join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'words.txt'), 'n0100\tgoldfish, Carassius auratus\nn0200\tcat\nn0300\tteapot, pot\nn9999\tunused\n');
    const sorted = [...wnids].sort();
    sorted.forEach((wnid, k) => {
      for (let i = 0; i < 4; i++) writeJpeg(path.join(dir, 'train', wnid, 'images', `${wnid}_${i}.JPEG`), 64, 64, colourOf(k, i));
      fs.writeFileSync(path.join(dir, 'train', wnid, `${wnid}_boxes.txt`), '');
    });
    const annotations: string[] = [];
    for (let v = 0; v < 6; v++) {
      const k = (v * 2) % 3;
      writeJpeg(path.join(dir, 'val', 'images', `val_${v}.JPEG`), 64, 64, colourOf(k, 3));
      annotations.push(`val_${v}.JPEG\t${sorted[k]}\t0\t0\t63\t63`);
    }
    fs.writeFileSync(path.join(dir, 'val', 'val_annotations.txt'), annotations.join('\n') + '\n');
  });
  after(() => removeDir(root));

  it('labels from sorted wnid folders and val annotations; pixels close to the source', async () => {
    const { trainFull, train, val, test } = await loadTinyImageNet({ root, valPerClass: 1, workers: 0 });
    assert.deepEqual(trainFull.classNames, ['goldfish', 'cat', 'teapot']);
    assert.deepEqual(trainFull.imageShape, [64, 64, 3]);
    assert.equal(trainFull.size, 12);
    for (let n = 0; n < 12; n++) {
      const k = Math.floor(n / 4);
      const item = trainFull.get(n);
      assert.equal(item.label, k);
      assert.ok(maxDeviation(item.pixels, colourOf(k, n % 4)) <= 4);
    }
    assert.equal(test.size, 6);
    for (let v = 0; v < 6; v++) {
      assert.equal(test.label(v), (v * 2) % 3);
      assert.ok(maxDeviation(test.get(v).pixels, colourOf((v * 2) % 3, 3)) <= 4);
    }
    assert.equal(val.size, 3);
    assert.deepEqual([0, 1, 2].map((i) => val.label(i)).sort(), [0, 1, 2]);
    assert.equal(train.size, 9);
  });

  it('a corrupt JPEG fails the load with its path', async () => {
    const bad = path.join(root, 'tiny-imagenet-200', 'train', 'n0200', 'images', 'n0200_9.JPEG');
    fs.writeFileSync(bad, Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01, 0x02]));
    try {
      await assert.rejects(loadTinyImageNet({ root, workers: 0, valPerClass: 1 }), (e: Error) => e.message.includes(bad));
    } finally {
      fs.rmSync(bad);
    }
  });

  it('a missing folder is an error with the expected layout', async () => {
    const empty = tempDir();
    try {
      await assert.rejects(loadTinyImageNet({ root: empty }), (e: Error) => {
        assert.ok(e.message.includes(empty));
        assert.match(e.message, /wnids\.txt.*train\/<wnid>\/images\/\*\.JPEG.*val_annotations\.txt/);
        assert.match(e.message, /tiny-imagenet-200\.zip/);
        return true;
      });
    } finally {
      removeDir(empty);
    }
  });
});

describe('data/folders: ImageNet folder', () => {
  let root: string;
  const classes = ['n02', 'n01', 'n03'];
  before(() => {
    root = tempDir();
    const sizes: [number, number][] = [
      [40, 30],
      [30, 50],
      [33, 33],
    ];
    classes.forEach((name) => {
      const k = [...classes].sort().indexOf(name);
      sizes.forEach(([w, h], i) => writeJpeg(path.join(root, 'train', name, `img${i}.JPEG`), w, h, colourOf(k, i)));
      writeJpeg(path.join(root, 'val', name, `val.JPEG`), 27, 41, colourOf(k, 0));
    });
    fs.writeFileSync(path.join(root, 'train', 'n01', 'notes.txt'), 'not an image');
  });
  after(() => removeDir(root));

  it('labels from sorted class folders; eval and train transforms give imageSize crops of the source colour', async () => {
    const splits = loadImageNetFolder({ root, imageSize: 16, resizeSize: 20, valPerClass: 1 });
    assert.deepEqual(splits.trainFull.classNames, ['n01', 'n02', 'n03']);
    assert.equal(splits.trainFull.size, 9);
    assert.equal(splits.test.size, 3);
    assert.deepEqual(splits.trainFull.imageShape, [16, 16, 3]);
    const raw = splits.trainFull.get(1);
    assert.deepEqual(raw.shape, [50, 30, 3], 'items are the decoded files, before transforms');
    for (const [ds, transform] of [
      [splits.test, splits.test.transforms.eval],
      [splits.trainFull, splits.trainFull.transforms.train],
    ] as const) {
      const loader = new BatchLoader(ds, { batchSize: 4, shuffle: false, transform, workers: 0 });
      for await (const { x, y, indices } of loader) {
        assert.deepEqual(x.shape, [indices.length, 16, 16, 3]);
        const pixels = await x.data();
        const labels = await y.data();
        indices.forEach((item, b) => {
          const k = labels[b];
          assert.equal(k, ds.label(item));
          const i = ds === splits.test ? 0 : item % 3;
          const example = Array.from(pixels.subarray(b * 768, (b + 1) * 768), (v) => v * 255);
          assert.ok(maxDeviation(example, colourOf(k, i)) <= 5, `item ${item}`);
        });
        tf.dispose([x, y]);
      }
    }
  });

  it('worker mode decodes and augments a file subset to the same batches as synchronous mode', async () => {
    const { train } = loadImageNetFolder({ root, imageSize: 16, resizeSize: 20, valPerClass: 1 });
    const options = { batchSize: 4, transform: train.transforms.train, seed: 3 };
    const threaded = new BatchLoader(train, { ...options, workers: 1 });
    try {
      const sync = new BatchLoader(train, { ...options, workers: 0 });
      const a: Float32Array[] = [];
      for await (const { x, y } of sync) {
        a.push((await x.data()) as Float32Array);
        tf.dispose([x, y]);
      }
      let i = 0;
      for await (const { x, y } of threaded) {
        assert.ok(Buffer.from(((await x.data()) as Float32Array).buffer).equals(Buffer.from(a[i++].buffer)));
        tf.dispose([x, y]);
      }
      assert.equal(i, 2);
    } finally {
      await threaded.close();
    }
  });

  it('unknown class in val/ and missing val/ are errors naming the path and layout', () => {
    writeJpeg(path.join(root, 'val', 'n99', 'x.JPEG'), 8, 8, [0, 0, 0]);
    try {
      assert.throws(() => loadImageNetFolder({ root }), (e: Error) => e.message.includes(path.join(root, 'val', 'n99')) && /not a class of train/.test(e.message));
    } finally {
      removeDir(path.join(root, 'val', 'n99'));
    }
    const other = tempDir();
    try {
      fs.mkdirSync(path.join(other, 'train', 'a'), { recursive: true });
      assert.throws(() => loadImageNetFolder({ root: other }), (e: Error) => e.message.includes(other) && /missing val\/.*train\/<class>\/\*\.JPEG and val\/<class>\/\*\.JPEG/.test(e.message));
    } finally {
      removeDir(other);
    }
  });
});
