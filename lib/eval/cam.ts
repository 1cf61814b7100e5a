/**
 * Weakly supervised object localisation with class activation maps (CAM, Zhou et al. 2016),
 * main paper Table 4 / Fig. 6, protocol of CutMix (Yun et al. 2019):
 *
 *   CAM_k(i, j) = sum_c F(i, j, c) * W(c, k)          F: last feature maps [h, w, C], W: [C, K]
 *     (the bias is a constant per class and carries no location, so it is left out)
 *   upsample CAM_k bilinearly (half-pixel centres, like cv2.resize) to the image size [H, W]
 *   normalise min-max:  M = (CAM - min CAM) / (max CAM - min CAM)   in [0, 1], max 1
 *     (as CutMix's and Choe et al.'s WSOL code; a constant map has no location: M = 0)
 *   mask = { p : M(p) >= threshold },  threshold = 0.15 (of the max, which is 1 after min-max)
 *   box = bounding box of the largest 8-connected region of the mask (most pixels; ties: the
 *     region met first in row-major order). 8-connectivity matches the outer contours OpenCV's
 *     findContours traces in the reference code (which keeps the contour of largest area).
 *   An empty mask (constant CAM) gives no box, which counts as IoU 0.
 *
 * Boxes are in continuous pixel coordinates of the image the model saw: pixel (row i, col j)
 * covers [j, j+1) x [i, i+1), so a region spanning columns j0..j1 has x = j0, width = j1-j0+1.
 * IoU(a, b) = area(a ∩ b) / area(a ∪ b) (0 when the union is empty).
 *
 * Localisation accuracy (n images, each with one or more ground-truth boxes; the best IoU over
 * an image's boxes counts):
 *   top-1 loc     = #{ predicted class = label AND IoU(box of CAM_predicted, GT) >= 0.5 } / n
 *   GT-known loc  = #{ IoU(box of CAM_label, GT) >= 0.5 } / n            (Choe et al. 2020)
 * The class is predicted from the same forward pass: logits = mean_hw(F) @ W + b.
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertInRange, assertKnownKeys, assertShape } from '../validate';
import { forEachBatch, readLabels } from './batches';
import { checkClassifier, softmaxRows, topOne, Top1Result } from './predict';
import { BatchSource, CamClassifier, isCamClassifier, LabeledBatch, SourceOptions } from './types';

export interface Box {
  /** Left edge, pixels. */
  x: number;
  /** Top edge, pixels. */
  y: number;
  width: number;
  height: number;
}

/** A labelled batch with the ground-truth boxes of each image (in the pixels of x). */
export interface LocalizationBatch extends LabeledBatch {
  boxes: Box[][];
}

export interface CamOptions {
  /** Mask threshold on the min-max normalised CAM; default 0.15. */
  threshold?: number;
  /** IoU needed for a correct localisation; default 0.5. */
  iouThreshold?: number;
}

export const CAM_DEFAULTS = { threshold: 0.15, iouThreshold: 0.5 } as const;

/** Intersection over union of two boxes (module comment). */
export function boxIoU(a: Box, b: Box): number {
  for (const [name, box] of [['a', a], ['b', b]] as const) {
    if (!box || ![box.x, box.y, box.width, box.height].every(Number.isFinite) || box.width < 0 || box.height < 0) {
      throw new Error(`boxIoU: ${name} must be {x, y, width, height} with finite numbers and width, height >= 0, got ${JSON.stringify(box)}`);
    }
  }
  const iw = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const ih = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = iw * ih;
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Best IoU of `box` against any of `truth` (0 for no box). */
export function bestIoU(box: Box | null, truth: readonly Box[]): number {
  if (!box) return 0;
  let best = 0;
  for (const t of truth) best = Math.max(best, boxIoU(box, t));
  return best;
}

/**
 * Bounding box of the largest 8-connected region of a binary mask ([height * width] row-major,
 * nonzero = on), or null for an empty mask.
 */
export function largestRegionBox(mask: ArrayLike<number>, height: number, width: number): Box | null {
  if (mask.length !== height * width) {
    throw new Error(`largestRegionBox: mask has ${mask.length} entries but height * width = ${height * width}`);
  }
  const label = new Int32Array(height * width); // 0 = unvisited
  const queue = new Int32Array(height * width);
  let best: Box | null = null;
  let bestSize = 0;
  let region = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    region++;
    label[start] = region;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    let minR = height;
    let maxR = -1;
    let minC = width;
    let maxC = -1;
    while (head < tail) {
      const p = queue[head++];
      const r = Math.floor(p / width);
      const c = p - r * width;
      if (r < minR) minR = r;
      if (r > maxR) maxR = r;
      if (c < minC) minC = c;
      if (c > maxC) maxC = c;
      for (let dr = -1; dr <= 1; dr++) {
        const rr = r + dr;
        if (rr < 0 || rr >= height) continue;
        for (let dc = -1; dc <= 1; dc++) {
          const cc = c + dc;
          if (cc < 0 || cc >= width) continue;
          const q = rr * width + cc;
          if (mask[q] && !label[q]) {
            label[q] = region;
            queue[tail++] = q;
          }
        }
      }
    }
    if (tail > bestSize) {
      bestSize = tail;
      best = { x: minC, y: minR, width: maxC - minC + 1, height: maxR - minR + 1 };
    }
  }
  return best;
}

