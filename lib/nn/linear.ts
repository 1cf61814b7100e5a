/**
 * Fully-connected layer: y = x W + b with W of shape [in, out] (PyTorch stores W^T, [out, in]).
 * Initialisation: PyTorch's default, W and b ~ U(-1/sqrt(in), 1/sqrt(in)) (see ./init).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { assertInt, assertShape } from '../validate';
import { pytorchDefaultBound, uniformTensor } from './init';
import { Module } from './module';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Default true. */
  bias?: boolean;
}

export class Linear extends Module {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(options: LinearOptions, rng: Rng) {
    super();
    const { inFeatures, outFeatures, bias = true } = options;
    assertInt('Linear', 'inFeatures', inFeatures, 1);
    assertInt('Linear', 'outFeatures', outFeatures, 1);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const bound = pytorchDefaultBound(inFeatures);
    this.weight = this.registerParameter('weight', uniformTensor([inFeatures, outFeatures], -bound, bound, rng));
    this.bias = bias ? this.registerParameter('bias', uniformTensor([outFeatures], -bound, bound, rng)) : null;
  }

  /** x: [B, in] -> [B, out]. Result in the current tidy scope. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    assertShape('Linear.forward', 'x', x, [null, this.inFeatures]);
    const y = tf.matMul(x, this.weight) as tf.Tensor2D;
    return this.bias ? (tf.add(y, this.bias) as tf.Tensor2D) : y;
  }
}
