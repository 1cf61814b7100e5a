/**
 * The AlignMix model: stage-1 encoder E, second-stage encoder e, classifier g and optional
 * decoder D (main paper Sec. 3.1, Fig. 2):
 *
 *   A = E(x)            feature tensor [B, h, w, c], the tensor that is aligned and mixed
 *   z = e(A)            latent: vector [B, d] or tensor Z [B, h', w', c']; (mu, sigma) for a VAE
 *   logits = g(z)       linear classifier on z (flattened when z is a tensor)
 *   x_hat = D(z)        residual generator, output in (0, 1)
 *
 * Manifold mixup at layer k (0 <= k <= numStages; 0 = input): h = featuresRange(x, 0, k), mix h
 * with its partner rows, then A = featuresRange(h_mixed, k, numStages).
 *
 * Images are pixel-space NHWC in [0, 1]; E normalises inside. Every method that runs BN takes
 * the mode explicitly. Every method returns new tensors that the CALLER disposes; intermediates
 * are released (tf.tidy), also when called inside tf.variableGrads.
 *
 * Evaluation interfaces (lib/eval): `numClasses`, `predictLogits(x)` (eval mode, differentiable
 * in x) and `camInputs(x)` for class activation maps.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CamClassifier } from '../eval/types';
import { Linear } from '../nn/linear';
import { Mode, Module, NamedVariable } from '../nn/module';
import { assertShape } from '../validate';
import { ResidualDecoder } from './decoder';
import { Embedding, EmbeddingKind } from './embedding';
import { ActivationShape, Encoder } from './encoder';
import { AlignResolution, Arch } from './options';

/** Optimiser parameter groups: the classifier g, and everything else (ImageNet/CUB give g its own lr). */
export interface ModelParamGroup {
  name: 'classifier' | 'body';
  params: NamedVariable[];
}

export interface AlignMixModelParts {
  arch: Arch;
  alignResolution: AlignResolution;
  numClasses: number;
  encoder: Encoder;
  embedding: Embedding;
  classifier: Linear;
  decoder: ResidualDecoder | null;
}

export class AlignMixModel extends Module implements CamClassifier {
  readonly arch: Arch;
  readonly alignResolution: AlignResolution;
  readonly numClasses: number;
  readonly encoder: Encoder;
  readonly embedding: Embedding;
  readonly classifier: Linear;
  readonly decoder: ResidualDecoder | null;

  constructor(parts: AlignMixModelParts) {
    super();
    this.arch = parts.arch;
    this.alignResolution = parts.alignResolution;
    this.numClasses = parts.numClasses;
    this.encoder = this.registerModule('encoder', parts.encoder);
    this.embedding = this.registerModule('embedding', parts.embedding);
    this.classifier = this.registerModule('classifier', parts.classifier);
    this.decoder = parts.decoder ? this.registerModule('decoder', parts.decoder) : null;
  }

  /** Pixel input shape per example [H, W, C]. */
  get inputShape(): ActivationShape {
    return this.encoder.inputShape;
  }

  /** Shape of A per example [h, w, c]. */
  get featureShape(): ActivationShape {
    return this.encoder.featureShape;
  }

  /** Shape of z per example ([d] or [h, w, c]). */
  get latentShape(): number[] {
    return this.embedding.latentShape;
  }

  get embeddingKind(): EmbeddingKind {
    return this.embedding.kind;
  }

  get isVae(): boolean {
    return this.embedding.gaussian;
  }

  /** Number of encoder stages n: manifold mixup may mix h_k for k = 0 (input) .. n (A). */
  get numStages(): number {
    return this.encoder.numStages;
  }

  /** A = E(x). */
  features(x: tf.Tensor4D, mode: Mode): tf.Tensor4D {
    assertShape('AlignMixModel.features', 'x', x, [null, ...this.inputShape]);
    return tf.tidy(() => this.encoder.forward(x, mode));
  }

  /** h_to from h_from (h_0 = pixels, h_n = A); see Encoder.forwardRange. */
  featuresRange(h: tf.Tensor4D, from: number, to: number, mode: Mode): tf.Tensor4D {
    return tf.tidy(() => {
      const out = this.encoder.forwardRange(h, from, to, mode);
      return out === h ? tf.clone(h) : out;
    });
  }

