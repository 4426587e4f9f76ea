/**
 * A model file written before the Detector refactor (scripts/make-model-fixture.mjs at commit
 * 2720982, layout v1: OC-SVM image detector, k-NN patch detector, embedded encoder) must still
 * load and give the scores and heatmaps it gave then. Scores are compared up to the rounding of
 * the stage-2 sums, which depends on the CPU level the kernels run at (the fixture was written by
 * a -march=native build; vector width and fused multiply-adds change the float32 dot products'
 * last bits; below 1e-6 relative between the levels here), with 1e-5 relative; heatmaps within
 * the heatmap tolerance.
 */
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Detector } from '../src/pipeline/detector.js';
import { FIXTURES, loadFixture, REPO } from './helpers.js';
import { TOLERANCES, toleranceRatio } from './tolerances.js';
import type { CropsLocalization } from '../src/pipeline/model-file.js';

const expected = loadFixture('model/v1-ocsvm-knn.expected.safetensors');
const files = (JSON.parse(expected.metadata.files) as string[]).map((f) => join(REPO, f));

let det: Detector;
beforeAll(async () => {
  det = await Detector.load(join(FIXTURES, 'model', 'v1-ocsvm-knn.oneclass'), { device: 'cpu' });
});
afterAll(async () => {
  await det?.release();
});

describe('model file written before the refactor (layout v1)', () => {
  it('loads with its detectors, calibration and localization', () => {
    expect(det.config.detector.kind).toBe('ocsvm');
    expect((det.config.localization as CropsLocalization).detector.kind).toBe('knn');
    expect(det.hasLocalization).toBe(true);
  });

  it('scores every test tile as it did when it was written', async () => {
    const r = await det.score(files);
    expect(r.items.map((i) => i.id)).toEqual(files);
    const raw = Float64Array.from(r.items.map((i) => i.raw));
    const score = Float64Array.from(r.items.map((i) => i.score));
    expect(
      toleranceRatio(raw, expected.tensors.raw.data as Float64Array, { atol: 1e-9, rtol: 1e-5 }),
    ).toBeLessThanOrEqual(1);
    expect(
      toleranceRatio(score, expected.tensors.score.data as Float64Array, { atol: 1e-5, rtol: 1e-5 }),
    ).toBeLessThanOrEqual(1);
  });

  it('gives the same heatmaps', async () => {
    const r = await det.localize(files.slice(0, 3));
    r.items.forEach((item, i) => {
      const t = expected.tensors[`heatmap.${i}`];
      expect([item.heatmap!.height, item.heatmap!.width]).toEqual(t.shape);
      expect(toleranceRatio(item.heatmap!.data, t.data as Float32Array, TOLERANCES.heatmap)).toBeLessThanOrEqual(1);
    });
  });
});
