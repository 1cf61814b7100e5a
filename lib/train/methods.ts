/**
 * Named training methods: which mixing modes run (and how often), which latent/decoder variant
 * the model needs, and the Sinkhorn settings. A method is what a results table row is called.
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
 *   table5-<arch>-<layers>[-unaligned]
 *                       main paper Table 5: arch ae | vae | none, layers x-z | x-A | x-Z | x-A-z
 */
import { MixMode, ModeSchedule, uniformModes } from './modes';

export type DecoderKind = 'none' | 'ae' | 'vae';
export type LatentKind = 'vector' | 'tensor';

export interface MethodSpec {
  modes: ModeSchedule;
  /** Which decoder the model needs: none, autoencoder, variational autoencoder. */
  decoder: DecoderKind;
  /** Latent z as a vector or a 128x2x2 tensor Z (Table 5 {x, Z}). */
  latent: LatentKind;
  /** Sinkhorn solver used by aligned modes. */
  sinkhorn: 'default' | 'reference';
  /** Clean batches with a decoder optimise Lr + Lc (main paper) or, when false, Lr only (supplementary AlignMixup/AE). */
  cleanClassification: boolean;
  description: string;
}

const method = (
  modes: ModeSchedule, description: string,
  opts: Partial<Pick<MethodSpec, 'decoder' | 'latent' | 'sinkhorn' | 'cleanClassification'>> = {},
): MethodSpec => ({ modes, description, decoder: 'none', latent: 'vector', sinkhorn: 'default', cleanClassification: true, ...opts });

const BASE_METHODS: Record<string, MethodSpec> = {
  'baseline': method(uniformModes('clean'), 'no mixup'),
  'input-mixup': method(uniformModes('input'), 'input mixup (Zhang et al. 2018)'),
  'manifold-mixup': method(uniformModes('manifold'), 'manifold mixup (Verma et al. 2019)'),
  'cutmix': method(uniformModes('cutmix'), 'CutMix (Yun et al. 2019)'),
  'alignmix': method(uniformModes('clean', 'input', 'latent', 'feat', 'featPrime'),
    'AlignMix, main paper Algorithm 1 (clean: reconstruction + classification, input, latent, feat, feat\')', { decoder: 'ae' }),
  'alignmixup': method(uniformModes('input', 'feat', 'featPrime'),
    'AlignMixup, CVPR\'22 supplementary Algorithm 1 (input, feat, feat\')'),
  'alignmixup-ae': method(uniformModes('clean', 'input', 'feat', 'featPrime'),
    'AlignMixup/AE, CVPR\'22 supplementary Algorithm 1 (clean: reconstruction only, input, feat, feat\')',
    { decoder: 'ae', cleanClassification: false }),
  'alignmix-authors': method(
    [{ mode: 'input', weight: 2 }, { mode: 'feat', weight: 1 }, { mode: 'featPrime', weight: 1 }],
    'the authors\' public code: input 1/2, feat 1/4, feat\' 1/4, their Sinkhorn', { sinkhorn: 'reference' }),
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
  return method(uniformModes(...modes), `Table 5: AlignMix/${arch === 'none' ? '-' : arch.toUpperCase()} {${layers.split('-').join(', ')}} ${unaligned ? 'unaligned' : 'aligned'}`, {
    decoder: arch as DecoderKind,
    latent: layers === 'x-Z' ? 'tensor' : 'vector',
  });
}

/** Every method name, including all valid Table 5 combinations. */
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

export function methodSpec(name: string): MethodSpec {
  const spec = BASE_METHODS[name] ?? table5Method(name);
  if (!spec) throw new Error(`Unknown method '${name}'; known: ${Object.keys(BASE_METHODS).join(', ')}, table5-<ae|vae|none>-<x-z|x-A|x-Z|x-A-z>[-unaligned]`);
  return spec;
}
