/** Mixing operators: mixup of any tensors and labels, partners, CutMix, aligned feature mixup, the toy example. */
export { Lambda, drawLambda, mix, softTargets, SoftTargetOptions } from './mix';
export { assertPermutation, drawPermutation, gatherPartners } from './partners';
export { CutMixBox, CutMixResult, cutMix, cutMixBox } from './cutmix';
export {
  ALIGN_DIRECTIONS, AlignDirection, AlignOptions, AlignedMix, Alignment, FeatureTensor, alignFeatures,
  mixAlignedFeatures, toRows,
} from './align';
export { Point, TOY_SINKHORN, ToyAlignment, ToyAlignmentOptions, toyAlignment, toyPointSets } from './toy';