/**
 * Min-max normalise a map in place ([height * width]); a constant map becomes all 0.
 * Returns the same array.
 */
export function normalizeMinMax(map: Float32Array | Float64Array): Float32Array | Float64Array {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) {
    if (!Number.isFinite(map[i])) throw new Error(`normalizeMinMax: map[${i}] is ${map[i]}; CAM values must be finite`);
    if (map[i] < min) min = map[i];
    if (map[i] > max) max = map[i];
  }
  const range = max - min;
  for (let i = 0; i < map.length; i++) map[i] = range > 0 ? (map[i] - min) / range : 0;
  return map;
}

/** Box of a normalised CAM: threshold, then the largest region (module comment). */
export function camBox(normalizedMap: ArrayLike<number>, height: number, width: number, threshold: number = CAM_DEFAULTS.threshold): Box | null {
  assertInRange('camBox', 'threshold', threshold, 0, 1);
  const mask = new Uint8Array(height * width);
  for (let i = 0; i < mask.length; i++) mask[i] = normalizedMap[i] >= threshold ? 1 : 0;
  return largestRegionBox(mask, height, width);
}

function checkCamInputs(where: string, model: CamClassifier, x: tf.Tensor4D, out: ReturnType<CamClassifier['camInputs']>): void {
  const { features, weights, bias } = out;
  assertShape(where, 'camInputs(x).features', features, [x.shape[0], null, null, null]);
  const c = features.shape[3];
  assertShape(where, 'camInputs(x).weights', weights, [c, model.numClasses]);
  if (bias) assertShape(where, 'camInputs(x).bias', bias, [model.numClasses]);
}

export interface CamBatch {
  /** [B, H, W] min-max normalised CAMs, one per image, for `classes`. Caller disposes. */
  maps: tf.Tensor3D;
  /** The class each map is for. */
  classes: Int32Array;
  /** Predicted class per image (argmax of mean_hw(F) @ W + b). */
  predicted: Int32Array;
  /** Max-softmax probability per image. */
  confidence: Float64Array;
}

/** One forward pass: the classifier's softmax outputs and every class's CAM at feature resolution. */
interface CamForward {
  predicted: Int32Array;
  confidence: Float64Array;
  /** [B, h', w', K]; the caller of camForward disposes it. */
  allCams: tf.Tensor4D;
}

function camForward(where: string, model: CamClassifier, x: tf.Tensor4D): CamForward {
  checkClassifier(where, model);
  if (!isCamClassifier(model)) throw new Error(`${where}: model must implement camInputs(x) (CamClassifier)`);
  assertShape(where, 'x', x, [null, null, null, null]);
  const k = model.numClasses;
  const { logits, allCams } = tf.tidy(() => {
    const out = model.camInputs(x);
    checkCamInputs(where, model, x, out);
    const [b, fh, fw, c] = out.features.shape;
    const pooled = tf.mean(out.features, [1, 2]);
    const lg = out.bias ? tf.add(tf.matMul(pooled, out.weights), out.bias) : tf.matMul(pooled, out.weights);
    const cams = tf.reshape(tf.matMul(tf.reshape(out.features, [b * fh * fw, c]), out.weights), [b, fh, fw, k]);
    return { logits: lg, allCams: cams as tf.Tensor4D };
  });
  try {
    const soft = softmaxRows(where, logits.dataSync(), k);
    return { predicted: soft.predicted, confidence: soft.confidence, allCams };
  } catch (e) {
    allCams.dispose();
    throw e;
  } finally {
    logits.dispose();
  }
}

/** The chosen class's CAM per image, upsampled to [H, W] and min-max normalised: [B * H * W]. */
function selectedMaps(where: string, allCams: tf.Tensor4D, classes: ArrayLike<number>, size: readonly [number, number]): Float32Array {
  const [b, , , k] = allCams.shape;
  if (classes.length !== b) throw new Error(`${where}: classes has ${classes.length} entries but the batch has ${b} images`);
  for (let i = 0; i < b; i++) {
    if (!(Number.isInteger(classes[i]) && classes[i] >= 0 && classes[i] < k)) {
      throw new Error(`${where}: classes[${i}] = ${classes[i]} is not a class index in [0, ${k - 1}]`);
    }
  }
  const [h, w] = size;
  const up = tf.tidy(() => {
    const select = tf.reshape(tf.oneHot(tf.tensor1d(Int32Array.from(classes), 'int32'), k, 1, 0, 'float32'), [b, 1, 1, k]);
    const picked = tf.sum(tf.mul(allCams, select), 3, true) as tf.Tensor4D;
    return tf.image.resizeBilinear(picked, [h, w], false, true);
  });
  const values = Float32Array.from(up.dataSync());
  up.dispose();
  for (let i = 0; i < b; i++) normalizeMinMax(values.subarray(i * h * w, (i + 1) * h * w));
  return values;
}

