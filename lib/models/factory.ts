/**
 * createModel: one typed, validated entry point for every architecture and variant.
 *
 *   createModel({ arch: 'preact-resnet18', numClasses: 100, inputShape: [32, 32, 3] }, rng)
 *     the authors' CIFAR-100 network: A = 4x4x512, z = GAP(A), linear g
 *   createModel({ ..., embedding: 'fc', decoder: true })            AlignMix/AE (main paper)
 *   createModel({ ..., embedding: 'conv', decoder: true, vae: true }) AlignMix/VAE with (M, Sigma)
 *   createModel({ arch: 'resnet50', numClasses: 200, inputShape: [224, 224, 3],
 *                 alignResolution: 'unstrided' }, rng)              CUB WSOL, A = 14x14x2048
 *
 * Unknown option names and values are errors naming the option and the allowed values.
 * Normalisation defaults: 'imagenet' for resnet50, 'fashion-mnist' for 1-channel inputs,
 * 'cifar' otherwise (the authors use it for TinyImageNet too).
 */
import { Rng } from '../random';
import { Linear } from '../nn/linear';
import { assertInt, assertKnownKeys, assertOneOf } from '../validate';
import { ResidualDecoder } from './decoder';
import { EMBEDDINGS, Embedding, EmbeddingKind } from './embedding';
import { ActivationShape, Encoder } from './encoder';
import { AlignMixModel } from './model';
import { Normalization, NormalizationPreset, resolveNormalization } from './normalization';
import { ALIGN_RESOLUTIONS, ARCHS, AlignResolution, Arch, EncoderBuildOptions } from './options';
import { preActResNet18Encoder } from './preact-resnet';
import { resNet50Encoder } from './resnet50';
import { smallCnnEncoder } from './small-cnn';
import { wideResNetEncoder } from './wide-resnet';

export interface ModelOptions {
  arch: Arch;
  numClasses: number;
  /** Pixel input per example [H, W, C]. */
  inputShape: ActivationShape;
  /** Second-stage encoder e (default 'gap'). */
  embedding?: EmbeddingKind;
  /** 'fc' and 'flat' only: dimension of z (default: channels of A). */
  latentDim?: number;
  /** 'conv' only: channels of the latent tensor Z (default 128). */
  latentChannels?: number;
  /** Add the residual-generator decoder D (default false). */
  decoder?: boolean;
  /** Gaussian latent (mu, sigma) for the VAE variant; needs embedding 'fc', 'flat' or 'conv' (default false). */
  vae?: boolean;
  /** Spatial resolution of A (default 'default'); see ./options. */
  alignResolution?: AlignResolution;
  /** Input normalisation preset or constants (default: see above). */
  normalization?: NormalizationPreset | Normalization;
  /** 'small-cnn' only: channel widths of stem and blocks (default [32, 64, 64, 64]). */
  smallCnnWidths?: number[];
}

const OPTION_KEYS: (keyof ModelOptions)[] = [
  'arch', 'numClasses', 'inputShape', 'embedding', 'latentDim', 'latentChannels', 'decoder', 'vae',
  'alignResolution', 'normalization', 'smallCnnWidths',
];

const ENCODERS: Record<Arch, (options: EncoderBuildOptions, rng: Rng, extra: ModelOptions) => Encoder> = {
  'preact-resnet18': (o, rng) => preActResNet18Encoder(o, rng),
  'wrn16-8': (o, rng) => wideResNetEncoder(o, rng, { depth: 16, widenFactor: 8 }),
  'resnet50': (o, rng) => resNet50Encoder(o, rng),
  'small-cnn': (o, rng, extra) => smallCnnEncoder(o, rng, extra.smallCnnWidths),
};

/** Build a model with parameters drawn from `rng`. The caller disposes it (model.dispose()). */
export function createModel(options: ModelOptions, rng: Rng): AlignMixModel {
  const where = 'createModel';
  assertKnownKeys(where, options, OPTION_KEYS);
  const arch = assertOneOf(where, 'arch', String(options.arch), ARCHS);
  assertInt(where, 'numClasses', options.numClasses, 1);
  if (!Array.isArray(options.inputShape) || options.inputShape.length !== 3) {
    throw new Error(`${where}: inputShape must be [height, width, channels], got ${JSON.stringify(options.inputShape)}`);
  }
  options.inputShape.forEach((d, i) => assertInt(where, `inputShape[${i}]`, d, 1));
  const embedding = assertOneOf(where, 'embedding', options.embedding ?? 'gap', EMBEDDINGS);
  const alignResolution = assertOneOf(where, 'alignResolution', options.alignResolution ?? 'default', ALIGN_RESOLUTIONS);
  if (options.latentDim !== undefined && embedding !== 'fc' && embedding !== 'flat') throw new Error(`${where}: latentDim applies to embedding 'fc' or 'flat' only, got embedding '${embedding}'`);
  if (options.latentChannels !== undefined && embedding !== 'conv') throw new Error(`${where}: latentChannels applies to embedding 'conv' only, got embedding '${embedding}'`);
  if (options.smallCnnWidths !== undefined && arch !== 'small-cnn') throw new Error(`${where}: smallCnnWidths applies to arch 'small-cnn' only, got arch '${arch}'`);
  for (const key of ['decoder', 'vae'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new Error(`${where}: ${key} must be a boolean, got ${JSON.stringify(options[key])}`);
  }
  const vae = options.vae ?? false;
  if (vae && embedding === 'gap') throw new Error(`${where}: vae needs embedding 'fc' or 'flat' (mu, sigma vectors) or 'conv' (M, Sigma tensors), got 'gap'`);

  const inputShape: ActivationShape = [options.inputShape[0], options.inputShape[1], options.inputShape[2]];
  const channels = inputShape[2];
  const defaultNorm: NormalizationPreset = arch === 'resnet50' ? 'imagenet' : channels === 1 ? 'fashion-mnist' : 'cifar';
  const normalization = resolveNormalization(where, options.normalization ?? defaultNorm, channels);

  // Parts built before a later part rejects the geometry are disposed, so a failed call leaks nothing.
  const built: { dispose(): void }[] = [];
  try {
    const encoder = ENCODERS[arch]({ inputShape, alignResolution, normalization }, rng, options);
    built.push(encoder);
    const emb = new Embedding({
      kind: embedding, featureShape: encoder.featureShape, gaussian: vae,
      latentDim: options.latentDim, latentChannels: options.latentChannels,
    }, rng);
    built.push(emb);
    const latentSize = emb.latentShape.reduce((a, b) => a * b, 1);
    const classifier = new Linear({ inFeatures: latentSize, outFeatures: options.numClasses }, rng);
    built.push(classifier);
    const decoder = options.decoder ? new ResidualDecoder({ latentShape: emb.latentShape, encoderShapes: encoder.shapes }, rng) : null;
    return new AlignMixModel({ arch, alignResolution, numClasses: options.numClasses, encoder, embedding: emb, classifier, decoder });
  } catch (e) {
    for (const part of built) part.dispose();
    throw e;
  }
}
