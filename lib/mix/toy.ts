/**
 * The toy example of main paper Fig. 4: two sets of 2-D "feature vectors" (r points, c = 2),
 * their cost matrix, the transport plan, A aligned to A' and A' aligned to A, and the
 * interpolation paths mix_lambda(A, A~) and mix_lambda(A~', A') (see ./align.ts for the
 * convention: lambda weighs A's content).
 *
 * A is a jittered circle on the left, A' a jittered, tilted square outline on the right whose
 * points are listed in a shuffled order, so pairing by index would be wrong and the alignment
 * has to find the geometric correspondence. Everything runs through the library's own cost,
 * Sinkhorn and alignment code; the result is plain arrays for plotting.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../random';
import { squaredEuclideanCost } from '../ot/cost';
import { SinkhornDiagnostics } from '../ot/diagnostics';
import { assertInRange, assertInt, assertKnownKeys } from '../validate';
import { AlignOptions, alignFeatures } from './align';
import { mix } from './mix';

export type Point = [number, number];

export interface ToyAlignmentOptions {
  /** Seed of the point sets. Default 4. */
  seed?: number;
  /** Points per set, r (>= 4, a multiple of 4 for the square). Default 16. */
  points?: number;
  /** Interpolation factors in [0, 1] for the paths. Default [0, 0.25, 0.5, 0.75, 1]. */
  lambdas?: readonly number[];
  /** Sinkhorn settings for both alignments. Default TOY_SINKHORN. */
  sinkhorn?: AlignOptions['sinkhorn'];
}

/**
 * A sharper plan than the library default: in 2-D the shift between the two sets dominates the
 * spread of the costs, so at eps = 0.1 a row of R puts only ~25% on its main partner; eps = 0.01
 * puts ~80% there and converges in ~130 iterations.
 */
export const TOY_SINKHORN: NonNullable<AlignOptions['sinkhorn']> = { eps: 0.01, maxIter: 1000 };

export interface ToyAlignment {
  /** A: r points (rows = feature vectors). */
  a: Point[];
  /** A': r points. */
  b: Point[];
  /** M_ij = ||a_i - b_j||^2, r x r. */
  cost: number[][];
  /** Plan solved for 'aToB' (rows exact: R = r P is row-stochastic). */
  planAToB: number[][];
  /** Plan solved for 'bToA' (columns exact). */
  planBToA: number[][];
  /** A~ = A' R^T: A aligned to A' (lies on A', indexed like A). */
  aAligned: Point[];
  /** A~' = A R: A' aligned to A (lies on A, indexed like A'). */
  bAligned: Point[];
  lambdas: number[];
  /** pathAToB[k] = lambdas[k] A + (1 - lambdas[k]) A~. */
  pathAToB: Point[][];
  /** pathBToA[k] = lambdas[k] A~' + (1 - lambdas[k]) A'. */
  pathBToA: Point[][];
  diagnostics: { aToB: SinkhornDiagnostics; bToA: SinkhornDiagnostics };
}

/** The two point sets of the toy example, deterministic in `seed`. */
export function toyPointSets(seed: number, points: number): { a: Point[]; b: Point[] } {
  const rng = new Rng(seed);
  const jitter = () => 0.05 * rng.normal();
  const a: Point[] = Array.from({ length: points }, (_, i) => {
    const t = (2 * Math.PI * i) / points;
    return [-1.6 + Math.cos(t) + jitter(), Math.sin(t) + jitter()];
  });
  const perSide = points / 4;
  const tilt = Math.PI / 9;
  const square: Point[] = Array.from({ length: points }, (_, i) => {
    const side = Math.floor(i / perSide);
    const s = -0.8 + (1.6 * (i % perSide)) / perSide; // walk along the side, corners once
    const [x, y] = [[s, -0.8], [0.8, s], [-s, 0.8], [-0.8, -s]][side];
    return [1.6 + x * Math.cos(tilt) - y * Math.sin(tilt) + jitter(), x * Math.sin(tilt) + y * Math.cos(tilt) + jitter()];
  });
  return { a, b: rng.shuffle(square) };
}

/** Compute the whole toy example (see the module comment). Uses tensors internally, frees them all. */
export function toyAlignment(options: ToyAlignmentOptions = {}): ToyAlignment {
  const where = 'toyAlignment';
  assertKnownKeys(where, options, ['seed', 'points', 'lambdas', 'sinkhorn']);
  const points = options.points ?? 16;
  assertInt(where, 'points', points, 4);
  if (points % 4 !== 0) throw new Error(`${where}: points must be a multiple of 4, got ${points}`);
  const lambdas = [...(options.lambdas ?? [0, 0.25, 0.5, 0.75, 1])];
  lambdas.forEach((l, i) => assertInRange(where, `lambdas[${i}]`, l, 0, 1));
  const { a, b } = toyPointSets(options.seed ?? 4, points);

  const at = tf.tensor3d([a]);
  const bt = tf.tensor3d([b]);
  const cost = squaredEuclideanCost(at, bt);
  const sinkhorn = options.sinkhorn ?? TOY_SINKHORN;
  const fwd = alignFeatures(at, bt, { direction: 'aToB', sinkhorn });
  const bwd = alignFeatures(at, bt, { direction: 'bToA', sinkhorn });
  const pathOf = (first: tf.Tensor3D, second: tf.Tensor3D) => lambdas.map((l) => {
    const m = mix(first, second, l);
    const p = m.arraySync()[0] as Point[];
    m.dispose();
    return p;
  });
  const result: ToyAlignment = {
    a, b,
    cost: cost.arraySync()[0],
    planAToB: fwd.plan.arraySync()[0],
    planBToA: bwd.plan.arraySync()[0],
    aAligned: fwd.aligned.arraySync()[0] as Point[],
    bAligned: bwd.aligned.arraySync()[0] as Point[],
    lambdas,
    pathAToB: pathOf(at, fwd.aligned),
    pathBToA: pathOf(bwd.aligned, bt),
    diagnostics: { aToB: fwd.diagnostics, bToA: bwd.diagnostics },
  };
  tf.dispose([at, bt, cost, fwd.aligned, fwd.plan, bwd.aligned, bwd.plan]);
  return result;
}
