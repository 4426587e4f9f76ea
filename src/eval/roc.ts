/**
 * Ranking metrics for anomaly scores. Convention everywhere in src/eval: a HIGHER score means
 * MORE anomalous, and label 1 (or true) marks an anomaly, as scikit-learn's roc_auc_score expects
 * when it is given anomaly scores. (Detectors score "higher = more normal"; the pipeline negates.)
 *
 * Scores of the two classes are split and each sorted with the typed-array native sort (no
 * comparator): that keeps pixel-level metrics over tens of millions of pixels fast and at
 * 4 bytes per pixel. Tied scores are handled exactly (AUROC counts a tie as one half, which is
 * scikit-learn's trapezoidal roc_auc_score).
 */
import { invalidInput } from '../errors.js';

export type Scores = ArrayLike<number>;
export type Labels = ArrayLike<number | boolean>;

export interface SplitScores {
  /** Scores of the anomalies, ascending. */
  positive: Float64Array | Float32Array;
  /** Scores of the normal samples, ascending. */
  negative: Float64Array | Float32Array;
}

/** Validates and splits scores by label; names the first bad index in errors. */
export function splitByLabel(what: string, scores: Scores, labels: Labels): SplitScores {
  if (scores.length !== labels.length) {
    throw invalidInput(
      'labels',
      `${what}: expected as many labels as scores but received ${labels.length} labels for ${scores.length} scores`,
    );
  }
  let positives = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) {
      throw invalidInput(`scores[${i}]`, `${what}: score ${i} is ${scores[i]}, expected a finite number`);
    }
    if (labels[i]) positives++;
  }
  const positive = new Float64Array(positives);
  const negative = new Float64Array(scores.length - positives);
  let p = 0;
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i]) positive[p++] = scores[i];
    else negative[n++] = scores[i];
  }
  return checkBothClasses(what, { positive: positive.sort(), negative: negative.sort() });
}

export function checkBothClasses(what: string, s: SplitScores): SplitScores {
  if (s.positive.length === 0 || s.negative.length === 0) {
    throw invalidInput(
      'labels',
      `${what} needs both normal and anomalous samples but received ${s.positive.length} anomalous and ${s.negative.length} normal`,
    );
  }
  return s;
}

/** AUROC from already split, ascending-sorted scores. */
export function rocAucSorted(s: SplitScores): number {
  const { positive, negative } = checkBothClasses('rocAuc', s);
  // For each positive: (#negatives strictly below) + 0.5 (#negatives equal).
  let below = 0;
  let equalEnd = 0;
  let pairs = 0;
  for (let i = 0; i < positive.length; i++) {
    const v = positive[i];
    while (below < negative.length && negative[below] < v) below++;
    if (equalEnd < below) equalEnd = below;
    while (equalEnd < negative.length && negative[equalEnd] === v) equalEnd++;
    pairs += below + 0.5 * (equalEnd - below);
  }
  return pairs / (positive.length * negative.length);
}

/** Area under the ROC curve, exact, ties counted as one half. */
export function rocAuc(scores: Scores, labels: Labels): number {
  return rocAucSorted(splitByLabel('rocAuc', scores, labels));
}

export interface F1Result {
  f1: number;
  /** Anomalous when score >= threshold. */
  threshold: number;
  precision: number;
  recall: number;
}

/** Best F1 over the thresholds of scikit-learn's precision_recall_curve, from split sorted scores. */
export function f1MaxSorted(s: SplitScores): F1Result {
  const { positive, negative } = checkBothClasses('f1Max', s);
  let best: F1Result = { f1: -1, threshold: Infinity, precision: 0, recall: 0 };
  // Walk thresholds from the highest score down; tp / fp count scores >= threshold.
  let p = positive.length - 1;
  let n = negative.length - 1;
  while (p >= 0 || n >= 0) {
    const v = Math.max(p >= 0 ? positive[p] : -Infinity, n >= 0 ? negative[n] : -Infinity);
    while (p >= 0 && positive[p] === v) p--;
    while (n >= 0 && negative[n] === v) n--;
    const tp = positive.length - 1 - p;
    const fp = negative.length - 1 - n;
    const precision = tp / (tp + fp);
    const recall = tp / positive.length;
    const f1 = tp > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) best = { f1, threshold: v, precision, recall };
  }
  return best;
}

export function f1Max(scores: Scores, labels: Labels): F1Result {
  return f1MaxSorted(splitByLabel('f1Max', scores, labels));
}
