/**
 * Named training methods: which mixing modes run (and how often), which second-stage encoder e
 * and which decoder the model has, where the alignment plan comes from, and which source the
 * method follows. A method is what a results table row is called.
 *
 *   baseline            no mixup
 *   input-mixup         Zhang et al.: mix inputs
 *   manifold-mixup      Verma et al.: mix hidden activations at a random layer (input included)
 *   cutmix              Yun et al.: paste a box, labels by area
 *   alignmix            main paper's Algorithm 1: {clean, input, latent, feat, feat'} uniformly,
 *                       with the autoencoder (clean batches: Lr + Lc, the main paper's loss (1))
 *   alignmixup          CVPR'22 supplementary's Algorithm 1: {input, feat, feat'}, no decoder
 *   alignmixup-ae       the supplementary's AlignMixup/AE: {clean, input, feat, feat'} + decoder
 *                       (clean batches: Lr only, its Algorithm 1 line 7)
 *   alignmix-authors    what the authors' public code runs: input 1/2, feat 1/4, feat' 1/4, no
 *                       decoder, their Sinkhorn (reference mode: 100 iterations, stop on
 *                       mean |du| < 0.1, eps 0.1 on raw costs)
 *   alignmixup-unaligned        controls of this project (no paper ran them): AlignMixup's
 *   alignmixup-random-plan      schedule with the plan removed (input 1/3, unaligned feature
 *   alignmixup-random-permutation  mixup 2/3), or replaced by a plan that ignores the features
 *                       (lib/mix/random-plan.ts): the solver's plan for a random cost, or a
 *                       random permutation of the positions
 *   table5-<arch>-<layers>[-unaligned]
 *                       main paper Table 5: arch ae | vae | none, layers x-z | x-A | x-Z | x-A-z
 *
 * The arm: every name takes an optional suffix -gap | -fc | -flat naming the second-stage encoder
 * e (lib/models/embedding.ts). Without it a method keeps the e of its source: 'gap' for the
 * authors' code and the baselines (mix -> average pool -> linear g), 'fc' for the main paper's
 * autoencoder ("a fully-connected layer as stage 2 encoder e for z in R^c", read as acting on the
 * pooled A), 'conv' for Table 5's tensor Z. A pooled e ('gap', 'fc') makes aligned feature mixup
 * feed the classifier exactly what latent mixup feeds it (the pooled-e identity, embedding.ts),
 * so an ablation of alignment needs the spatial arm '-flat' beside the pooled one; {x, Z} has only
 * the spatial arm (Z keeps its 2x2 positions and g reads it flattened). The e is written into
 * config.model.embedding by resolveConfig and checked against the method there.
 */
import { RandomPlanKind } from '../mix/random-plan';
import { EmbeddingKind } from '../models/embedding';
import { MixMode, ModeSchedule, uniformModes } from './modes';

export type DecoderKind = 'none' | 'ae' | 'vae';
export type LatentKind = 'vector' | 'tensor';
/** Where the plan of the aligned modes comes from (lib/mix/random-plan.ts for the controls). */
export type PlanSource = 'sinkhorn' | RandomPlanKind;
export type MethodSource = 'main paper' | 'supplementary' | 'authors\' code' | 'literature' | 'this project';

export interface MethodSpec {
  modes: ModeSchedule;
  /** Which decoder the model needs: none, autoencoder, variational autoencoder. */
  decoder: DecoderKind;
  /** Latent z as a vector or a 128x2x2 tensor Z (Table 5 {x, Z}). */
  latent: LatentKind;
  /** Second-stage encoder e: the arm (pooled 'gap'/'fc', spatial 'flat'/'conv'). */
  embedding: EmbeddingKind;
  /** Sinkhorn solver used by aligned modes. */
  sinkhorn: 'default' | 'reference';
  /** The plan of the aligned modes: Sinkhorn's, or a random control. */
  plan: PlanSource;
  /** The paper, code or literature the mode schedule and e follow. */
  source: MethodSource;
  /** Clean batches with a decoder optimise Lr + Lc (main paper) or, when false, Lr only (supplementary AlignMixup/AE). */
  cleanClassification: boolean;
  description: string;
}

type MethodOptions = Partial<Pick<MethodSpec, 'decoder' | 'latent' | 'embedding' | 'sinkhorn' | 'plan' | 'cleanClassification'>>;

const method = (modes: ModeSchedule, source: MethodSource, description: string, opts: MethodOptions = {}): MethodSpec => ({
  modes, source, description, decoder: 'none', latent: 'vector', embedding: 'gap', sinkhorn: 'default', plan: 'sinkhorn', cleanClassification: true, ...opts,
});

const ALIGNMIXUP_MODES = uniformModes('input', 'feat', 'featPrime');

