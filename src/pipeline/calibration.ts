/**
 * Score normalization and thresholds, computed once at fit time from held-out normal images (or
 * a labelled validation set) and stored in the model. Statistics are over the whole held-out
 * set, never per image: per-image min-max normalization makes every good part glow somewhere.
 *
 * anomaly = -scoreSamples (higher = more anomalous); normalized = (anomaly - center) / scale
 * with center = median and scale = the 5-95 % inter-quantile range of the held-out normal
 * anomaly scores (robust to a stray outlier among a few dozen images).
 */
import { f1Max } from '../eval/roc.js';
import { invalidInput, modelFormat } from '../errors.js';

export interface Calibration {
  center: number;
  scale: number;
  /** Threshold on the normalized score: anomalous when normalized >= threshold. */
  threshold: number;
  /** How the threshold was chosen. */
  method: 'quantile' | 'f1-max';
  /** The quantile (method 'quantile') or the validation F1 (method 'f1-max'). */
  value: number;
  /** How many scores it was computed from. */
  count: number;
}

export function toAnomaly(scoreSamples: Float64Array): Float64Array {
  const out = new Float64Array(scoreSamples.length);
  for (let i = 0; i < out.length; i++) out[i] = -scoreSamples[i];
  return out;
}

/** Linear-interpolation quantile (numpy's default) of unsorted values. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

export function normalize(anomaly: ArrayLike<number>, c: Pick<Calibration, 'center' | 'scale'>): Float64Array {
  const out = new Float64Array(anomaly.length);
  for (let i = 0; i < out.length; i++) out[i] = (anomaly[i] - c.center) / c.scale;
  return out;
}

function normalization(heldOutNormal: ArrayLike<number>): { center: number; scale: number } {
  if (heldOutNormal.length < 2) {
    throw invalidInput(
      'holdout',
      `Calibration needs at least 2 held-out normal images but received ${heldOutNormal.length}; add training images or raise holdout`,
    );
  }
  const center = quantile(heldOutNormal, 0.5);
  let scale = quantile(heldOutNormal, 0.95) - quantile(heldOutNormal, 0.05);
  // All-equal held-out scores: fall back to a unit scale rather than dividing by zero.
  if (!(scale > 0) || !Number.isFinite(scale)) scale = Math.max(Math.abs(center), 1);
  return { center, scale };
}

/**
 * Threshold at the q-quantile of the held-out normal scores (expected false-positive rate 1 - q);
 * q in (0, 1] is checked with the fit options.
 */
export function calibrateFromNormal(heldOutNormal: ArrayLike<number>, q: number): Calibration {
  const n = normalization(heldOutNormal);
  const threshold = quantile(normalize(heldOutNormal, n), q);
  return { ...n, threshold, method: 'quantile', value: q, count: heldOutNormal.length };
}

/**
 * Normalization from the held-out normal scores, threshold F1-optimal on a labelled validation
 * set (label 1 = anomalous).
 */
export function calibrateWithValidation(
  heldOutNormal: ArrayLike<number>,
  validation: ArrayLike<number>,
  labels: ArrayLike<number>,
): Calibration {
  const n = normalization(heldOutNormal);
  const best = f1Max(normalize(validation, n), labels);
  return { ...n, threshold: best.threshold, method: 'f1-max', value: best.f1, count: validation.length };
}

export function checkCalibration(c: unknown, where: string): Calibration {
  const o = c as Calibration;
  const ok =
    o !== null &&
    typeof o === 'object' &&
    Number.isFinite(o.center) &&
    Number.isFinite(o.scale) &&
    o.scale > 0 &&
    Number.isFinite(o.threshold) &&
    (o.method === 'quantile' || o.method === 'f1-max') &&
    Number.isFinite(o.value) &&
    Number.isInteger(o.count);
  if (!ok) throw modelFormat(where, `Model file: invalid calibration in ${where}`);
  return o;
}
