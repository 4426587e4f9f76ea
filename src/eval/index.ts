/** Evaluation metrics: image-level AUROC and F1-max, pixel-level AUROC and AUPRO. */
export {
  rocAuc,
  f1Max,
  rocAucSorted,
  f1MaxSorted,
  splitByLabel,
  type F1Result,
  type Scores,
  type Labels,
  type SplitScores,
} from './roc.js';
export { PixelMetricsAccumulator, labelComponents, type PixelMetrics } from './pixel.js';
export { evaluateDetector, type EvaluationResult } from './evaluate.js';
