import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as jpeg from 'jpeg-js';
import { cubBatches, loadCubImage, readCubMetadata, rescaleBox } from '../../lib/eval/cub';
import { withoutLeaks } from './helpers';

/** A flat-colour JPEG of width x height. */
function flatJpeg(width: number, height: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    data[p * 4] = rgb[0];
    data[p * 4 + 1] = rgb[1];
    data[p * 4 + 2] = rgb[2];
    data[p * 4 + 3] = 255;
  }
  return jpeg.encode({ data, width, height }, 100).data;
}

async function collect<T>(batches: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

const FILES: Record<string, string> = {
  'classes.txt': '1 001.Black_footed_Albatross\n2 002.Laysan_Albatross\n',
  'images.txt': '1 001.Black_footed_Albatross/a_1.jpg\n2 002.Laysan_Albatross/b_2.jpg\n3 002.Laysan_Albatross/b_3.jpg\n',
  'image_class_labels.txt': '1 1\n2 2\n3 2\n',
  'train_test_split.txt': '1 1\n2 0\n3 0\n',
  // x y width height, pixels of the original image.
  'bounding_boxes.txt': '1 2.0 1.0 10.0 4.0\n2 4.0 6.0 8.0 12.0\n3 0.0 0.0 16.0 16.0\n',
};

function writeCub(root: string, files: Record<string, string> = FILES): void {
  fs.mkdirSync(path.join(root, 'images', '001.Black_footed_Albatross'), { recursive: true });
  fs.mkdirSync(path.join(root, 'images', '002.Laysan_Albatross'), { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, name), text);
  fs.writeFileSync(path.join(root, 'images', '001.Black_footed_Albatross', 'a_1.jpg'), flatJpeg(20, 10, [200, 50, 50]));
  fs.writeFileSync(path.join(root, 'images', '002.Laysan_Albatross', 'b_2.jpg'), flatJpeg(16, 24, [10, 120, 240]));
  fs.writeFileSync(path.join(root, 'images', '002.Laysan_Albatross', 'b_3.jpg'), flatJpeg(16, 16, [90, 90, 90]));
}

describe('eval/cub: CUB-200-2011 reader', () => {
  let dir: string;
  let root: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignmix-cub-'));
    root = path.join(dir, 'CUB_200_2011');
    writeCub(root);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads classes, 0-based labels, the split and the boxes', () => {
    const meta = readCubMetadata(root);
    assert.deepEqual(meta.classNames, ['001.Black_footed_Albatross', '002.Laysan_Albatross']);
    assert.deepEqual(meta.items.map((it) => [it.id, it.file, it.label, it.isTrain]), [
      [1, '001.Black_footed_Albatross/a_1.jpg', 0, true],
      [2, '002.Laysan_Albatross/b_2.jpg', 1, false],
      [3, '002.Laysan_Albatross/b_3.jpg', 1, false],
    ]);
    assert.deepEqual(meta.items[1].box, { x: 4, y: 6, width: 8, height: 12 });
  });

  it('loads an image resized to the input size with its box rescaled', async () => {
    const meta = readCubMetadata(root);
    await withoutLeaks(async () => {
      const im = await loadCubImage(root, meta.items[0], [8, 8]);
      assert.deepEqual(im.x.shape, [8, 8, 3]);
      assert.deepEqual(im.originalSize, [10, 20]);
      // Original 20 wide x 10 high -> 8 x 8: x scales by 8/20, y by 8/10.
      assert.deepEqual(im.box, { x: 2 * 0.4, y: 1 * 0.8, width: 10 * 0.4, height: 4 * 0.8 });
      const v = im.x.dataSync();
      im.x.dispose();
      // A flat colour stays flat (JPEG at quality 100: within 3/255).
      for (let p = 0; p < 64; p++) {
        assert.ok(Math.abs(v[p * 3] - 200 / 255) < 3 / 255 && Math.abs(v[p * 3 + 1] - 50 / 255) < 3 / 255 && Math.abs(v[p * 3 + 2] - 50 / 255) < 3 / 255);
      }
    });
    assert.deepEqual(rescaleBox({ x: 10, y: 20, width: 30, height: 40 }, [100, 200], [50, 50]), { x: 2.5, y: 10, width: 7.5, height: 20 });
  });

  it('yields { x, y, boxes } batches of a split, in id order', async () => {
    const meta = readCubMetadata(root);
    await withoutLeaks(async () => {
      const batches = await collect(cubBatches(meta, { split: 'test', size: [12, 12], batchSize: 1 }));
      assert.equal(batches.length, 2);
      assert.deepEqual(batches[0].x.shape, [1, 12, 12, 3]);
      assert.deepEqual(Array.from(batches[0].y.dataSync()), [1]);
      assert.equal(batches[0].y.dtype, 'int32');
      // Image 2: 16 wide x 24 high -> 12 x 12: x * 12/16, y * 12/24.
      assert.deepEqual(batches[0].boxes, [[{ x: 3, y: 3, width: 6, height: 6 }]]);
      assert.deepEqual(batches[1].boxes, [[{ x: 0, y: 0, width: 12, height: 12 }]]);
      batches.forEach((b) => tf.dispose([b.x, b.y]));
      const all = await collect(cubBatches(meta, { split: 'all', size: [4, 4], batchSize: 2, limit: 3 }));
      assert.deepEqual(all.map((b) => b.x.shape[0]), [2, 1]);
      all.forEach((b) => tf.dispose([b.x, b.y]));
    });
  });

  it('missing files and folders: errors name the path and the expected layout', () => {
    assert.throws(() => readCubMetadata(path.join(dir, 'nowhere')), /CUB-200-2011 not found at .*nowhere; expected the CUB_200_2011 folder of CUB_200_2011\.tgz/);
    fs.rmSync(path.join(root, 'bounding_boxes.txt'));
    assert.throws(() => readCubMetadata(root), /CUB-200-2011: missing .*CUB_200_2011\/bounding_boxes\.txt; expected the CUB_200_2011 folder .*images\/<class>\/<file>\.jpg/);
  });

  it('a missing or corrupt image is an error naming the file', async () => {
    const meta = readCubMetadata(root);
    fs.rmSync(path.join(root, 'images', '002.Laysan_Albatross', 'b_2.jpg'));
    await assert.rejects(collect(cubBatches(meta)), /CUB-200-2011: missing image .*b_2\.jpg \(id 2\)/);
    fs.writeFileSync(path.join(root, 'images', '002.Laysan_Albatross', 'b_2.jpg'), 'not a jpeg');
    const before = tf.memory().numTensors;
    await assert.rejects(collect(cubBatches(meta, { batchSize: 2 })), /CUB-200-2011: cannot decode image .*b_2\.jpg: .*unsupported image format/);
    assert.equal(tf.memory().numTensors, before);
  });

  it('inconsistent metadata is rejected with the file and the entry', () => {
    const write = (name: string, text: string) => fs.writeFileSync(path.join(root, name), text);
    write('image_class_labels.txt', '1 1\n2 3\n3 2\n');
    assert.throws(() => readCubMetadata(root), /image_class_labels\.txt: image 2 has class 3; expected 1\.\.2/);
    write('image_class_labels.txt', '1 1\n3 2\n');
    assert.throws(() => readCubMetadata(root), /image id 2 of .*images\.txt is missing from .*image_class_labels\.txt/);
    write('image_class_labels.txt', FILES['image_class_labels.txt']);
    write('train_test_split.txt', '1 1\n2 2\n3 0\n');
    assert.throws(() => readCubMetadata(root), /train_test_split\.txt: image 2 has is_training_image 2; expected 0 or 1/);
    write('train_test_split.txt', FILES['train_test_split.txt']);
    write('bounding_boxes.txt', '1 2 1 10\n2 4 6 8 12\n3 0 0 16 16\n');
    assert.throws(() => readCubMetadata(root), /bounding_boxes\.txt line 1 must be "<id> 4 field\(s\)"/);
    write('bounding_boxes.txt', FILES['bounding_boxes.txt']);
    write('images.txt', '1 001.Black_footed_Albatross/a_1.jpg\n1 002.Laysan_Albatross/b_2.jpg\n');
    assert.throws(() => readCubMetadata(root), /images\.txt lists id 1 twice \(line 2\)/);
    const meta = () => readCubMetadata(root);
    write('images.txt', FILES['images.txt']);
    assert.throws(() => cubBatches(meta(), { split: 'val' as never }), /cubBatches: unknown split 'val'/);
  });
});
