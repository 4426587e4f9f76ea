/**
 * oneclass: deep one-class anomaly detection for Node.js (map of the tree: docs/architecture.md).
 *
 * Stage 1 (src/encoder): self-supervised ONNX encoders turn images into embeddings.
 * Stage 2 (src/detectors): one-class detectors on those embeddings, on CPU or CUDA.
 * Localization (src/localization): patch-score grids to per-pixel heatmaps.
 * Pipeline (src/pipeline): Detector, both stages and calibration in one model file.
 * Serving (src/serve): the dynamic Batcher; the HTTP server is 'oneclass/server', distributed
 * scoring on BullMQ 'oneclass/jobs'.
 */
export { OneclassError, type ErrorCode } from './errors.js';
export { backendInfo, type BackendInfo, type KeptMemory, keptMemory, releaseKeptMemory } from './backend.js';
export type { Matrix, Device, Backend } from './validate.js';
export type { ComputeOptions } from './detectors/common.js';
export {
  KernelDensity,
  bandwidthFromRule,
  BANDWIDTH_RULES,
  type BandwidthRule,
  type KernelDensityOptions,
} from './detectors/kde.js';
export { GaussianDensity, type GaussianDensityOptions } from './detectors/gaussian.js';
export {
  OneClassSVM,
  GAMMA_RULES,
  OCSVM_STARTS,
  type GammaRule,
  type OcsvmStart,
  type OneClassSvmOptions,
} from './detectors/ocsvm.js';
export {
  NearestNeighbors,
  METRICS,
  type Metric,
  type Neighbors,
  type NearestNeighborsOptions,
} from './detectors/knn.js';
export { kCenterGreedy, gaussianProjection, type KCenterOptions, type CoresetSelection } from './detectors/coreset.js';
export { MemoryBank, type MemoryBankOptions, type CoresetOptions } from './detectors/memory-bank.js';
export { PositionalGaussian, type PositionalGaussianOptions } from './detectors/positional-gaussian.js';
export type { FeatureGrids } from './detectors/feature-grids.js';
export {
  upsampleHeatmaps,
  type HeatmapBatch,
  type HeatmapMode,
  type UpsampleOptions,
} from './localization/heatmaps.js';
export { encodeSafetensors, decodeSafetensors, tensor, type Tensor, type DType } from './io/safetensors.js';
export * from './encoder/index.js';
export * from './pipeline/index.js';
export * from './eval/index.js';
export * from './datasets/index.js';
export * from './serve/index.js';
export {
  runCli,
  parseCommandLine,
  COMMANDS,
  CliUsageError,
  EXIT,
  exitCodeFor,
  type ParsedCommandLine,
} from './cli/index.js';
