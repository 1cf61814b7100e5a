/**
 * Out-of-distribution detection from a score that is high for in-distribution (ID) images: the
 * maximum softmax probability (MSP, Hendrycks & Gimpel 2017) in the papers (main paper Table 3
 * left, supplementary Tables 7/8). Inputs are the scores of the ID test images (s_in, n_in of
 * them) and of the OOD images (s_out, n_out).
 *
 * Detection accuracy at a threshold t. An image is called ID when s >= t, OOD when s < t
 * ("classified as OOD if the maximum class probability is below a certain threshold, else ID").
 *   DetAcc(t) = 0.5 * TPR(t) + 0.5 * TNR(t),  TPR = #{s_in >= t} / n_in,  TNR = #{s_out < t} / n_out
 * i.e. the accuracy on a mixture with equal ID/OOD priors (ODIN's definition, Liang et al. 2018),
 * which equals the plain accuracy on the pooled set when n_in = n_out (as for the papers' noise
 * sets and same-size test sets). The papers "use a threshold of 0.5": `detAcc` is DetAcc(0.5)
 * on the MSP. `bestDetAcc` is max_t DetAcc(t) over every threshold (Hendrycks & Gimpel / ODIN),
 * reported with the smallest maximising t. The candidates are the distinct scores: any t in
 * between gives the same split as the next score up, and t above every score (all called OOD)
 * gives 0.5, as t = the smallest score (all called ID) does.
 *
 * AUROC = P(s_in > s_out) + 0.5 * P(s_in = s_out) over all n_in * n_out pairs (ties count 1/2),
 * computed with mid-ranks (Mann-Whitney U): exact, O(n log n).
 *
 * AUPR as average precision, step-wise, exactly as scikit-learn's average_precision_score: with
 * the distinct scores of the pooled set as thresholds, taken in decreasing order, and the
 * positives being the images with score >= threshold,
 *   AP = sum_k (R_k - R_{k-1}) * P_k,   R_0 = 0,
 * where P_k, R_k are precision and recall at the k-th threshold (tied scores enter together;
 * no interpolation, no trapezoid).
 *   AUPR-In:  ID positive, score s.
 *   AUPR-Out: OOD positive, score -s (a low MSP means OOD).
 * All values are fractions in [0, 1] (the report gives %).
 */
import { assertInRange, assertKnownKeys } from '../validate';

export interface OodOptions {
  /** Threshold of `detAcc`; default 0.5 (the papers). */
  threshold?: number;
}

export interface OodMetrics {
  nIn: number;
  nOut: number;
  /** DetAcc at `threshold`. */
  detAcc: number;
  threshold: number;
  /** max over thresholds of DetAcc. */
  bestDetAcc: number;
  /** Smallest threshold (one of the scores) reaching bestDetAcc. */
  bestThreshold: number;
  auroc: number;
  auprIn: number;
  auprOut: number;
}

function checkScores(where: string, name: string, scores: ArrayLike<number>): void {
  if (scores.length === 0) throw new Error(`${where}: ${name} is empty; need at least one score`);
  for (let i = 0; i < scores.length; i++) {
    if (typeof scores[i] !== 'number' || Number.isNaN(scores[i])) {
      throw new Error(`${where}: ${name}[${i}] is ${scores[i]}; scores must be numbers (no NaN)`);
    }
  }
}

/** Scores of both sets, sorted ascending, each tagged 1 (positive) or 0. */
function pooledAscending(positive: ArrayLike<number>, negative: ArrayLike<number>): { score: Float64Array; isPositive: Uint8Array } {
  const n = positive.length + negative.length;
  const order = new Array<number>(n);
  const all = new Float64Array(n);
  for (let i = 0; i < positive.length; i++) all[i] = positive[i];
  for (let i = 0; i < negative.length; i++) all[positive.length + i] = negative[i];
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => all[a] - all[b]);
  const score = new Float64Array(n);
  const isPositive = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    score[i] = all[order[i]];
    isPositive[i] = order[i] < positive.length ? 1 : 0;
  }
  return { score, isPositive };
}

