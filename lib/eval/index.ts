/** Evaluation: top-1, FGSM/PGD robustness, calibration, OOD detection, WSOL with CAM, the report. */
export type { BatchSource, CamClassifier, Classifier, ImageBatch, LabeledBatch, SourceOptions } from './types';
export { isCamClassifier } from './types';
export { disposeBatch } from './batches';
export type { Predictions, ScoreOptions, SoftmaxRows, Top1Result } from './predict';
export { collectPredictions, maxSoftmaxScores, softmaxRows, topOne } from './predict';
export type { AttackSpec, FgsmOptions, PgdOptions } from './attacks';
export {
  FGSM_DEFAULTS, PGD_DEFAULTS, attackedTopOne, crossEntropyInputGradient, describeAttack, fgsm, makeAttack, pgd,
} from './attacks';
export type { CalibrationOptions, CalibrationResult, ReliabilityBin } from './calibration';
export { DEFAULT_CALIBRATION_BINS, calibration, predictionCalibration } from './calibration';
export type { OodMetrics, OodOptions } from './ood';
export { auroc, averagePrecision, bestDetectionAccuracy, detectionAccuracy, oodMetrics } from './ood';
export type { FitMode, FitOptions, NoiseKind, NoiseOptions, NoiseSetOptions } from './ood-sources';
export {
  GAUSSIAN_NOISE_DEFAULTS, NOISE_KINDS, centerCropImages, fitImages, noiseBatch, noiseImages, resizeImages,
} from './ood-sources';
export type { Box, CamBatch, CamOptions, LocalizationBatch, LocalizationResult } from './cam';
export {
  CAM_DEFAULTS, bestIoU, boxIoU, camBox, classActivationMaps, evaluateLocalization, largestRegionBox, normalizeMinMax,
} from './cam';
export type { CubBatchOptions, CubImage, CubItem, CubMetadata } from './cub';
export { CUB_FILES, cubBatches, loadCubImage, readCubMetadata, rescaleBox } from './cub';
export type {
  EvalPart, EvalProgress, EvaluationOptions, EvaluationReport, LocalizationReportOptions, OodDatasetSpec,
  OodReportOptions, OodSourceResult, ReportRow,
} from './report';
export {
  EVAL_PARTS, REPORT_COLUMNS, evaluateModel, reliabilityToCsv, reportDataFrame, reportToCsv, toCsv, writeReportCsv,
} from './report';
