/**
 * CutMix (Yun et al., ICCV 2019): paste a box of the partner image x' into x.
 *
 * For a drawn lambda the box has the area fraction 1 - lambda before clipping: side lengths
 * floor(H sqrt(1 - lambda)) x floor(W sqrt(1 - lambda)), centre (row, column) uniform over the
 * pixels, then clipped to the image. Clipping shrinks boxes near the border, so the label weight
 * is recomputed from the box actually pasted:
 *
 *     lambda_adj = 1 - (y1 - y0)(x1 - x0) / (H W),    target = lambda_adj y + (1 - lambda_adj) y'.
 *
 * (The reference code spans cx -+ floor(w/2), which is one pixel short for odd w; here the box is
 * exactly w wide before clipping. Either way the label weight is the real area.)
 * One lambda gives one box for the whole batch, as in the paper; one lambda per example gives one
 * box per example.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt, assertRank, assertSameShape } from '../validate';
import { Lambda, assertLambda } from './mix';

/** Pixel box [y0, y1) x [x0, x1) in row/column coordinates. */
export interface CutMixBox {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

/**
 * Draw a CutMix box for an H x W image and lambda in [0, 1]; returns the clipped box and the
 * label weight of the ORIGINAL image, 1 - (box area)/(H W). Two draws from `rng`: row, column.
 */
export function cutMixBox(height: number, width: number, lambda: number, rng: Rng): { box: CutMixBox; lambda: number } {
  const where = 'cutMixBox';
  assertInt(where, 'height', height, 1);
  assertInt(where, 'width', width, 1);
  assertLambda(where, lambda, 1);
  const ratio = Math.sqrt(1 - lambda);
  const cutH = Math.floor(height * ratio);
  const cutW = Math.floor(width * ratio);
  const cy = rng.int(height);
  const cx = rng.int(width);
  const top = cy - Math.floor(cutH / 2);
  const left = cx - Math.floor(cutW / 2);
  const box = {
    y0: Math.max(top, 0), y1: Math.min(top + cutH, height),
    x0: Math.max(left, 0), x1: Math.min(left + cutW, width),
  };
  return { box, lambda: 1 - ((box.y1 - box.y0) * (box.x1 - box.x0)) / (height * width) };
}

export interface CutMixResult {
  /** [B, H, W, C]: x with the box of x' pasted in. The caller disposes it. */
  mixed: tf.Tensor4D;
  /** Per example: weight of x's label, 1 - (pasted area)/(H W). Mix targets with it. */
  lambdas: number[];
  /** Per example: the box pasted (the same object repeated when one lambda is given). */
  boxes: CutMixBox[];
}

/**
 * CutMix a batch with its partners.
 * @param x images [B, H, W, C]
 * @param xPartner partner images, same shape (usually gatherPartners(x, perm))
 * @param lambda one number (one box for the batch) or one per example (one box each), in [0, 1]
 */
export function cutMix(x: tf.Tensor4D, xPartner: tf.Tensor4D, lambda: Lambda, rng: Rng): CutMixResult {
  const where = 'cutMix';
  assertRank(where, 'x', x, 4);
  assertSameShape(where, 'x', x, 'xPartner', xPartner);
  const [batch, height, width] = x.shape;
  assertLambda(where, lambda, batch);
  const draws = typeof lambda === 'number'
    ? new Array(batch).fill(cutMixBox(height, width, lambda, rng))
    : lambda.map((l) => cutMixBox(height, width, l, rng));
  const mask = new Float32Array(batch * height * width);
  draws.forEach(({ box }, b) => {
    for (let y = box.y0; y < box.y1; y++) mask.fill(1, (b * height + y) * width + box.x0, (b * height + y) * width + box.x1);
  });
  const mixed = tf.tidy(() => {
    const m = tf.tensor4d(mask, [batch, height, width, 1]);
    // x (1 - m) + x' m keeps both sides bit-exact (the mask is 0 or 1).
    return tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(xPartner, m)) as tf.Tensor4D;
  });
  return { mixed, lambdas: draws.map((d) => d.lambda), boxes: draws.map((d) => d.box) };
}
