import { strict as assert } from 'assert';
import * as tf from '@tensorflow/tfjs-core';
import {
  Box, LocalizationBatch, bestIoU, boxIoU, camBox, classActivationMaps, evaluateLocalization, largestRegionBox,
} from '../../lib/eval/cam';
import { CamClassifier } from '../../lib/eval/types';
import { withoutLeaks } from './helpers';

/** Mask/map from rows of characters: '#' = 1, '.' = 0. */
function grid(rows: string[]): { values: number[]; h: number; w: number } {
  return { values: rows.join('').split('').map((c) => (c === '#' ? 1 : 0)), h: rows.length, w: rows[0].length };
}

/**
 * A CamClassifier whose feature maps are the image itself (features = x, C channels) and whose
 * classifier is `weights` [C, K]: CAM_k = sum_c x_c W[c, k], logits = mean_hw(x) @ W + bias.
 */
function identityFeatureModel(weights: number[][], bias?: number[]): CamClassifier {
  const k = weights[0].length;
  return {
    numClasses: k,
    predictLogits: (x) => tf.tidy(() => {
      const l = tf.matMul(tf.mean(x, [1, 2]), tf.tensor2d(weights));
      return (bias ? tf.add(l, tf.tensor1d(bias)) : l) as tf.Tensor2D;
    }),
    camInputs: (x) => ({
      features: tf.clone(x),
      weights: tf.tensor2d(weights),
      ...(bias ? { bias: tf.tensor1d(bias) } : {}),
    }),
  };
}