/**
 * Normalised class activation maps of one batch at the image size. `classes`: 'predicted'
 * (default) or one class index per image. The returned `maps` tensor is the caller's to dispose.
 */
export function classActivationMaps(model: CamClassifier, x: tf.Tensor4D, classes: 'predicted' | ArrayLike<number> = 'predicted'): CamBatch {
  const where = 'classActivationMaps';
  const forward = camForward(where, model, x);
  try {
    const chosen = classes === 'predicted' ? forward.predicted : Int32Array.from(classes);
    const [b, h, w] = x.shape;
    const maps = selectedMaps(where, forward.allCams, chosen, [h, w]);
    return { maps: tf.tensor3d(maps, [b, h, w]), classes: chosen, predicted: forward.predicted, confidence: forward.confidence };
  } finally {
    forward.allCams.dispose();
  }
}

export interface LocalizationResult {
  n: number;
  /** Top-1 localisation accuracy (fraction). */
  top1Loc: number;
  /** GT-known localisation accuracy (fraction). */
  gtKnownLoc: number;
  /** Classification on the same images. */
  top1: Top1Result;
  /** Per image: best IoU of the predicted-class box and of the true-class box. */
  iouPredicted: Float64Array;
  iouTrue: Float64Array;
  /** Per image: the boxes found (null: empty mask). */
  boxesPredicted: (Box | null)[];
  boxesTrue: (Box | null)[];
  threshold: number;
  iouThreshold: number;
}

/**
 * Top-1 and GT-known localisation accuracy over a set of `{ x, y, boxes }` batches (module
 * comment). Each image needs at least one ground-truth box.
 */
export async function evaluateLocalization(
  model: CamClassifier, data: BatchSource<LocalizationBatch>, options: CamOptions & SourceOptions = {},
): Promise<LocalizationResult> {
  const where = 'evaluateLocalization';
  assertKnownKeys(where, options, ['threshold', 'iouThreshold', 'disposeBatches']);
  checkClassifier(where, model);
  if (!isCamClassifier(model)) throw new Error(`${where}: model must implement camInputs(x) (CamClassifier)`);
  const threshold = options.threshold ?? CAM_DEFAULTS.threshold;
  const iouThreshold = options.iouThreshold ?? CAM_DEFAULTS.iouThreshold;
  assertInRange(where, 'threshold', threshold, 0, 1);
  assertInRange(where, 'iouThreshold', iouThreshold, 0, 1);

  const labels: number[] = [];
  const predicted: number[] = [];
  const iouPredicted: number[] = [];
  const iouTrue: number[] = [];
  const boxesPredicted: (Box | null)[] = [];
  const boxesTrue: (Box | null)[] = [];
  await forEachBatch(where, 'data', data, options, (batch, bi) => {
    const [b, h, w] = batch.x.shape;
    const y = readLabels(where, `data batch ${bi} y`, batch.y, b, model.numClasses);
    if (!Array.isArray(batch.boxes) || batch.boxes.length !== b) {
      throw new Error(`${where}: batch ${bi} must have boxes: one array of ground-truth boxes per image (${b}), got ${Array.isArray(batch.boxes) ? batch.boxes.length : typeof batch.boxes}`);
    }
    batch.boxes.forEach((gt, i) => {
      if (!Array.isArray(gt) || gt.length === 0) throw new Error(`${where}: batch ${bi} image ${i} has no ground-truth box`);
    });
    const forward = camForward(where, model, batch.x);
    let mapsP: Float32Array;
    let mapsT: Float32Array;
    try {
      mapsP = selectedMaps(where, forward.allCams, forward.predicted, [h, w]);
      mapsT = selectedMaps(where, forward.allCams, y, [h, w]);
    } finally {
      forward.allCams.dispose();
    }
    for (let i = 0; i < b; i++) {
      const boxP = camBox(mapsP.subarray(i * h * w, (i + 1) * h * w), h, w, threshold);
      const boxT = camBox(mapsT.subarray(i * h * w, (i + 1) * h * w), h, w, threshold);
      labels.push(y[i]);
      predicted.push(forward.predicted[i]);
      boxesPredicted.push(boxP);
      boxesTrue.push(boxT);
      iouPredicted.push(bestIoU(boxP, batch.boxes[i]));
      iouTrue.push(bestIoU(boxT, batch.boxes[i]));
    }
  });
  const n = labels.length;
  if (n === 0) throw new Error(`${where}: data yielded no batches`);
  let top1Hits = 0;
  let gtKnownHits = 0;
  for (let i = 0; i < n; i++) {
    if (predicted[i] === labels[i] && iouPredicted[i] >= iouThreshold) top1Hits++;
    if (iouTrue[i] >= iouThreshold) gtKnownHits++;
  }
  return {
    n,
    top1Loc: top1Hits / n,
    gtKnownLoc: gtKnownHits / n,
    top1: topOne(labels, predicted),
    iouPredicted: Float64Array.from(iouPredicted),
    iouTrue: Float64Array.from(iouTrue),
    boxesPredicted,
    boxesTrue,
    threshold,
    iouThreshold,
  };
}
