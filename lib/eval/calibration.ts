/**
 * Calibration: expected calibration error (ECE, Guo et al. 2017; main paper Table 3 right),
 * overconfidence error (OE, Thulasidasan et al. 2019; supplementary Table 9) and the data of a
 * reliability diagram (main paper Fig. 5, supplementary Fig. 4).
 *
 * Each image i has a confidence c_i (the max-softmax probability) and a correctness a_i in
 * {0, 1} (prediction = label). The confidence axis [0, 1] is cut into M equal-width bins
 * (default 15, as Guo et al.):
 *
 *   B_b = { i : b/M < c_i <= (b+1)/M },  b = 0 .. M-1   (right-closed; c = 0 goes to bin 0)
 *
 * so a confidence exactly on an inner edge e = b/M belongs to the bin BELOW the edge (bin b-1),
 * and c = 1 to the last bin. The edges are the exact fractions b/M (as np.linspace(0, 1, M+1)).
 * Per bin, over the SAME images (confidence and correctness stay paired per image: sorting the
 * confidences and the correctness flags independently, as OpenMixup's ece_score does, pairs the
 * wrong numbers):
 *
 *   conf_b = mean_{i in B_b} c_i,   acc_b = mean_{i in B_b} a_i,   gap_b = conf_b - acc_b
 *   ECE = sum_b (|B_b| / n) * |acc_b - conf_b|
 *   OE  = sum_b (|B_b| / n) * conf_b * max(conf_b - acc_b, 0)
 *
 * Empty bins contribute nothing; their mean confidence / accuracy / gap are null. Values are
 * fractions (the report gives %). Accumulation is in float64.
 */
import { assertInt, assertKnownKeys } from '../validate';

export interface CalibrationOptions {
  /** Number of equal-width confidence bins M; default 15. */
  bins?: number;
}

export const DEFAULT_CALIBRATION_BINS = 15;

export interface ReliabilityBin {
  index: number;
  /** Bin (lower, upper]; bin 0 also holds confidence 0. */
  lower: number;
  upper: number;
  count: number;
  /** Mean confidence of the images in the bin; null when empty. */
  meanConfidence: number | null;
  /** Fraction of them predicted correctly; null when empty. */
  accuracy: number | null;
  /** meanConfidence - accuracy (> 0: overconfident); null when empty. */
  gap: number | null;
}

export interface CalibrationResult {
  n: number;
  ece: number;
  oe: number;
  /** One entry per bin, in order, ready to plot (accuracy vs confidence). */
  reliability: ReliabilityBin[];
}

/** The bin of confidence c under the module's convention (c in [0, 1]). */
function binIndex(c: number, m: number): number {
  let b = Math.max(0, Math.ceil(c * m) - 1);
  // ceil(c * m) can be off by one when c * m rounds across an integer; compare with the edges.
  if (b < m - 1 && c > (b + 1) / m) b++;
  if (b > 0 && c <= b / m) b--;
  return Math.min(b, m - 1);
}

/**
 * ECE, OE and the reliability bins of paired confidences and correctness flags (module comment).
 * `correct[i]` is a boolean or 0/1.
 */
export function calibration(
  confidence: ArrayLike<number>, correct: ArrayLike<boolean | number>, options: CalibrationOptions = {},
): CalibrationResult {
  const where = 'calibration';
  assertKnownKeys(where, options, ['bins']);
  const m = options.bins ?? DEFAULT_CALIBRATION_BINS;
  assertInt(where, 'bins', m, 1);
  const n = confidence.length;
  if (correct.length !== n) {
    throw new Error(`${where}: confidence has ${n} entries but correct has ${correct.length}`);
  }
  if (n === 0) throw new Error(`${where}: no predictions (confidence is empty)`);

  const count = new Float64Array(m);
  const sumConf = new Float64Array(m);
  const sumCorrect = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    const c = confidence[i];
    if (!(typeof c === 'number' && c >= 0 && c <= 1)) {
      throw new Error(`${where}: confidence[${i}] must be a number in [0, 1], got ${c}`);
    }
    const a = correct[i];
    if (!(a === true || a === false || a === 0 || a === 1)) {
      throw new Error(`${where}: correct[${i}] must be a boolean or 0/1, got ${a}`);
    }
    const b = binIndex(c, m);
    count[b]++;
    sumConf[b] += c;
    sumCorrect[b] += a ? 1 : 0;
  }

  let ece = 0;
  let oe = 0;
  const reliability: ReliabilityBin[] = [];
  for (let b = 0; b < m; b++) {
    const bin: ReliabilityBin = { index: b, lower: b / m, upper: (b + 1) / m, count: count[b], meanConfidence: null, accuracy: null, gap: null };
    if (count[b] > 0) {
      const conf = sumConf[b] / count[b];
      const acc = sumCorrect[b] / count[b];
      const weight = count[b] / n;
      ece += weight * Math.abs(acc - conf);
      oe += weight * conf * Math.max(conf - acc, 0);
      bin.meanConfidence = conf;
      bin.accuracy = acc;
      bin.gap = conf - acc;
    }
    reliability.push(bin);
  }
  return { n, ece, oe, reliability };
}

/** Calibration of a set of predictions (confidence = max softmax, correct = predicted === label). */
export function predictionCalibration(
  predictions: { labels: ArrayLike<number>; predicted: ArrayLike<number>; confidence: ArrayLike<number> },
  options: CalibrationOptions = {},
): CalibrationResult {
  const { labels, predicted, confidence } = predictions;
  if (labels.length !== predicted.length) {
    throw new Error(`predictionCalibration: labels has ${labels.length} entries but predicted has ${predicted.length}`);
  }
  const correct = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) correct[i] = labels[i] === predicted[i] ? 1 : 0;
  return calibration(confidence, correct, options);
}
