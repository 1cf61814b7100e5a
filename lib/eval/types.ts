/**
 * What the evaluation code needs from a model and from the data.
 *
 * Models: `Classifier` is all that top-1, the attacks, calibration and OOD detection use;
 * `CamClassifier` adds what class activation maps need (lib/models implements both). Inputs are
 * pixel-space images in [0, 1], NHWC; the model normalises inside, so attacks perturb and clip
 * pixels and never see the normalisation.
 *
 * Data: batches `{ x, y }` (images and int32 labels) from the data loader (an async iterable) or
 * from arrays. Who disposes a batch: see `SourceOptions.disposeBatches`.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Classifier {
  numClasses: number;
  /** Eval mode; pixel-space input in [0,1] NHWC; normalisation happens inside; differentiable w.r.t. x. */
  predictLogits(x: tf.Tensor4D): tf.Tensor2D;
}

export interface CamClassifier extends Classifier {
  /** Last feature maps and the linear classifier on their global average: logits = mean_hw(features) @ weights + bias. */
  camInputs(x: tf.Tensor4D): { features: tf.Tensor4D; weights: tf.Tensor2D; bias?: tf.Tensor1D };
}

/** Images only (an OOD set needs no labels). */
export interface ImageBatch {
  /** [B, H, W, C] float32 pixels in [0, 1]. */
  x: tf.Tensor4D;
}

/** Images with their class labels. */
export interface LabeledBatch extends ImageBatch {
  /** [B] int32 class indices in [0, numClasses). */
  y: tf.Tensor1D;
}

/** A batch source: the data helper's loader (async) or any array / generator of batches. */
export type BatchSource<B extends ImageBatch = LabeledBatch> = AsyncIterable<B> | Iterable<B>;

export interface SourceOptions {
  /**
   * Dispose each batch's tensors once it has been evaluated. Default: true when the source is not
   * an array (a loader or generator hands over fresh tensors per batch, so the consumer owns
   * them), false for arrays (the caller still holds the batches and may evaluate them again).
   */
  disposeBatches?: boolean;
}

/** Is `model` a CamClassifier (has camInputs)? */
export function isCamClassifier(model: Classifier): model is CamClassifier {
  return typeof (model as Partial<CamClassifier>).camInputs === 'function';
}
