/**
 * Evaluating a fitted pipeline on a labelled test set, streaming: images are scored batch by
 * batch; with pixel metrics each heatmap is added to the accumulator with its mask and dropped.
 */
import type { DatasetItem } from '../datasets/types.js';
import { readMask } from '../datasets/mvtec.js';
import { invalidInput } from '../errors.js';
import type { Detector, Progress } from '../pipeline/detector.js';
import type { SkippedImage, UnreadablePolicy } from '../pipeline/images.js';
import { PixelMetricsAccumulator, type PixelMetrics } from './pixel.js';
import { f1Max, type F1Result, rocAuc } from './roc.js';

export interface EvaluationResult {
  images: number;
  anomalies: number;
  imageAuroc: number;
  /** F1-max over thresholds on the normalized score (an oracle threshold, as anomalib reports). */
  imageF1: F1Result;
  /** F1 and counts at the model's own stored threshold (what `predict` does). */
  atModelThreshold: { threshold: number; f1: number; precision: number; recall: number };
  /** AUROC of normal vs each anomalous category (MVTec defect types, CIFAR classes). */
  perCategory: Record<string, number>;
  pixel: PixelMetrics | null;
  scores: { id: string; label: 0 | 1; category?: string; score: number; raw: number }[];
  skipped: SkippedImage[];
}

export async function evaluateDetector(
  detector: Detector,
  test: readonly DatasetItem[],
  options: {
    pixel?: boolean;
    onUnreadable?: UnreadablePolicy;
    allowResize?: boolean;
    batchSize?: number;
    onProgress?: (p: Progress) => void;
  } = {},
): Promise<EvaluationResult> {
  const unlabelled = test.findIndex((t) => t.label !== 0 && t.label !== 1);
  if (unlabelled >= 0) throw invalidInput(test[unlabelled].id, `Test image ${test[unlabelled].id} has no label`);
  const pixel = options.pixel ? new PixelMetricsAccumulator() : null;
  const scores: EvaluationResult['scores'] = [];
  const skipped: SkippedImage[] = [];
  for await (const batch of detector.stream(test, { ...options, heatmaps: pixel !== null })) {
    skipped.push(...batch.skipped);
    for (const item of batch.items) {
      const t = test[item.index];
      scores.push({ id: item.id, label: t.label!, category: t.category, score: item.score, raw: item.raw });
      if (pixel && item.heatmap) {
        const { width, height, data } = item.heatmap;
        const mask = t.label === 1 && t.maskFile ? await readMask(t.maskFile, width, height) : null;
        pixel.add(data, mask, width, height, t.id);
      }
    }
  }
  const s = scores.map((x) => x.score);
  const l = scores.map((x) => x.label);
  const threshold = detector.threshold;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const x of scores) {
    const predicted = x.score >= threshold;
    if (predicted && x.label === 1) tp++;
    else if (predicted) fp++;
    else if (x.label === 1) fn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const perCategory: Record<string, number> = {};
  const normal = scores.filter((x) => x.label === 0);
  for (const cat of new Set(scores.filter((x) => x.label === 1).map((x) => x.category ?? 'anomalous'))) {
    const group = [...normal, ...scores.filter((x) => x.label === 1 && (x.category ?? 'anomalous') === cat)];
    if (normal.length > 0)
      perCategory[cat] = rocAuc(
        group.map((x) => x.score),
        group.map((x) => x.label),
      );
  }
  return {
    images: scores.length,
    anomalies: l.filter((x) => x === 1).length,
    imageAuroc: rocAuc(s, l),
    imageF1: f1Max(s, l),
    atModelThreshold: {
      threshold,
      f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
      precision,
      recall,
    },
    perCategory,
    pixel: pixel ? pixel.compute(0.3) : null,
    scores,
    skipped,
  };
}
