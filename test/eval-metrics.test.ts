/**
 * src/eval against scikit-learn / scipy reference values (python-export/refs/ref_eval.py, fixed
 * seed, committed in test/fixtures/eval/metrics.safetensors).
 */
import { describe, expect, it } from 'vitest';

import { f1Max, labelComponents, PixelMetricsAccumulator, rocAuc } from '../src/eval/index.js';
import { loadFixture } from './helpers.js';

const { tensors } = loadFixture('eval/metrics.safetensors');
const f64 = (name: string) => tensors[name].data as Float64Array;

describe('image-level metrics vs scikit-learn', () => {
  for (const name of ['continuous', 'tied']) {
    it(`roc_auc_score and precision_recall_curve F1-max (${name} scores)`, () => {
      const scores = f64(`image.${name}.scores`);
      const labels = f64(`image.${name}.labels`);
      const [auroc, f1, threshold] = f64(`image.${name}.expected`);
      expect(rocAuc(scores, labels)).toBeCloseTo(auroc, 12);
      const best = f1Max(scores, labels);
      expect(best.f1).toBeCloseTo(f1, 12);
      expect(best.threshold).toBe(threshold);
    });
  }

  it('AUROC is 1 for perfectly separated scores, 0.5 for all-tied scores', () => {
    expect(rocAuc([0.1, 0.2, 0.9, 1.0], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([3, 3, 3, 3], [0, 1, 0, 1])).toBe(0.5);
  });

  it('rejects a single class, mismatched lengths and NaN scores, naming the problem', () => {
    expect(() => rocAuc([1, 2], [0, 0])).toThrow(/both normal and anomalous/);
    expect(() => rocAuc([1, 2, 3], [0, 1])).toThrow(/2 labels for 3 scores/);
    expect(() => rocAuc([1, NaN], [0, 1])).toThrow(/score 1 is NaN/);
  });
});

describe('pixel-level metrics vs scikit-learn / MVTec AD AUPRO', () => {
  const maps = tensors['pixel.maps'];
  const masks = tensors['pixel.masks'];
  const [n, h, w] = maps.shape;
  const [pixelAuroc, aupro30, aupro05] = f64('pixel.expected');

  function accumulate(): PixelMetricsAccumulator {
    const acc = new PixelMetricsAccumulator();
    for (let i = 0; i < n; i++) {
      const map = (maps.data as Float32Array).subarray(i * h * w, (i + 1) * h * w);
      const mask = (masks.data as Uint8Array).subarray(i * h * w, (i + 1) * h * w);
      // Defect-free images go in as null, as a dataset reader gives them.
      acc.add(map, mask.some((v) => v !== 0) ? mask : null, w, h);
    }
    return acc;
  }

  it('pixel AUROC equals roc_auc_score over all pixels', () => {
    expect(accumulate().compute().pixelAuroc).toBeCloseTo(pixelAuroc, 12);
  });

  it('AUPRO at FPR 0.3 and 0.05 equals the MVTec AD algorithm', () => {
    const acc = accumulate();
    expect(acc.compute(0.3).aupro).toBeCloseTo(aupro30, 10);
    expect(acc.compute(0.05).aupro).toBeCloseTo(aupro05, 10);
  });

  it('labels 8-connected components (diagonal neighbours join)', () => {
    // 1 0 0 1
    // 0 1 0 1
    // 0 0 0 0
    const mask = Uint8Array.from([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
    const { count, labels } = labelComponents(mask, 4, 3);
    expect(count).toBe(2);
    expect(labels[0]).toBe(labels[5]);
    expect(labels[3]).toBe(labels[7]);
  });

  it('rejects a mask whose size differs from the heatmap, naming the image', () => {
    const acc = new PixelMetricsAccumulator();
    expect(() => acc.add(new Float32Array(12), new Uint8Array(10), 4, 3, 'tile_7.jpg')).toThrow(/tile_7\.jpg/);
  });
});
