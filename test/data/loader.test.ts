import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';
import { BatchLoader, ImageDataset, makeSyntheticDataset, padCropFlip } from '../../lib/data';
import { BatchBuffers } from '../../lib/data/batch-buffers';
import type { BatchLoaderOptions, Dataset, LoaderState } from '../../lib/data';
import { removeDir, tempDir } from './helpers';

interface Recorded {
  epoch: number;
  index: number;
  indices: number[];
  y: number[];
  x: Float32Array;
}

/** Consume up to `limit` batches of the loader's current epoch, recording and disposing them. */
async function take(loader: BatchLoader, limit = Infinity): Promise<Recorded[]> {
  const out: Recorded[] = [];
  for await (const b of loader) {
    out.push({ epoch: b.epoch, index: b.index, indices: Array.from(b.indices), y: Array.from(await b.y.data()), x: (await b.x.data()) as Float32Array });
    tf.dispose([b.x, b.y]);
    if (out.length >= limit) break;
  }
  return out;
}

/** Worker threads started while `body` runs (Worker is looked up at construction time). */
async function withWorkerSpy<T>(body: (started: { threadId: number; posted: number }[]) => Promise<T>): Promise<T> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wt = require('worker_threads');
  const Original = wt.Worker;
  const started: { threadId: number; posted: number; worker: InstanceType<typeof Original> }[] = [];
  wt.Worker = class extends Original {
    constructor(...args: unknown[]) {
      super(...args);
      const record = { worker: this, posted: 0, get threadId() { return this.worker.threadId; } };
      started.push(record);
      const post = this.postMessage.bind(this);
      this.postMessage = (...a: unknown[]) => {
        record.posted++;
        return post(...a);
      };
    }
  };
  try {
    return await body(started);
  } finally {
    wt.Worker = Original;
  }
}

