/** Mixing operators: mixup of any tensors and labels, partners, CutMix, aligned feature mixup, the toy example. */
export { Lambda, drawLambda, mix, softTargets, SoftTargetOptions } from './mix';
export { assertPermutation, drawPermutation, gatherPartners } from './partners';
export { CutMixBox, CutMixResult, cutMix, cutMixBox } from './cutmix';
export {
  ALIGN_DIRECTIONS, AlignDirection, AlignOptions, AlignedMix, Alignment, FeatureTensor, alignFeatures,
  alignWithPlan, mixAlignedFeatures, mixWithAligned, toRows,
} from './align';
export { RANDOM_PLAN_KINDS, RandomPlan, RandomPlanKind, mixWithRandomPlan, randomPlan } from './random-plan';
export { Point, TOY_SINKHORN, ToyAlignment, ToyAlignmentOptions, toyAlignment, toyPointSets } from './toy';
