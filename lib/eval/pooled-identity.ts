/**
 * The pooled-e identity, measured on a model's own tensors (notebooks 07-09 assert it live).
 *
 * With a pooled second-stage encoder e(A) = L(mean_positions A) + b ('gap': L = identity; 'fc': a
 * linear layer), aligned feature mixup gives the classifier what latent mixup gives, up to the
 * plan's marginal error. For 'aToB' (eq. 13) with R = r P:
 *
 *   e(mix(A, A~)) - mix(e(A), e(A')) = (1 - lambda) L(mean(A~) - mean(A')),
 *   mean(A~) - mean(A') = sum_j ((P^T 1)_j - 1/r) a'_j,
 *   so  |Delta z| <= (1 - lambda) ||L|| sum_j |(P^T 1)_j - 1/r| |a'_j|              (per example)
 *
 * and for 'bToA' (eq. 14) the same with lambda, the row sums of P and the vectors a_i. ||L|| is
 * bounded by its Frobenius norm (1 for 'gap'). With a converged plan both sides vanish: the
 * alignment cannot reach the classifier. Unaligned feature mixup mix(A, A') equals latent mixup for
 * ANY linear e, 'flat' included. Only a spatial e ('flat') lets aligned differ from latent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BatchLoader, Dataset } from '../data/index';
import { alignFeatures, AlignOptions, gatherPartners, mix } from '../mix/index';
import { AlignMixModel } from '../models/model';
import { EmbeddingKind } from '../models/embedding';
import { Linear } from '../nn/linear';
import { Rng } from '../random';

export interface PooledIdentityReport {
  embedding: EmbeddingKind;
  /** e pools before anything else ('gap', 'fc'): the identity applies. */
  pooled: boolean;
  /** max over the two directions of ||e(aligned mix) - mix(e(A), e(A'))||_F / ||mix(e(A), e(A'))||_F */
  alignedVsLatent: number;
  /** the same for the unaligned mix(A, A') (float error for any linear e) */
  unalignedVsLatent: number;
  /** pooled e: the bound on alignedVsLatent from the plans' marginal errors (NaN for a spatial e) */
  bound: number;
  /** max over problems and directions of the L1 marginal error on the plan's inexact side */
  marginalError: number;
}

const frobenius = (t: tf.Tensor): number => tf.tidy(() => tf.norm(t).dataSync()[0]);

/**
 * Measure the identity on features E(x) of `model` (eval mode), partners `perm`, factor `lambda`
 * and the Sinkhorn settings in `align.sinkhorn`. The model's e must be a vector e ('gap', 'fc',
 * 'flat'); its mean head is used for a VAE.
 */