const BASE_METHODS: Record<string, MethodSpec> = {
  'baseline': method(uniformModes('clean'), 'literature', 'no mixup'),
  'input-mixup': method(uniformModes('input'), 'literature', 'input mixup (Zhang et al. 2018)'),
  'manifold-mixup': method(uniformModes('manifold'), 'literature', 'manifold mixup (Verma et al. 2019)'),
  'cutmix': method(uniformModes('cutmix'), 'literature', 'CutMix (Yun et al. 2019)'),
  'alignmix': method(uniformModes('clean', 'input', 'latent', 'feat', 'featPrime'), 'main paper',
    'AlignMix, main paper Algorithm 1 (clean: reconstruction + classification, input, latent, feat, feat\')', { decoder: 'ae', embedding: 'fc' }),
  'alignmixup': method(ALIGNMIXUP_MODES, 'supplementary',
    'AlignMixup, CVPR\'22 supplementary Algorithm 1 (input, feat, feat\'), e of the authors\' code'),
  'alignmixup-ae': method(uniformModes('clean', 'input', 'feat', 'featPrime'), 'supplementary',
    'AlignMixup/AE, CVPR\'22 supplementary Algorithm 1 (clean: reconstruction only, input, feat, feat\')', { decoder: 'ae', embedding: 'fc', cleanClassification: false }),
  'alignmix-authors': method(
    [{ mode: 'input', weight: 2 }, { mode: 'feat', weight: 1 }, { mode: 'featPrime', weight: 1 }], 'authors\' code',
    'the authors\' public code: input 1/2, feat 1/4, feat\' 1/4, their Sinkhorn', { sinkhorn: 'reference' }),
  'alignmixup-unaligned': method([{ mode: 'input', weight: 1 }, { mode: 'featPlain', weight: 2 }], 'this project',
    'control: AlignMixup\'s schedule without alignment (input 1/3, unaligned feature mixup 2/3)'),
  'alignmixup-random-plan': method(ALIGNMIXUP_MODES, 'this project',
    'control: AlignMixup with the Sinkhorn plan of a random cost in place of the features\' plan', { plan: 'random-plan' }),
  'alignmixup-random-permutation': method(ALIGNMIXUP_MODES, 'this project',
    'control: AlignMixup with a random permutation of the positions in place of the plan', { plan: 'random-permutation' }),
};

/** Table 5 layer sets: modes for each set, aligned or not. "A" aligned means both directions. */
function table5Modes(layers: string, aligned: boolean): MixMode[] | null {
  switch (layers) {
    case 'x-z': return aligned ? null : ['clean', 'input', 'latent'];
    case 'x-A': return aligned ? ['clean', 'input', 'feat', 'featPrime'] : ['clean', 'input', 'featPlain'];
    case 'x-Z': return aligned ? ['clean', 'input', 'latentAligned', 'latentAlignedPrime'] : ['clean', 'input', 'latent'];
    case 'x-A-z': return aligned ? ['clean', 'input', 'latent', 'feat', 'featPrime'] : ['clean', 'input', 'latent', 'featPlain'];
    default: return null;
  }
}

function table5Method(name: string): MethodSpec | null {
  const m = /^table5-(ae|vae|none)-(x-z|x-A|x-Z|x-A-z)(-unaligned)?$/.exec(name);
  if (!m) return null;
  const [, arch, layers, unaligned] = m;
  const modes = table5Modes(layers, !unaligned);
  if (!modes) return null; // {x, z} with a vector z has no aligned variant (Table 5: "-")
  return method(uniformModes(...modes), 'main paper', `Table 5: AlignMix/${arch === 'none' ? '-' : arch.toUpperCase()} {${layers.split('-').join(', ')}} ${unaligned ? 'unaligned' : 'aligned'}`, {
    decoder: arch as DecoderKind,
    latent: layers === 'x-Z' ? 'tensor' : 'vector',
    embedding: layers === 'x-Z' ? 'conv' : arch === 'none' ? 'gap' : 'fc',
  });
}

/** Suffixes naming the arm (the second-stage encoder e). */
export const ARM_SUFFIXES = ['gap', 'fc', 'flat'] as const;

/** The method without an arm suffix, or null for an unknown name. */
function baseMethod(name: string): MethodSpec | null {
  return BASE_METHODS[name] ?? table5Method(name);
}

/** Every method name without an arm suffix, including all valid Table 5 combinations. */
export function methodNames(): string[] {
  const t5: string[] = [];
  for (const arch of ['ae', 'vae', 'none']) {
    for (const layers of ['x-z', 'x-A', 'x-Z', 'x-A-z']) {
      for (const suffix of ['', '-unaligned']) {
        const name = `table5-${arch}-${layers}${suffix}`;
        if (table5Method(name)) t5.push(name);
      }
    }
  }
  return [...Object.keys(BASE_METHODS), ...t5];
}

/**
 * The spec of a method name: a base name, optionally followed by an arm suffix (-gap, -fc,
 * -flat) replacing the source's e. Throws on unknown names and on arms the method cannot have
 * (a tensor Z keeps its conv e; a VAE needs parameters in e, so not 'gap').
 */
export function methodSpec(name: string): MethodSpec {
  const direct = baseMethod(name);
  if (direct) return direct;
  const m = new RegExp(`^(.+)-(${ARM_SUFFIXES.join('|')})$`).exec(name);
  const base = m ? baseMethod(m[1]) : null;
  if (!m || !base) {
    throw new Error(`Unknown method '${name}'; known: ${Object.keys(BASE_METHODS).join(', ')}, table5-<ae|vae|none>-<x-z|x-A|x-Z|x-A-z>[-unaligned], each optionally with an arm suffix -${ARM_SUFFIXES.join(' | -')}`);
  }
  const embedding = m[2] as EmbeddingKind;
  if (base.latent === 'tensor') {
    throw new Error(`method '${name}': '${m[1]}' mixes the latent tensor Z, whose e is the 2x2 convolution (the spatial arm already); drop the suffix -${embedding}`);
  }
  if (base.decoder === 'vae' && embedding === 'gap') {
    throw new Error(`method '${name}': a VAE needs parameters in e (mu and sigma heads); use -fc or -flat`);
  }
  return { ...base, embedding, description: `${base.description}; e = ${embedding}` };
}