/** AUROC of `positive` (expected high) against `negative` scores, ties counting 1/2. */
export function auroc(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  const where = 'auroc';
  checkScores(where, 'positive', positive);
  checkScores(where, 'negative', negative);
  const { score, isPositive } = pooledAscending(positive, negative);
  // Sum of the mid-ranks (1-based) of the positives.
  let rankSum = 0;
  for (let i = 0; i < score.length;) {
    let j = i;
    let positivesInGroup = 0;
    while (j < score.length && score[j] === score[i]) positivesInGroup += isPositive[j++];
    rankSum += positivesInGroup * ((i + 1 + j) / 2);
    i = j;
  }
  const nPos = positive.length;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * negative.length);
}

/** Step-wise average precision of `positive` against `negative` scores (module comment). */
export function averagePrecision(positive: ArrayLike<number>, negative: ArrayLike<number>): number {
  const where = 'averagePrecision';
  checkScores(where, 'positive', positive);
  checkScores(where, 'negative', negative);
  const { score, isPositive } = pooledAscending(positive, negative);
  let tp = 0;
  let fp = 0;
  let ap = 0;
  let prevRecall = 0;
  for (let j = score.length; j > 0;) {
    // The group of scores equal to score[j-1] enters together.
    let i = j;
    while (i > 0 && score[i - 1] === score[j - 1]) {
      i--;
      if (isPositive[i]) tp++;
      else fp++;
    }
    const recall = tp / positive.length;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
    j = i;
  }
  return ap;
}

/** DetAcc(t) = 0.5 #{s_in >= t}/n_in + 0.5 #{s_out < t}/n_out (module comment). */
export function detectionAccuracy(inScores: ArrayLike<number>, outScores: ArrayLike<number>, threshold = 0.5): number {
  const where = 'detectionAccuracy';
  checkScores(where, 'inScores', inScores);
  checkScores(where, 'outScores', outScores);
  if (typeof threshold !== 'number' || Number.isNaN(threshold)) throw new Error(`${where}: threshold must be a number, got ${threshold}`);
  let tp = 0;
  for (let i = 0; i < inScores.length; i++) if (inScores[i] >= threshold) tp++;
  let tn = 0;
  for (let i = 0; i < outScores.length; i++) if (outScores[i] < threshold) tn++;
  return 0.5 * (tp / inScores.length) + 0.5 * (tn / outScores.length);
}

/** max_t DetAcc(t) and the smallest maximising t (module comment). */
export function bestDetectionAccuracy(inScores: ArrayLike<number>, outScores: ArrayLike<number>): { accuracy: number; threshold: number } {
  const where = 'bestDetectionAccuracy';
  checkScores(where, 'inScores', inScores);
  checkScores(where, 'outScores', outScores);
  const { score, isPositive } = pooledAscending(inScores, outScores);
  const nIn = inScores.length;
  const nOut = outScores.length;
  // Sweep t over the distinct scores ascending: with t = score[i], everything below index i
  // (strictly smaller scores) is called OOD.
  let inBelow = 0;
  let outBelow = 0;
  let best = -1;
  let bestThreshold = score[0];
  for (let i = 0; i < score.length;) {
    const accuracy = 0.5 * ((nIn - inBelow) / nIn) + 0.5 * (outBelow / nOut);
    if (accuracy > best) {
      best = accuracy;
      bestThreshold = score[i];
    }
    let j = i;
    while (j < score.length && score[j] === score[i]) {
      if (isPositive[j]) inBelow++;
      else outBelow++;
      j++;
    }
    i = j;
  }
  return { accuracy: best, threshold: bestThreshold };
}

/** All detection metrics of the module comment for one ID/OOD pair of score sets. */
export function oodMetrics(inScores: ArrayLike<number>, outScores: ArrayLike<number>, options: OodOptions = {}): OodMetrics {
  const where = 'oodMetrics';
  assertKnownKeys(where, options, ['threshold']);
  const threshold = options.threshold ?? 0.5;
  assertInRange(where, 'threshold', threshold, -Infinity, Infinity);
  checkScores(where, 'inScores', inScores);
  checkScores(where, 'outScores', outScores);
  const best = bestDetectionAccuracy(inScores, outScores);
  const negate = (s: ArrayLike<number>) => Float64Array.from(s as ArrayLike<number>, (v) => -v);
  return {
    nIn: inScores.length,
    nOut: outScores.length,
    detAcc: detectionAccuracy(inScores, outScores, threshold),
    threshold,
    bestDetAcc: best.accuracy,
    bestThreshold: best.threshold,
    auroc: auroc(inScores, outScores),
    auprIn: averagePrecision(inScores, outScores),
    auprOut: averagePrecision(negate(outScores), negate(inScores)),
  };
}