describe('data/loader', () => {
  let data: Dataset;
  before(() => {
    data = makeSyntheticDataset({ numClasses: 3, imageSize: 8, perClass: { train: 8, val: 0, test: 0 }, seed: 2 }).train; // 24 items
  });

  it('covers every item once per epoch; x is pixels / 255 and y the labels, exactly', async () => {
    const loader = new BatchLoader(data, { batchSize: 5, workers: 0, seed: 1 });
    assert.equal(loader.batchesPerEpoch, 5);
    for (let epoch = 0; epoch < 2; epoch++) {
      const batches = await take(loader);
      assert.deepEqual(batches.map((b) => b.indices.length), [5, 5, 5, 5, 4]);
      assert.deepEqual(batches.flatMap((b) => b.indices).sort((a, b) => a - b), Array.from({ length: 24 }, (_, i) => i));
      for (const b of batches) {
        assert.equal(b.epoch, epoch);
        b.indices.forEach((item, j) => {
          const { pixels, label } = data.get(item);
          assert.equal(b.y[j], label);
          for (let i = 0; i < pixels.length; i++) if (b.x[j * 192 + i] !== Math.fround(pixels[i] / 255)) assert.fail(`item ${item} byte ${i}`);
        });
      }
    }
    assert.deepEqual(loader.getState().epoch, 2);
  });

  it('dropLast drops the incomplete batch; orders differ between epochs and follow the seed', async () => {
    const options: BatchLoaderOptions = { batchSize: 5, dropLast: true, workers: 0, seed: 3 };
    const a = new BatchLoader(data, options);
    const b = new BatchLoader(data, options);
    const e0 = await take(a);
    const e1 = await take(a);
    assert.deepEqual(e0.map((x) => x.indices.length), [5, 5, 5, 5]);
    assert.equal(new Set(e0.flatMap((x) => x.indices)).size, 20);
    assert.notDeepEqual(e0.flatMap((x) => x.indices), e1.flatMap((x) => x.indices));
    assert.deepEqual((await take(b)).map((x) => x.indices), e0.map((x) => x.indices), 'same seed, same order');
    const other = await take(new BatchLoader(data, { ...options, seed: 4 }));
    assert.notDeepEqual(other.map((x) => x.indices), e0.map((x) => x.indices));
    const plain = await take(new BatchLoader(data, { batchSize: 10, shuffle: false, workers: 0 }));
    assert.deepEqual(plain.flatMap((x) => x.indices), Array.from({ length: 24 }, (_, i) => i));
    assert.throws(() => new BatchLoader(data, { batchSize: 25, dropLast: true }), /24 items, fewer than batchSize 25/);
  });

  it('worker mode yields batches identical to synchronous mode, with augmentation, and leaks no tensors', async () => {
    const options: BatchLoaderOptions = { batchSize: 7, transform: padCropFlip(2, true), seed: 9 };
    const sync = new BatchLoader(data, { ...options, workers: 0 });
    const threaded = new BatchLoader(data, { ...options, workers: 2, prefetch: 3 });
    const before = tf.memory().numTensors;
    try {
      for (let epoch = 0; epoch < 2; epoch++) {
        const s = await take(sync);
        const t = await take(threaded);
        assert.equal(t.length, 4);
        t.forEach((batch, i) => {
          assert.deepEqual(batch.indices, s[i].indices);
          assert.deepEqual(batch.y, s[i].y);
          assert.ok(Buffer.from(batch.x.buffer).equals(Buffer.from(s[i].x.buffer)), `epoch ${epoch} batch ${i} pixels`);
        });
        // The augmentation did something: not every example equals its stored image.
        const unchanged = s[0].indices.every((item, j) => data.get(item).pixels.every((v, k) => Math.fround(v / 255) === s[0].x[j * 192 + k]));
        assert.ok(!unchanged);
      }
    } finally {
      await threaded.close();
    }
    assert.equal(tf.memory().numTensors, before);
  });

  it('resuming from a saved state reproduces the rest of the run exactly', async () => {
    const options: BatchLoaderOptions = { batchSize: 5, transform: padCropFlip(2, true), seed: 21, workers: 0 };
    const uninterrupted = new BatchLoader(data, options);
    const run = [...(await take(uninterrupted)), ...(await take(uninterrupted)), ...(await take(uninterrupted))];

    const first = new BatchLoader(data, options);
    await take(first); // epoch 0
    const partial = await take(first, 2); // epoch 1, batches 0 and 1, then stop
    assert.deepEqual(partial.map((b) => b.index), [0, 1]);
    const saved: LoaderState = JSON.parse(JSON.stringify(first.getState()));
    assert.deepEqual([saved.epoch, saved.batch], [1, 2]);

    const resumed = new BatchLoader(data, { ...options, workers: 1 });
    try {
      resumed.setState(saved);
      const rest = [...(await take(resumed)), ...(await take(resumed))];
      const expected = run.slice(5 + 2);
      assert.deepEqual(rest.map((b) => [b.epoch, b.index]), expected.map((b) => [b.epoch, b.index]));
      rest.forEach((b, i) => {
        assert.deepEqual(b.indices, expected[i].indices);
        assert.ok(Buffer.from(b.x.buffer).equals(Buffer.from(expected[i].x.buffer)));
      });
    } finally {
      await resumed.close();
    }
    const mismatched = new BatchLoader(data, { ...options, batchSize: 6 });
    assert.throws(() => mismatched.setState(saved), /saved batchSize is 5 but this loader has 6/);
    assert.throws(() => new BatchLoader(data, { ...options, transform: padCropFlip(3, true) }).setState(saved), /saved transform is .*"padding":2.* but this loader has .*"padding":3/);
    // Equal specs written with another key order are the same transform.
    new BatchLoader(data, { ...options, transform: { flip: true, padding: 2, kind: 'padCropFlip' } }).setState(saved);
    assert.throws(() => uninterrupted.setState({ ...saved, batch: 5 }), /state\.batch/);
  });

  it('prefetches ahead in workers and terminates them when the loop is left early or closed', async () => {
    await withWorkerSpy(async (started) => {
      const loader = new BatchLoader(data, { batchSize: 2, workers: 2, prefetch: 4, seed: 5 }); // 12 batches
      let seen = 0;
      for await (const { x, y } of loader) {
        tf.dispose([x, y]);
        if (seen === 0) {
          assert.equal(started.length, 2);
          // While the consumer holds batch 0 (a slow training step), the workers assemble batches
          // 1..3: prefetch 4 puts batches 0..3 in flight, and no more.
          await new Promise((resolve) => setTimeout(resolve, 500));
          assert.equal(started.reduce((s, w) => s + w.posted, 0), 4);
        }
        if (++seen === 3) break;
      }
      assert.ok(started.every((w) => w.threadId === -1), 'workers stopped after break');

      const again = await take(loader); // a new epoch starts new workers
      assert.equal(started.length, 4);
      assert.equal(again.length, 12 - 3, 'the rest of epoch 0');
      assert.ok(started[2].threadId !== -1, 'kept between epochs');
      await loader.close();
      assert.ok(started.every((w) => w.threadId === -1), 'close() stops them');
    });
  });

  it('a yielded batch keeps its values while later batches reuse the buffers (main thread and workers)', async () => {
    for (const workers of [0, 2]) {
      const loader = new BatchLoader(data, { batchSize: 5, shuffle: false, workers, prefetch: 2 });
      try {
        let first: tf.Tensor | null = null;
        for (let epoch = 0; epoch < 2; epoch++) {
          for await (const b of loader) {
            if (first) tf.dispose([b.x, b.y]);
            else first = b.x;
            tf.dispose(b.y);
          }
        }
        // Reference: items 0..4 (no shuffle, the evaluation transform 'none') as pixels / 255.
        const values = (first as tf.Tensor).dataSync();
        for (let j = 0; j < 5; j++) {
          const { pixels } = data.get(j);
          for (let i = 0; i < pixels.length; i++) if (values[j * 192 + i] !== Math.fround(pixels[i] / 255)) assert.fail(`workers ${workers}: item ${j} byte ${i}`);
        }
        (first as tf.Tensor).dispose();
      } finally {
        await loader.close();
      }
    }
  });

  it('BatchBuffers: a tensor shares no memory with its buffer, which is reused where the backend copies', () => {
    const buffers = new BatchBuffers(2 * 3);
    const a = buffers.take();
    a.set([1, 2, 3, 4, 5, 6]);
    const tensor = buffers.tensor4d(a.subarray(0, 3), [1, 1, 1, 3]); // a smaller last batch
    const b = buffers.take();
    // tfjs-node and wasm hold their own copy: the buffer comes back; cpu keeps the array.
    assert.equal(b.buffer === a.buffer, tf.getBackend() === 'tensorflow' || tf.getBackend() === 'wasm', `backend ${tf.getBackend()}`);
    b.fill(-1);
    assert.deepEqual(Array.from(tensor.dataSync()), [1, 2, 3]);
    tensor.dispose();
    assert.throws(() => buffers.tensor4d(new Float32Array(6), [1, 1, 2, 3]), /not a view taken from these buffers/);
    // tfjs-node shares memory that happens to be 64-aligned; buffers of many sizes land at many
    // alignments, and none may be shared.
    for (let k = 1; k <= 32; k++) {
      const many = new BatchBuffers(3 * 997 * k);
      const values = many.take().fill(k);
      const t = many.tensor4d(values, [k, 1, 997, 3]);
      many.take().fill(-1);
      assert.ok(t.dataSync().every((v) => v === k), `buffer of ${3 * 997 * k} values`);
      t.dispose();
    }
  });

  it('a decode error in a worker rejects the epoch with the file name and stops the workers', async () => {
    const dir = tempDir();
    try {
      const good = path.join(dir, 'good.png');
      await sharp(Buffer.alloc(4 * 4 * 3, 128), { raw: { width: 4, height: 4, channels: 3 } }).png().toFile(good);
      const bad = path.join(dir, 'bad.JPEG');
      fs.writeFileSync(bad, 'not an image');
      const ds = new ImageDataset({
        name: 'broken',
        source: { kind: 'files', files: [good, good, good, bad], labels: Int32Array.from([0, 1, 0, 1]), channels: 3 },
        imageShape: [4, 4, 3],
        classNames: ['a', 'b'],
        transforms: { train: { kind: 'none' }, eval: { kind: 'resizeCenterCrop', resize: 4, crop: 4 } },
      });
      await withWorkerSpy(async (started) => {
        // The bad file comes after batches whose buffers went back for reuse.
        const loader = new BatchLoader(ds, { batchSize: 1, workers: 1, shuffle: false, prefetch: 1 });
        const seen: number[] = [];
        await assert.rejects(
          (async () => {
            for await (const b of loader) {
              seen.push(b.index);
              tf.dispose([b.x, b.y]);
            }
          })(),
          (e: Error) => e.message.includes(bad),
        );
        assert.deepEqual(seen, [0, 1, 2]);
        assert.ok(started.length === 1 && started[0].threadId === -1);
      });
    } finally {
      removeDir(dir);
    }
  });
});
