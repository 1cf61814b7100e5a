/** Minimal module system on tfjs-core: parameters as variables with paths, layers, state dicts. */
export type { Forward4D, LoadStateOptions, Mode, NamedVariable } from './module';
export { Module, Sequential } from './module';
export type { ConvInit } from './init';
export { normalTensor, pytorchDefaultBound, uniformTensor } from './init';
export { pooledSize, sameMatchesSymmetric, symmetricPadding } from './padding';
export type { Conv2dOptions } from './conv';
export { Conv2d } from './conv';
export type { BatchNormOptions } from './batchnorm';
export { BatchNorm2d, batchNormEval, batchNormTrain, batchNormTrainClosedForm } from './batchnorm';
export type { LinearOptions } from './linear';
export { Linear } from './linear';
export { avgPool2d, globalAvgPool, maxPool2d } from './pool';
export type { ResidualUpBlockOptions } from './upsample';
export { ResidualUpBlock, upsampleNearest } from './upsample';
