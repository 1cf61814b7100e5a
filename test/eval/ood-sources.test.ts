import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/random';
import { centerCropImages, fitImages, noiseBatch, noiseImages, resizeImages } from '../../lib/eval/ood-sources';
import { withoutLeaks } from './helpers';

function stats(values: ArrayLike<number>) {
  const n = values.length;
  let sum = 0;
  let zeros = 0;
  let ones = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    sum += values[i];
    if (values[i] === 0) zeros++;
    if (values[i] === 1) ones++;
    min = Math.min(min, values[i]);
    max = Math.max(max, values[i]);
  }
  const mean = sum / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(v / n), zeros: zeros / n, ones: ones / n, min, max, n };
}

function collect(kind: 'uniform' | 'gaussian', count: number, batchSize: number, seed: number): Float32Array {
  const parts: number[] = [];
  for (const b of noiseImages(kind, count, [8, 8, 3], { batchSize, seed })) {
    assert.deepEqual(b.x.shape.slice(1), [8, 8, 3]);
    parts.push(...b.x.dataSync());
    b.x.dispose();
  }
  return Float32Array.from(parts);
}

describe('eval/ood-sources: noise sets, resize and crop', () => {
  const count = 64; // 64 * 8 * 8 * 3 = 12288 values

  it('uniform noise: U(0, 1) moments and range', () => {
    const s = stats(collect('uniform', count, 64, 1));
    assert.equal(s.n, 12288);
    // mean 1/2, std sqrt(1/12) = 0.2887; 4-sigma bands for n = 12288.
    assert.ok(Math.abs(s.mean - 0.5) < 4 * 0.2887 / Math.sqrt(s.n), `mean ${s.mean}`);
    assert.ok(Math.abs(s.std - Math.sqrt(1 / 12)) < 0.01, `std ${s.std}`);
    assert.ok(s.min >= 0 && s.max < 1);
  });

  it('gaussian noise: N(0.5, std 0.5) clipped to [0, 1] (mass at the ends, clipped moments)', () => {
    const s = stats(collect('gaussian', count, 64, 2));
    // P(v = 0) = P(v = 1) = Phi(-1); E[clip(z, -1, 1)^2] = (2 Phi(1) - 1) - 2 phi(1) + 2 (1 - Phi(1)).
    const Phi1 = 0.8413447460685429;
    const phi1 = 0.24197072451914337;
    const tail = 1 - Phi1;
    const clippedStd = 0.5 * Math.sqrt(2 * Phi1 - 1 - 2 * phi1 + 2 * tail);
    const band = 4 * Math.sqrt(tail * (1 - tail) / s.n);
    assert.ok(Math.abs(s.zeros - tail) < band, `P(0) ${s.zeros} vs ${tail}`);
    assert.ok(Math.abs(s.ones - tail) < band, `P(1) ${s.ones} vs ${tail}`);
    assert.ok(Math.abs(s.mean - 0.5) < 4 * clippedStd / Math.sqrt(s.n), `mean ${s.mean}`);
    assert.ok(Math.abs(s.std - clippedStd) < 0.01, `std ${s.std} vs ${clippedStd}`);
    assert.ok(s.min === 0 && s.max === 1);
    // Without clipping the std would be 0.5: the test tells the two apart.
    assert.ok(Math.abs(clippedStd - 0.5) > 0.1);
  });

  it('gaussian mean/std options are honoured', () => {
    const t = noiseBatch('gaussian', [16, 8, 8, 3], new Rng(4), { mean: 0.3, std: 0.05 });
    const s = stats(t.dataSync());
    t.dispose();
    assert.ok(Math.abs(s.mean - 0.3) < 0.01 && Math.abs(s.std - 0.05) < 0.005, `${s.mean} ${s.std}`);
  });

  it('a noise set depends on the seed only, not on the batch size', () => {
    const a = collect('gaussian', 10, 3, 7);
    const b = collect('gaussian', 10, 10, 7);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, collect('gaussian', 10, 10, 8));
    // The last batch is short: 10 = 3 + 3 + 3 + 1.
    assert.deepEqual([...noiseImages('uniform', 10, [2, 2, 1], { batchSize: 3 })].map((bt) => {
      const n = bt.x.shape[0];
      bt.x.dispose();
      return n;
    }), [3, 3, 3, 1]);
  });

  it('resize: a 2x reduction with half-pixel centres averages each 2x2 block', async () => {
    const values = Array.from({ length: 16 }, (_, i) => (i * 7) % 16 / 16);
    const x = tf.tensor4d(values, [1, 4, 4, 1]);
    const out = await withoutLeaks(() => {
      const r = resizeImages(x, [2, 2]);
      const v = Array.from(r.dataSync());
      assert.deepEqual(r.shape, [1, 2, 2, 1]);
      r.dispose();
      return v;
    });
    const block = (r: number, c: number) => (values[r * 8 + c * 2] + values[r * 8 + c * 2 + 1] + values[r * 8 + 4 + c * 2] + values[r * 8 + 5 + c * 2]) / 4;
    [[0, 0], [0, 1], [1, 0], [1, 1]].forEach(([r, c], i) => assert.ok(Math.abs(out[i] - block(r, c)) < 1e-6));
    // Upsizing keeps the shape contract too.
    const up = resizeImages(x, [7, 5]);
    assert.deepEqual(up.shape, [1, 7, 5, 1]);
    tf.dispose([x, up]);
  });

  it('crop: the central window, top-left at floor((h - H)/2), floor((w - W)/2)', () => {
    const x = tf.tensor4d(Array.from({ length: 2 * 5 * 6 * 2 }, (_, i) => i / 120), [2, 5, 6, 2]);
    const c = centerCropImages(x, [2, 3]);
    assert.deepEqual(c.shape, [2, 2, 3, 2]);
    const xs = x.dataSync();
    const got = c.dataSync();
    // top = floor(3/2) = 1, left = floor(3/2) = 1.
    let k = 0;
    for (let b = 0; b < 2; b++) for (let r = 1; r < 3; r++) for (let col = 1; col < 4; col++) for (let ch = 0; ch < 2; ch++) {
      assert.equal(got[k++], xs[b * 60 + r * 12 + col * 2 + ch]);
    }
    tf.dispose([x, c]);
  });

  it('fitImages resizes or crops to the size and repeats a grey channel', () => {
    const grey = tf.tensor4d(Array.from({ length: 36 }, (_, i) => i / 36), [1, 6, 6, 1]);
    const rgb = fitImages(grey, { size: [4, 4], fit: 'crop', channels: 3 });
    assert.deepEqual(rgb.shape, [1, 4, 4, 3]);
    const v = rgb.dataSync();
    for (let p = 0; p < 16; p++) assert.ok(v[p * 3] === v[p * 3 + 1] && v[p * 3] === v[p * 3 + 2]);
    assert.equal(v[0], Math.fround(7 / 36)); // row 1, col 1 of the source
    const resized = fitImages(grey, { size: [3, 3] });
    assert.deepEqual(resized.shape, [1, 3, 3, 1]);
    tf.dispose([grey, rgb, resized]);
  });

  it('rejects bad input with clear errors and leaks nothing', async () => {
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    await withoutLeaks(() => {
      assert.throws(() => centerCropImages(x, [5, 4]), /centerCropImages: cannot crop 5x4 from images of 4x4; use fit 'resize'/);
      assert.throws(() => fitImages(x, { size: [4, 4], channels: 3 }), /fitImages: images have 2 channels but the model takes 3/);
      assert.throws(() => fitImages(x, { size: [4, 4], fit: 'pad' as never }), /fitImages: unknown fit 'pad'; expected one of resize, crop/);
      assert.throws(() => resizeImages(x, [0, 4]), /resizeImages: size must be \[H, W\] with positive integers/);
      assert.throws(() => noiseBatch('pink' as never, [1, 2, 2, 3], new Rng(0)), /noiseBatch: unknown kind 'pink'/);
      assert.throws(() => noiseBatch('gaussian', [1, 2, 2, 3], new Rng(0), { std: -1 }), /noiseBatch: std must be a finite number > 0, got -1/);
      assert.throws(() => noiseBatch('uniform', [1, 2, 3], new Rng(0)), /noiseBatch: shape must be \[B, H, W, C\]/);
      assert.throws(() => noiseImages('uniform', 0, [2, 2, 3]), /noiseImages: count must be an integer in 1\.\.inf, got 0/);
    });
    x.dispose();
  });
});