describe('eval/cam: CAM boxes, IoU, localisation accuracy', () => {
  it('IoU of hand boxes', () => {
    // [0,4)x[0,4) and [2,6)x[2,6): intersection 2x2 = 4, union 16 + 16 - 4 = 28.
    assert.equal(boxIoU({ x: 0, y: 0, width: 4, height: 4 }, { x: 2, y: 2, width: 4, height: 4 }), 4 / 28);
    // Containment: 1x2 inside 2x4 -> 2 / 8.
    assert.equal(boxIoU({ x: 1, y: 1, width: 1, height: 2 }, { x: 0, y: 0, width: 2, height: 4 }), 2 / 8);
    // Touching edges share no area.
    assert.equal(boxIoU({ x: 0, y: 0, width: 2, height: 2 }, { x: 2, y: 0, width: 2, height: 2 }), 0);
    assert.equal(boxIoU({ x: 1.5, y: 0.5, width: 3, height: 2 }, { x: 1.5, y: 0.5, width: 3, height: 2 }), 1);
    // Several ground-truth boxes: the best counts; no predicted box: 0.
    assert.equal(bestIoU({ x: 0, y: 0, width: 4, height: 4 }, [{ x: 10, y: 10, width: 1, height: 1 }, { x: 2, y: 2, width: 4, height: 4 }]), 4 / 28);
    assert.equal(bestIoU(null, [{ x: 0, y: 0, width: 1, height: 1 }]), 0);
    assert.throws(() => boxIoU({ x: 0, y: 0, width: -1, height: 1 }, { x: 0, y: 0, width: 1, height: 1 }), /boxIoU: a must be \{x, y, width, height\}/);
  });

  it('largest region: two blobs, the bigger one wins; 8-connectivity joins diagonal pixels', () => {
    const m = grid([
      '........',
      '.###....',
      '.###....',
      '.###....',
      '........',
      '.....#..',
      '......#.',
      '.......#',
    ]);
    // The 3x3 blob (9 px) beats the diagonal line (3 px, connected only diagonally).
    assert.deepEqual(largestRegionBox(m.values, m.h, m.w), { x: 1, y: 1, width: 3, height: 3 });
    // A diagonal chain of 12 px beats the 9-px blob only because diagonal neighbours connect
    // (8-connectivity); with 4-connectivity each chain pixel would be its own region and the blob
    // at rows 0-2, cols 8-10 would win.
    const d = grid([
      '#.......###.',
      '.#......###.',
      '..#.....###.',
      '...#........',
      '....#.......',
      '.....#......',
      '......#.....',
      '.......#....',
      '........#...',
      '.........#..',
      '..........#.',
      '...........#',
    ]);
    assert.deepEqual(largestRegionBox(d.values, d.h, d.w), { x: 0, y: 0, width: 12, height: 12 });
    assert.equal(largestRegionBox(new Array(6).fill(0), 2, 3), null);
    assert.throws(() => largestRegionBox([1, 0], 2, 3), /mask has 2 entries but height \* width = 6/);
  });

  it('camBox thresholds the normalised map at 0.15 (>=) before taking the region', () => {
    // Values: a 2x2 patch at 1, a 3x3 patch at 0.15 (kept: >= 0.15), a 4x4 patch at 0.149 (dropped).
    const w = 12;
    const map = new Float32Array(w * w);
    const fill = (r0: number, c0: number, n: number, v: number) => {
      for (let r = r0; r < r0 + n; r++) for (let c = c0; c < c0 + n; c++) map[r * w + c] = v;
    };
    fill(0, 0, 2, 1);
    fill(5, 5, 3, 0.15);
    fill(8, 0, 4, 0.149);
    assert.deepEqual(camBox(map, w, w), { x: 5, y: 5, width: 3, height: 3 });
    assert.deepEqual(camBox(map, w, w, 0.5), { x: 0, y: 0, width: 2, height: 2 });
    assert.throws(() => camBox(map, w, w, 1.5), /camBox: threshold must be in \[0, 1\], got 1.5/);
  });

  it('classActivationMaps: CAM = features @ w_k, min-max normalised; box of the larger blob', async () => {
    // 8x8 image, channel 0: big blob (3x3) at 1.0 and small blob (2x2) at 0.8 on a 0.1 background;
    // channel 1 is a constant 0.5. Class 0 weights (2, 0): CAM_0 = 2 * ch0; class 1 weights (0, 1).
    const img = new Float32Array(8 * 8 * 2);
    for (let p = 0; p < 64; p++) {
      const r = Math.floor(p / 8);
      const c = p % 8;
      img[p * 2] = r >= 1 && r <= 3 && c >= 1 && c <= 3 ? 1 : r >= 5 && r <= 6 && c >= 5 && c <= 6 ? 0.8 : 0.1;
      img[p * 2 + 1] = 0.5;
    }
    const x = tf.tensor4d(img, [1, 8, 8, 2]);
    const model = identityFeatureModel([[2, 0], [0, 1]]);
    const cams = await withoutLeaks(() => {
      const out = classActivationMaps(model, x);
      const v = Array.from(out.maps.dataSync());
      assert.deepEqual(out.maps.shape, [1, 8, 8]);
      out.maps.dispose();
      return { v, out };
    });
    // mean ch0 = (9*1 + 4*0.8 + 51*0.1)/64 = 0.2719 -> logit0 = 0.5437 > logit1 = 0.5: class 0.
    assert.deepEqual(Array.from(cams.out.predicted), [0]);
    // Min-max: background 0, big blob 1, small blob (0.8 - 0.1)/(1 - 0.1) = 0.7778.
    cams.v.forEach((val, p) => assert.ok(Math.abs(val - (img[p * 2] - 0.1) / 0.9) < 1e-6));
    assert.deepEqual(camBox(cams.v, 8, 8), { x: 1, y: 1, width: 3, height: 3 });
    // Class 1's CAM is constant: no location (all zero after min-max).
    const flat = classActivationMaps(model, x, [1]);
    assert.ok(Array.from(flat.maps.dataSync()).every((v) => v === 0));
    assert.equal(camBox(flat.maps.dataSync(), 8, 8), null);
    tf.dispose([x, flat.maps]);
  });

  it('CAMs are upsampled bilinearly (half-pixel centres) to the image size before normalising', () => {
    // Feature maps 4x4, image 8x8: a model that pools x 2x2 into its features.
    const feat = grid(['##..', '##..', '....', '...#']);
    const model: CamClassifier = {
      numClasses: 2,
      predictLogits: (x) => tf.tidy(() => tf.matMul(tf.mean(x, [1, 2]), tf.tensor2d([[1, -1]]))) as tf.Tensor2D,
      camInputs: (x) => ({ features: tf.avgPool(x, 2, 2, 'valid'), weights: tf.tensor2d([[1, -1]]) }),
    };
    const img = new Float32Array(64);
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) img[r * 8 + c] = feat.values[Math.floor(r / 2) * 4 + Math.floor(c / 2)];
    const x = tf.tensor4d(img, [1, 8, 8, 1]);
    const out = classActivationMaps(model, x, [0]);
    const got = out.maps.dataSync();
    // Reference: float64 bilinear with half-pixel centres (source coordinate (i + 0.5)/2 - 0.5,
    // clamped to [0, 3]), then min-max.
    const src = (i: number) => Math.min(3, Math.max(0, (i + 0.5) / 2 - 0.5));
    const ref: number[] = [];
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) {
      const sr = src(r);
      const sc = src(c);
      const r0 = Math.floor(sr);
      const c0 = Math.floor(sc);
      const r1 = Math.min(r0 + 1, 3);
      const c1 = Math.min(c0 + 1, 3);
      const f = (rr: number, cc: number) => feat.values[rr * 4 + cc];
      const top = f(r0, c0) * (1 - (sc - c0)) + f(r0, c1) * (sc - c0);
      const bottom = f(r1, c0) * (1 - (sc - c0)) + f(r1, c1) * (sc - c0);
      ref.push(top * (1 - (sr - r0)) + bottom * (sr - r0));
    }
    const lo = Math.min(...ref);
    const hi = Math.max(...ref);
    ref.forEach((v, i) => assert.ok(Math.abs(got[i] - (v - lo) / (hi - lo)) < 1e-6, `pixel ${i}`));
    // The box: the upper-left blob spreads to rows/cols 0..4 above 0.15 (0.25 at index 4, 0 at 5).
    assert.deepEqual(camBox(got, 8, 8), { x: 0, y: 0, width: 5, height: 5 });
    tf.dispose([x, out.maps]);
  });

  it('evaluateLocalization: top-1 and GT-known accuracy on a hand case', async () => {
    // Channel k is class k's CAM. Image A: class 0 blob at rows/cols 1-3 (predicted 0, label 0, GT
    // on the blob: both hits). Image B: label 1 but channel 0 is brighter (predicted 0: top-1 miss);
    // channel 1's blob matches the GT (GT-known hit). Image C: label 0, predicted 0, GT elsewhere.
    const make = (blob0: [number, number] | null, level0: number, blob1: [number, number] | null) => {
      const v = new Float32Array(10 * 10 * 2);
      for (let r = 0; r < 10; r++) for (let c = 0; c < 10; c++) {
        const inBlob = (b: [number, number] | null) => b !== null && r >= b[0] && r < b[0] + 3 && c >= b[1] && c < b[1] + 3;
        v[(r * 10 + c) * 2] = inBlob(blob0) ? 1 : level0;
        v[(r * 10 + c) * 2 + 1] = inBlob(blob1) ? 0.5 : 0;
      }
      return v;
    };
    const x = tf.tensor4d([...make([1, 1], 0, [6, 6]), ...make([0, 0], 0.3, [5, 4]), ...make([6, 6], 0, null)], [3, 10, 10, 2]);
    const batch: LocalizationBatch = {
      x,
      y: tf.tensor1d([0, 1, 0], 'int32'),
      boxes: [
        [{ x: 1, y: 1, width: 3, height: 3 }],
        [{ x: 4, y: 5, width: 3, height: 3 }, { x: 0, y: 0, width: 10, height: 10 }],
        [{ x: 0, y: 0, width: 3, height: 3 }],
      ],
    };
    const model = identityFeatureModel([[1, 0], [0, 1]]);
    const r = await withoutLeaks(() => evaluateLocalization(model, [batch]));
    assert.deepEqual(r.top1.n, 3);
    assert.equal(r.top1.correct, 2); // A and C
    assert.deepEqual(r.boxesPredicted, [{ x: 1, y: 1, width: 3, height: 3 }, { x: 0, y: 0, width: 3, height: 3 }, { x: 6, y: 6, width: 3, height: 3 }]);
    assert.deepEqual(r.boxesTrue[1], { x: 4, y: 5, width: 3, height: 3 });
    assert.deepEqual(Array.from(r.iouPredicted), [1, 9 / 100, 0]);
    assert.deepEqual(Array.from(r.iouTrue), [1, 1, 0]);
    assert.equal(r.top1Loc, 1 / 3);
    assert.equal(r.gtKnownLoc, 2 / 3);
    assert.ok(!x.isDisposed, 'array batches stay with the caller');
    tf.dispose([x, batch.y]);
  });

  it('rejects bad input with clear errors', async () => {
    const plain = { numClasses: 2, predictLogits: (x: tf.Tensor4D) => tf.zeros([x.shape[0], 2]) as tf.Tensor2D };
    const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
    const y = tf.tensor1d([0], 'int32');
    await assert.rejects(evaluateLocalization(plain as CamClassifier, [{ x, y, boxes: [[{ x: 0, y: 0, width: 1, height: 1 }]] }]), /evaluateLocalization: model must implement camInputs/);
    const model = identityFeatureModel([[1, 0], [0, 1]]);
    await assert.rejects(evaluateLocalization(model, [{ x, y, boxes: [] }]), /batch 0 must have boxes: one array of ground-truth boxes per image \(1\), got 0/);
    await assert.rejects(evaluateLocalization(model, [{ x, y, boxes: [[]] }]), /batch 0 image 0 has no ground-truth box/);
    await assert.rejects(evaluateLocalization(model, [{ x, y, boxes: [[{ x: 0, y: 0, width: 1, height: 1 }]] }], { threshold: 2 }), /threshold must be in \[0, 1\], got 2/);
    const wrongWeights: CamClassifier = { ...model, camInputs: (xx) => ({ features: tf.clone(xx), weights: tf.zeros([3, 2]) as tf.Tensor2D }) };
    await withoutLeaks(() => assert.throws(() => classActivationMaps(wrongWeights, x), /camInputs\(x\).weights must have shape \[2,2\], got \[3,2\]/));
    assert.throws(() => classActivationMaps(model, x, [2]), /classes\[0\] = 2 is not a class index in \[0, 1\]/);
    const boxes: Box[][] = [[{ x: 0, y: 0, width: 1, height: 1 }]];
    const bad = tf.tensor1d([5], 'int32');
    await assert.rejects(evaluateLocalization(model, [{ x, y: bad, boxes }]), /y\[0\] = 5 is out of range/);
    tf.dispose([x, y, bad]);
  });
});
