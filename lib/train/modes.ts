/**
 * Per-batch mixing modes and the scheduler that draws one per mini-batch (Algorithm 1, line 2).
 *
 * Modes (x: input, A: feature tensor E(x), z: latent e(A); a latent tensor Z when the model's
 * embedding is the 2x2 stride-2 convolution):
 *   clean       no mixing; classification loss, plus reconstruction (and KL) when the model has a
 *               decoder (AlignMix/AE, /VAE).
 *   input       z = e(E(mix(x, x')))                                   input mixup, eq. (3),(4)
 *   latent      z = mix(e(E x), e(E x'))                               eq. (3),(6); with a VAE the
 *               two heads (mu, sigma) are mixed simultaneously
 *   feat        z = e(mix(A, A~)),  A~ = A' R^T  (A aligned to A')     eq. (11),(13)
 *   featPrime   z = e(mix(A', A~')), A~' = A R (A' aligned to A)       eq. (12),(14); Algorithm 1
 *               swaps (x, y) and (x', y') and runs feat
 *   featPlain   z = e(mix(A, A')) without alignment                    Table 5 "unaligned"
 *   latentAligned / latentAlignedPrime
 *               the same two alignments applied to the latent tensor Z (Table 5 {x, Z} aligned)
 *   manifold    mix hidden activations at a random layer k (Verma et al.; k = 0 is the input)
 *   cutmix      paste a box of x' into x; labels weighted by the real box area (Yun et al.)
 *
 * Which modes run and how often is configuration: a `ModeSchedule` lists modes with weights.
 * Named method presets (lib/train/methods.ts) cover the papers, the authors' code, the baselines
 * and the ablations.
 */
import { Rng } from '../random';

export const MIX_MODES = [
  'clean', 'input', 'latent', 'feat', 'featPrime', 'featPlain',
  'latentAligned', 'latentAlignedPrime', 'manifold', 'cutmix',
] as const;
export type MixMode = (typeof MIX_MODES)[number];

export type ModeSchedule = { mode: MixMode; weight: number }[];

/** Modes that solve an optimal-transport problem. */
export function usesAlignment(mode: MixMode): boolean {
  return mode === 'feat' || mode === 'featPrime' || mode === 'latentAligned' || mode === 'latentAlignedPrime';
}

/** Equal weights for the listed modes. */
export function uniformModes(...modes: MixMode[]): ModeSchedule {
  return modes.map((mode) => ({ mode, weight: 1 }));
}

export function validateModeSchedule(s: ModeSchedule): void {
  if (!Array.isArray(s) || s.length === 0) throw new Error('Mode schedule must list at least one mode');
  const seen = new Set<string>();
  for (const { mode, weight } of s) {
    if (!(MIX_MODES as readonly string[]).includes(mode)) {
      throw new Error(`Unknown mix mode '${mode}'; known: ${MIX_MODES.join(', ')}`);
    }
    if (seen.has(mode)) throw new Error(`Mix mode '${mode}' listed twice in the schedule`);
    seen.add(mode);
    if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`Mix mode '${mode}' has weight ${weight}; weights must be > 0`);
  }
}

/**
 * Parse "input:2,feat:1,featPrime:1" (weights default to 1) — the CLI form of a schedule.
 */
export function parseModeSchedule(text: string): ModeSchedule {
  const s = text.split(',').map((part) => {
    const [mode, w] = part.trim().split(':');
    return { mode: mode as MixMode, weight: w === undefined ? 1 : Number(w) };
  });
  validateModeSchedule(s);
  return s;
}

/** Probability of each mode under the schedule. */
export function modeProbabilities(s: ModeSchedule): Partial<Record<MixMode, number>> {
  const total = s.reduce((a, m) => a + m.weight, 0);
  return Object.fromEntries(s.map((m) => [m.mode, m.weight / total]));
}

/** Draw the mode of one mini-batch. */
export function drawMode(s: ModeSchedule, rng: Rng): MixMode {
  return s[rng.categorical(s.map((m) => m.weight))].mode;
}
