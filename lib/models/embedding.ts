/**
 * Second-stage encoder e: A -> z (main paper Sec. 3.1 and 4.4).
 *
 *   'gap'   z = mean_hw(A) in R^c: global average pooling, no parameters (the authors' public
 *           code, where g is then the only layer after E).
 *   'fc'    z = mean_hw(A) W + b in R^d (d defaults to c): the paper's "fully-connected layer as
 *           stage 2 encoder e", applied to the pooled features. No activation, as written.
 *   'flat'  z = vec(A) W + b in R^d (d defaults to c): the same layer on the flattened tensor, so
 *           z depends on WHERE each feature vector sits, not only on their mean.
 *   'conv'  Z = conv2x2_stride2(A) with 128 channels: the 128 x 2 x 2 latent tensor of Table 5
 *           ({x, Z}); the classifier then acts on the flattened Z.
 *
 * Why 'flat' exists. 'gap' and 'fc' pool first, and pooling is linear, so for the aligned tensor
 * A~ = A' R^T:  mean_i A~_i = (1/r) sum_j (sum_i R_ij) a'_j. When the columns of R sum to 1 (the
 * authors' solver makes them exact; ours within the marginal tolerance) that is mean(A'), and
 * e(mix(A, A~)) = mix(e(A), e(A')): aligned feature mixup feeds the classifier exactly what
 * latent mixup would, whatever the plan (test/mix/align.test.ts checks the bound). Only a
 * spatial e ('flat', or 'conv' for a tensor Z) lets the alignment itself reach z, the
 * classifier and the decoder (notebooks/11-alignment-on-images.ipynb).
 *
 * Gaussian (VAE) heads replace the single projection by two of the same form, mu and logVar, and
 * return (mu, sigma = exp(logVar / 2)): vectors (mu, sigma) for 'fc', tensors (M, Sigma) for
 * 'conv'. A VAE needs parameters in e, so 'gap' has no Gaussian form.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { globalAvgPool } from '../nn/pool';
import { assertInt, assertShape } from '../validate';
import { ActivationShape } from './encoder';

export const EMBEDDINGS = ['gap', 'fc', 'flat', 'conv'] as const;
export type EmbeddingKind = (typeof EMBEDDINGS)[number];

export interface EmbeddingOptions {
  kind: EmbeddingKind;
  /** Shape of A per example. */
  featureShape: ActivationShape;
  /** 'fc' and 'flat' only: dimension d of z (default: the channels c of A). */
  latentDim?: number;
  /** 'conv' only: channels of Z (default 128). */
  latentChannels?: number;
  /** Two heads (mu, logVar) for the VAE variant. */
  gaussian: boolean;
}

export class Embedding extends Module {
  readonly kind: EmbeddingKind;
  readonly gaussian: boolean;
  readonly featureShape: ActivationShape;
  /** Shape of z per example: [d] or [h, w, c]. */
  readonly latentShape: number[];
  /** The projection giving z (the mean mu for a Gaussian head); null for 'gap'. */
  readonly proj: Linear | Conv2d | null;
  /** Gaussian heads only: the log-variance projection. */
  readonly logVar: Linear | Conv2d | null;

  constructor(options: EmbeddingOptions, rng: Rng) {
    super();
    const { kind, featureShape, gaussian } = options;
    const [h, w, c] = featureShape;
    this.kind = kind;
    this.gaussian = gaussian;
    this.featureShape = featureShape;
    if (gaussian && kind === 'gap') throw new Error(`Embedding: a Gaussian (VAE) head needs embedding 'fc', 'flat' or 'conv', not 'gap'`);
    const make = (): Linear | Conv2d => {
      if (kind === 'fc' || kind === 'flat') return new Linear({ inFeatures: kind === 'fc' ? c : h * w * c, outFeatures: options.latentDim ?? c }, rng);
      if (h < 2 || w < 2) throw new Error(`Embedding: 'conv' needs A of at least 2x2, got ${h}x${w}`);
      return new Conv2d({ inChannels: c, outChannels: options.latentChannels ?? 128, kernelSize: 2, stride: 2 }, rng);
    };
    if (options.latentDim !== undefined) assertInt('Embedding', 'latentDim', options.latentDim, 1);
    if (options.latentChannels !== undefined) assertInt('Embedding', 'latentChannels', options.latentChannels, 1);
    this.proj = kind === 'gap' ? null : this.registerModule('proj', make());
    this.logVar = gaussian ? this.registerModule('logVar', make()) : null;
    this.latentShape = kind === 'gap' ? [c]
      : kind === 'fc' || kind === 'flat' ? [options.latentDim ?? c]
        : [Math.floor(h / 2), Math.floor(w / 2), options.latentChannels ?? 128];
  }

  /** z = e(A) ([B, d] or [B, h, w, c]); for a Gaussian head the mean mu. Result in the current tidy scope. */
  forward(a: tf.Tensor4D): tf.Tensor {
    assertShape('Embedding.forward', 'A', a, [null, ...this.featureShape]);
    return this.proj ? this.apply(this.proj, a) : globalAvgPool(a);
  }

  /** (mu, sigma) of the Gaussian head. Results in the current tidy scope. */
  forwardGaussian(a: tf.Tensor4D): { mu: tf.Tensor; sigma: tf.Tensor } {
    if (!this.proj || !this.logVar) throw new Error(`Embedding.forwardGaussian: this embedding ('${this.kind}') has no Gaussian head (create the model with vae: true)`);
    assertShape('Embedding.forwardGaussian', 'A', a, [null, ...this.featureShape]);
    return { mu: this.apply(this.proj, a), sigma: tf.exp(tf.mul(this.apply(this.logVar, a), 0.5)) };
  }

  private apply(head: Linear | Conv2d, a: tf.Tensor4D): tf.Tensor {
    if (!(head instanceof Linear)) return head.forward(a);
    return head.forward(this.kind === 'flat' ? tf.reshape(a, [a.shape[0], -1]) as tf.Tensor2D : globalAvgPool(a));
  }
}