export function pooledIdentity(model: AlignMixModel, x: tf.Tensor4D, perm: number[], lambda: number, align: Omit<AlignOptions, 'direction'> = {}): PooledIdentityReport {
  const kind = model.embeddingKind;
  if (kind === 'conv') throw new Error("pooledIdentity: the model's e is 'conv' (a tensor Z): the identity concerns vector e ('gap', 'fc', 'flat')");
  const pooled = kind === 'gap' || kind === 'fc';
  const proj = model.embedding.proj;
  const lNorm = proj instanceof Linear ? frobenius(proj.weight) : 1;
  const a = model.features(x, 'eval');
  const b = gatherPartners(a, perm);
  const r = a.shape[1] * a.shape[2];
  const zLatent = tf.tidy(() => mix(model.embed(a), model.embed(b), lambda));
  const latentNorm = frobenius(zLatent);
  const relativeTo = (mixed: tf.Tensor4D) => tf.tidy(() => frobenius(tf.sub(model.embed(mixed), zLatent)) / latentNorm);
  let alignedVsLatent = 0;
  let bound = 0;
  let marginalError = 0;
  for (const direction of ['aToB', 'bToA'] as const) {
    const { aligned, plan } = alignFeatures(a, b, { ...align, direction });
    const mixed = direction === 'aToB' ? mix(a, aligned, lambda) : mix(aligned, b, lambda);
    alignedVsLatent = Math.max(alignedVsLatent, relativeTo(mixed));
    // Inexact side: column sums for aToB (weights of the partner's vectors a'_j), row sums for bToA.
    const [sums, norms] = tf.tidy(() => [
      tf.sub(tf.sum(plan, direction === 'aToB' ? 1 : 2), 1 / r),
      tf.norm(tf.reshape(direction === 'aToB' ? b : a, [a.shape[0], r, -1]), 'euclidean', 2),
    ]);
    const s = sums.arraySync() as number[][];
    const n = norms.arraySync() as number[][];
    const weight = direction === 'aToB' ? 1 - lambda : lambda;
    const perExample = s.map((row, k) => row.reduce((acc, v, j) => acc + Math.abs(v) * n[k][j], 0));
    marginalError = Math.max(marginalError, ...s.map((row) => row.reduce((acc, v) => acc + Math.abs(v), 0)));
    bound = Math.max(bound, (weight * lNorm * Math.hypot(...perExample)) / latentNorm);
    tf.dispose([aligned, plan, mixed, sums, norms]);
  }
  const plain = mix(a, b, lambda);
  const unalignedVsLatent = relativeTo(plain);
  tf.dispose([a, b, zLatent, plain]);
  return { embedding: kind, pooled, alignedVsLatent, unalignedVsLatent, bound: pooled ? bound : NaN, marginalError };
}

/**
 * pooledIdentity on the first `images` items of `data` (evaluation transform), partners from a
 * permutation seeded by `seed`, lambda 1/2 unless given.
 */
export async function pooledIdentityOnData(
  model: AlignMixModel, data: Dataset, align: Omit<AlignOptions, 'direction'>,
  options: { images?: number; seed?: number; lambda?: number } = {},
): Promise<PooledIdentityReport> {
  const images = Math.min(options.images ?? 64, data.size);
  const loader = new BatchLoader(data, { batchSize: images, shuffle: false, workers: 0 });
  try {
    for await (const { x, y } of loader) {
      try {
        return pooledIdentity(model, x, new Rng(options.seed ?? 0).permutation(images), options.lambda ?? 0.5, align);
      } finally {
        tf.dispose([x, y]);
      }
    }
    throw new Error(`pooledIdentityOnData: ${data.name} gave no batch`);
  } finally {
    await loader.close();
  }
}

/** Relative float32 slack of the measured distances. */
const FLOAT_SLACK = 1e-5;
/** Below this relative distance a spatial e would not let the alignment reach z in any useful way. */
export const SPATIAL_MIN_EFFECT = 1e-2;

/**
 * Throw unless the report shows what the arm promises: a pooled e keeps aligned feature mixup
 * within the marginal-error bound of latent mixup; a spatial e lets it differ by at least
 * SPATIAL_MIN_EFFECT; and unaligned feature mixup equals latent mixup for both (e is linear).
 */
export function assertPooledIdentity(report: PooledIdentityReport, where: string): void {
  const { alignedVsLatent: d, bound, unalignedVsLatent: u } = report;
  if (!(u <= FLOAT_SLACK)) throw new Error(`${where}: unaligned feature mixup differs from latent mixup by ${u} through the linear e '${report.embedding}'`);
  if (report.pooled && !(d <= bound * (1 + 1e-3) + FLOAT_SLACK)) {
    throw new Error(`${where}: pooled e '${report.embedding}': aligned vs latent mixup ${d} exceeds the marginal-error bound ${bound}`);
  }
  if (!report.pooled && !(d >= SPATIAL_MIN_EFFECT)) {
    throw new Error(`${where}: spatial e '${report.embedding}': aligned feature mixup is within ${d} of latent mixup; the alignment does not reach z`);
  }
}
