/** The two-stage pipeline: Detector (fit / score / predict / localize / save / load) and its parts. */
export {
  Detector,
  type FitOptions,
  type LoadOptions,
  type ScoreOptions,
  type StreamOptions,
  type ScoreResult,
  type ScoredImage,
  type Heatmap,
  type PipelineImage,
  type Progress,
} from './detector.js';
export {
  detectorKinds,
  type DetectorSpec,
  type DetectorKinds,
  type DetectorKindName,
  type FittedDetector,
} from './registry.js';
export {
  PIPELINE_FORMAT,
  PIPELINE_VERSION,
  readModelFile,
  decodeModelFile,
  type PipelineConfig,
  type StoredDetector,
  type ImageScoreMode,
} from './model-file.js';
export { patchGeometry, type LocalizationOptions, type PatchGeometry } from './features.js';
export type { Calibration } from './calibration.js';
export type { UnreadablePolicy, SkippedImage } from './images.js';
export { writeFileAtomic } from './atomic.js';
