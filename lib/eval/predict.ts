/**
 * Predictions of a classifier on a data set, and top-1 accuracy / error.
 *
 * Per image, from the logits l (read back as float32):
 *   p_j = exp(l_j - max l) / sum_i exp(l_i - max l)      softmax, in float64
 *   predicted = argmax_j l_j                             (first index on ties, like tf.argMax)
 *   confidence = max_j p_j = 1 / sum_i exp(l_i - max l)  the max-softmax probability (MSP)
 * The confidence is computed in float64 because a float32 softmax saturates: once the other
 * classes sum below ~6e-8 it returns exactly 1, and confident images would all tie at 1.0,
 * which distorts AUROC/AUPR rankings. The stored probabilities are float32 (n x k can be large).
 *
 * Top-1: accuracy = #{predicted = label} / n, error = 1 - accuracy (fractions; the report gives %).
 */
import * as tf from '@tensorflow/tfjs-core';
import { assertShape } from '../validate';
import { concatChunks, forEachBatch, readLabels } from './batches';
import { BatchSource, Classifier, ImageBatch, LabeledBatch, SourceOptions } from './types';

export interface Predictions {
  numClasses: number;
  /** Number of images. */
  n: number;
  /** [n * numClasses] softmax probabilities, row-major (row i = image i), float32. */
  probabilities: Float32Array;
  /** True class per image. */
  labels: Int32Array;
  /** argmax of the logits per image. */
  predicted: Int32Array;
  /** Max-softmax probability per image (float64, see the module comment). */
  confidence: Float64Array;
}

export interface Top1Result {
  n: number;
  correct: number;
  /** correct / n, in [0, 1]. */
  accuracy: number;
  /** 1 - accuracy. */
  error: number;
}

/** Softmax rows in float64: probabilities (float32), argmax, and the max probability. */
export interface SoftmaxRows {
  probabilities: Float32Array;
  predicted: Int32Array;
  confidence: Float64Array;
}

/**
 * Row-wise softmax of `logits` ([rows * k] row-major) as in the module comment. Throws on
 * non-finite logits (a NaN would otherwise become a silently wrong prediction).
 */
export function softmaxRows(where: string, logits: ArrayLike<number>, k: number): SoftmaxRows {
  const rows = logits.length / k;
  const probabilities = new Float32Array(logits.length);
  const predicted = new Int32Array(rows);
  const confidence = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const o = r * k;
    let arg = 0;
    let max = logits[o];
    for (let j = 0; j < k; j++) {
      const v = logits[o + j];
      if (!Number.isFinite(v)) throw new Error(`${where}: the model returned a non-finite logit (${v}) for image ${r} of the batch, class ${j}`);
      if (v > max) {
        max = v;
        arg = j;
      }
    }
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[o + j] - max);
    for (let j = 0; j < k; j++) probabilities[o + j] = Math.exp(logits[o + j] - max) / sum;
    predicted[r] = arg;
    confidence[r] = 1 / sum;
  }
  return { probabilities, predicted, confidence };
}

/**
 * The model's logits for one batch, read back, with their shape checked against
 * [B, model.numClasses]. Nothing is left allocated.
 */
export function batchLogits(where: string, model: Classifier, x: tf.Tensor4D): Float32Array {
  const logits = tf.tidy(() => model.predictLogits(x));
  try {
    assertShape(where, 'model.predictLogits(x)', logits, [x.shape[0], model.numClasses]);
    return Float32Array.from(logits.dataSync());
  } finally {
    logits.dispose();
  }
}

/** Softmax outputs of the model on one batch (see softmaxRows). */
export function batchSoftmax(where: string, model: Classifier, x: tf.Tensor4D): SoftmaxRows {
  return softmaxRows(where, batchLogits(where, model, x), model.numClasses);
}

export function checkClassifier(where: string, model: Classifier): void {
  if (!model || typeof model.predictLogits !== 'function') {
    throw new Error(`${where}: model must implement Classifier (predictLogits(x) and numClasses), got ${model === null ? 'null' : typeof model}`);
  }
  if (!(Number.isInteger(model.numClasses) && model.numClasses >= 2)) {
    throw new Error(`${where}: model.numClasses must be an integer >= 2, got ${model.numClasses}`);
  }
}

/** Top-1 accuracy and error of `predicted` against `labels` (same length, n > 0). */
export function topOne(labels: ArrayLike<number>, predicted: ArrayLike<number>): Top1Result {
  const where = 'topOne';
  if (labels.length !== predicted.length) {
    throw new Error(`${where}: labels has ${labels.length} entries but predicted has ${predicted.length}`);
  }
  if (labels.length === 0) throw new Error(`${where}: no predictions (empty labels)`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] === predicted[i]) correct++;
  const accuracy = correct / labels.length;
  return { n: labels.length, correct, accuracy, error: 1 - accuracy };
}

/**
 * Run the model over a labelled set and keep everything the metrics need. Batches are checked
 * (labels int32, in range, one per image; logits [B, numClasses], finite).
 */
export async function collectPredictions(
  model: Classifier, data: BatchSource<LabeledBatch>, options: SourceOptions = {},
): Promise<Predictions> {
  const where = 'collectPredictions';
  checkClassifier(where, model);
  const k = model.numClasses;
  const parts: { labels: Int32Array[]; probabilities: Float32Array[]; predicted: Int32Array[]; confidence: Float64Array[] } = {
    labels: [], probabilities: [], predicted: [], confidence: [],
  };
  await forEachBatch(where, 'data', data, options, (batch, i) => {
    const labels = readLabels(where, `data batch ${i} y`, batch.y, batch.x.shape[0], k);
    const soft = batchSoftmax(where, model, batch.x);
    parts.labels.push(labels);
    parts.probabilities.push(soft.probabilities);
    parts.predicted.push(soft.predicted);
    parts.confidence.push(soft.confidence);
  });
  if (parts.labels.length === 0) throw new Error(`${where}: data yielded no batches`);
  const labels = concatChunks(parts.labels, (n) => new Int32Array(n));
  return {
    numClasses: k,
    n: labels.length,
    probabilities: concatChunks(parts.probabilities, (n) => new Float32Array(n)),
    labels,
    predicted: concatChunks(parts.predicted, (n) => new Int32Array(n)),
    confidence: concatChunks(parts.confidence, (n) => new Float64Array(n)),
  };
}

export interface ScoreOptions extends SourceOptions {
  /**
   * Applied to each batch's images before the model sees them (e.g. resize an OOD set to the
   * model's input size, ./ood-sources.ts fitImages). Its output is disposed here.
   */
  transform?: (x: tf.Tensor4D) => tf.Tensor4D;
}

/** Max-softmax scores (float64) of the model on every image of an (unlabelled) set. */
export async function maxSoftmaxScores(
  model: Classifier, data: BatchSource<ImageBatch>, options: ScoreOptions = {},
): Promise<Float64Array> {
  const where = 'maxSoftmaxScores';
  checkClassifier(where, model);
  const chunks: Float64Array[] = [];
  await forEachBatch(where, 'data', data, options, (batch) => {
    const x = options.transform ? options.transform(batch.x) : batch.x;
    try {
      chunks.push(batchSoftmax(where, model, x).confidence);
    } finally {
      if (x !== batch.x) x.dispose();
    }
  });
  if (chunks.length === 0) throw new Error(`${where}: data yielded no batches`);
  return concatChunks(chunks, (n) => new Float64Array(n));
}