  /** z = e(A); for a VAE the mean mu (the deterministic latent used for prediction). */
  embed(a: tf.Tensor4D): tf.Tensor {
    return tf.tidy(() => this.embedding.forward(a));
  }

  /** VAE only: (mu, sigma) of the Gaussian latent; sample with `reparameterize` (./vae). */
  embedGaussian(a: tf.Tensor4D): { mu: tf.Tensor; sigma: tf.Tensor } {
    return tf.tidy(() => this.embedding.forwardGaussian(a));
  }

  /** logits = g(z), [B, numClasses]; a tensor z is flattened first. */
  classify(z: tf.Tensor): tf.Tensor2D {
    assertShape('AlignMixModel.classify', 'z', z, [null, ...this.latentShape]);
    return tf.tidy(() => this.classifier.forward(tf.reshape(z, [z.shape[0], -1]) as tf.Tensor2D));
  }

  /** x_hat = D(z), in (0, 1) with the input's shape. Throws when the model has no decoder. */
  decode(z: tf.Tensor, mode: Mode): tf.Tensor4D {
    if (!this.decoder) throw new Error('AlignMixModel.decode: this model has no decoder (create it with decoder: true)');
    const decoder = this.decoder;
    return tf.tidy(() => decoder.forward(z, mode));
  }

  /** g(e(E(x))) in the given mode (for a VAE, through mu). */
  logits(x: tf.Tensor4D, mode: Mode): tf.Tensor2D {
    return tf.tidy(() => {
      const a = this.features(x, mode);
      return this.classify(this.embed(a));
    });
  }

  /** Eval-mode logits for pixel input; differentiable w.r.t. x (attacks). */
  predictLogits(x: tf.Tensor4D): tf.Tensor2D {
    return this.logits(x, 'eval');
  }

  /**
   * Class activation map inputs (eval mode): logits = mean_hw(features) @ weights + bias.
   * 'gap': weights/bias are g's. 'fc' (also a VAE's mu head): e and g are both linear after the
   * pooling, so weights = W_e W_g and bias = b_e W_g + b_g reproduce the logits exactly.
   * 'flat' and 'conv' latents are not a pooled linear map of A: throws. All returned tensors are new.
   */
  camInputs(x: tf.Tensor4D): { features: tf.Tensor4D; weights: tf.Tensor2D; bias?: tf.Tensor1D } {
    const proj = this.embedding.proj;
    if (proj && (!(proj instanceof Linear) || this.embedding.kind === 'flat')) {
      throw new Error(`AlignMixModel.camInputs: needs embedding 'gap' or 'fc', this model's is '${this.embedding.kind}'`);
    }
    return tf.tidy(() => {
      const features = this.features(x, 'eval');
      const wg = this.classifier.weight as tf.Tensor2D;
      const bg = this.classifier.bias as tf.Tensor1D | null;
      if (!proj) return { features, weights: tf.clone(wg), ...(bg ? { bias: tf.clone(bg) } : {}) };
      const we = proj.weight as tf.Tensor2D;
      const weights = tf.matMul(we, wg) as tf.Tensor2D;
      let bias: tf.Tensor1D | null = proj.bias ? tf.squeeze(tf.matMul(tf.expandDims(proj.bias, 0), wg), [0]) as tf.Tensor1D : null;
      if (bg) bias = bias ? tf.add(bias, bg) as tf.Tensor1D : tf.clone(bg);
      return { features, weights, ...(bias ? { bias } : {}) };
    });
  }

  /** Parameters of g ('classifier') and of everything else ('body'), as [path, variable]. */
  parameterGroups(): ModelParamGroup[] {
    const all = this.namedParameters();
    const isClassifier = (path: string) => path.startsWith('classifier.');
    return [
      { name: 'classifier', params: all.filter(([p]) => isClassifier(p)) },
      { name: 'body', params: all.filter(([p]) => !isClassifier(p)) },
    ];
  }
}
