/**
 * Localization over a dense encoder (src/pipeline/dense-localization.ts), on the tiny random-init
 * dense fixture: every method gives heatmaps at each image's size; patchcore's grid is a plain
 * nearest-neighbour distance (checked against float64 code over the same features), and its
 * heatmaps are that grid normalized and upsampled; a model file round trip gives identical
 * heatmaps; bad options get coded errors.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder, type RawImage } from '../src/encoder/index.js';
import { normalize } from '../src/pipeline/calibration.js';
import { heatmapScores, upsampleHeatmaps } from '../src/localization/heatmaps.js';
import type { DenseLocalization, DenseMethod } from '../src/pipeline/dense-localization.js';
import { Detector } from '../src/pipeline/detector.js';
import { Batcher } from '../src/serve/batcher.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { decodeModelFile, encodeModelFile, type PipelineConfig } from '../src/pipeline/model-file.js';
import { CIFAR_ENCODER } from './fixtures/eval/pipeline-helpers.js';
import { TINY_DENSE, tinyImages } from './fixtures/dense/helpers.js';
import { toleranceRatio, TOLERANCES } from './tolerances.js';

const train = tinyImages(16, 1);
const good = tinyImages(2, 2);
const bad = tinyImages(2, 3, true);
/** A larger, non-square image: heatmaps come back at its own size. */
const large: RawImage = (() => {
  const data = new Uint8Array(96 * 80);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) % 200;
  return { data, width: 96, height: 80, channels: 1 };
})();

let encoder: Encoder;
let dir: string;
const fitted = new Map<DenseMethod, Detector>();

async function fitWith(method: DenseMethod, extra: Record<string, unknown> = {}): Promise<Detector> {
  return Detector.fit({
    encoder,
    images: train,
    detector: { kind: 'gde' },
    localization: { method, ...extra },
    holdout: 0.25,
    threads: 1,
  });
}

beforeAll(async () => {
  encoder = await Encoder.load(TINY_DENSE, { device: 'cpu', threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'oneclass-dense-'));
  // coresetRatio 1 keeps every training row, so the bank is exactly the training features.
  fitted.set('patchcore', await fitWith('patchcore', { coresetRatio: 1 }));
  fitted.set('padim', await fitWith('padim'));
  fitted.set('segmentation', await fitWith('segmentation'));
});

afterAll(async () => {
  await encoder?.release();
  rmSync(dir, { recursive: true, force: true });
});

describe('dense localization methods', () => {
  it.each(['segmentation', 'patchcore', 'padim'] as const)('%s: one heatmap per image, at its size', async (m) => {
    const det = fitted.get(m)!;
    const loc = det.config.localization as DenseLocalization;
    expect(loc).toMatchObject({ method: m, grid: { height: 8, width: 8, stride: 8 }, sigma: 4 });
    const r = await det.localize([...good, ...bad, large], { allowResize: true });
    expect(r.items.map((i) => [i.heatmap!.width, i.heatmap!.height])).toEqual([
      [64, 64],
      [64, 64],
      [64, 64],
      [64, 64],
      [96, 80],
    ]);
    for (const item of r.items) {
      expect(item.heatmap!.data.length).toBe(item.heatmap!.width * item.heatmap!.height);
      expect(item.heatmap!.data.every(Number.isFinite)).toBe(true);
      expect(Number.isFinite(item.score)).toBe(true);
    }
  });

  it('patchcore: the grid is the float64 nearest-neighbour distance to the training features', async () => {
    const det = fitted.get('patchcore')!;
    const loc = det.config.localization as DenseLocalization;
    expect(loc.bank).toEqual({ rows: 16 * 64, sourceRows: 16 * 64, coresetRatio: 1, dim: 16 });
    const bank = (await encoder.forwardDecoded(train, { output: null, features: true })).features!;
    const query = (await encoder.forwardDecoded([...good, ...bad], { output: null, features: true })).features!;
    const d = query.dim;
    const naive = new Float64Array(query.images * query.positions);
    for (let q = 0; q < naive.length; q++) {
      let best = Infinity;
      for (let b = 0; b < bank.images * bank.positions; b++) {
        let s = 0;
        for (let c = 0; c < d; c++) {
          const diff = query.data[q * d + c] - bank.data[b * d + c];
          s += diff * diff;
        }
        best = Math.min(best, s);
      }
      naive[q] = Math.sqrt(best);
    }
    const grid = await det.pipeline.denseMethod!.grid(
      { scores: null, features: { data: query.data, rows: naive.length, cols: d } },
      query.images,
    );
    expect(toleranceRatio(grid, naive, TOLERANCES.knnDistance)).toBeLessThanOrEqual(1);
    // The heatmaps are that grid, normalized by the pixel calibration and upsampled.
    const maps = await upsampleHeatmaps(
      { data: Float32Array.from(normalize(naive, loc.calibration)), batch: 4, height: 8, width: 8 },
      { height: 64, width: 64, sigma: 4 },
    );
    const r = await det.localize([...good, ...bad]);
    const got = new Float32Array(4 * 64 * 64);
    r.items.forEach((item, i) => got.set(item.heatmap!.data, i * 64 * 64));
    expect(toleranceRatio(got, maps.data, TOLERANCES.denseHeatmap)).toBeLessThanOrEqual(1);
  });

  it.each(['segmentation', 'patchcore', 'padim'] as const)(
    '%s: a model file round trip gives identical heatmaps and scores',
    async (m) => {
      const det = fitted.get(m)!;
      const file = join(dir, `${m}.oneclass`);
      await det.save(file);
      const back = await Detector.load(file, { device: 'cpu', threads: 1 });
      try {
        expect(back.config.localization).toEqual(det.config.localization);
        const a = await det.localize([...good, ...bad]);
        const b = await back.localize([...good, ...bad]);
        expect(b.items.map((i) => i.score)).toEqual(a.items.map((i) => i.score));
        b.items.forEach((item, i) => expect(item.heatmap!.data).toEqual(a.items[i].heatmap!.data));
      } finally {
        await back.release();
      }
    },
  );

  it('image scores: the heatmap max and the top-k mean come from the smoothed map', async () => {
    const det = await fitWith('segmentation', {});
    expect(det.config.imageScore).toBe('heatmap-max');
    const topk = await Detector.fit({
      encoder,
      images: train,
      detector: { kind: 'gde' },
      localization: { method: 'segmentation' },
      imageScore: 'top-k-mean',
      holdout: 0.25,
    });
    expect(topk.config.imageScore).toBe('heatmap-top-k');
    const byDetector = await Detector.fit({
      encoder,
      images: train,
      detector: { kind: 'gde' },
      localization: { method: 'segmentation' },
      imageScore: 'detector',
      holdout: 0.25,
    });
    expect(byDetector.config.imageScore).toBe('image');
    // 'max': the raw score is the largest value of the grid upsampled and blurred at 64 px.
    const scores = (await encoder.forwardDecoded(bad, { output: null, scores: true })).scores!;
    const smooth = await upsampleHeatmaps(
      { data: scores, batch: 2, height: 8, width: 8 },
      { height: 64, width: 64, sigma: 4 },
    );
    const r = await det.score(bad);
    r.items.forEach((item, i) => {
      const one = smooth.data.subarray(i * 4096, (i + 1) * 4096);
      expect(item.raw).toBeCloseTo(Math.max(...one), 5);
    });
    const t = await topk.score(bad);
    t.items.forEach((item, i) => {
      const sorted = Float64Array.from(smooth.data.subarray(i * 4096, (i + 1) * 4096))
        .sort()
        .reverse();
      const k = Math.round(0.01 * 4096);
      expect(item.raw).toBeCloseTo(sorted.subarray(0, k).reduce((a, b) => a + b, 0) / k, 5);
    });
  });

  it('the server batcher gives the heatmaps Detector.localize gives', async () => {
    const det = fitted.get('padim')!;
    const batcher = new Batcher(det, { maxLocalizeBatch: 2, maxDelayMs: 10 });
    const images = [...good, ...bad];
    const ref = await det.localize(images);
    const got = await Promise.all(images.map((im) => batcher.localize([im])));
    await batcher.close();
    got.forEach((r, i) => {
      expect(r.items[0].score).toBe(ref.items[i].score);
      expect(r.items[0].heatmap!.data).toEqual(ref.items[i].heatmap!.data);
    });
  });

  it('heatmap image scores (native max and top-k mean) equal a sort of the maps upsampleHeatmaps returns', async () => {
    let s = 7;
    const grids = {
      data: Float32Array.from({ length: 3 * 6 * 5 }, () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return ((s >>> 8) % 97) / 7; // many ties
      }),
      batch: 3,
      height: 6,
      width: 5,
    };
    const size = { height: 40, width: 33, sigma: 2 };
    const maps = await upsampleHeatmaps(grids, size);
    const per = size.height * size.width;
    const max = await heatmapScores(grids, { ...size, reduce: 'max' });
    for (const k of [1, 13, 50, per - 1, per]) {
      const top = await heatmapScores(grids, { ...size, reduce: 'top-k', topK: k });
      for (let b = 0; b < grids.batch; b++) {
        const sorted = Float64Array.from(maps.data.subarray(b * per, (b + 1) * per))
          .sort()
          .reverse();
        expect(max[b]).toBe(sorted[0]);
        expect(top[b]).toBeCloseTo(sorted.subarray(0, k).reduce((a, v) => a + v, 0) / k, 9);
      }
    }
    await expect(heatmapScores(grids, { ...size, reduce: 'top-k', topK: per + 1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

describe('dense localization in the model file', () => {
  it('is layout version 2 (older readers refuse it by its version); crops files stay version 1', async () => {
    const dense = decodeSafetensors(fitted.get('padim')!.toBytes(), 'padim').metadata;
    expect(dense.version).toBe('2');
    const plain = await Detector.fit({ encoder, images: train, detector: { kind: 'gde' }, holdout: 0.25 });
    expect(decodeSafetensors(plain.toBytes(), 'plain').metadata.version).toBe('1');
  });

  it.each([
    [
      "a grid other than the manifest's",
      (c: PipelineConfig) => ((c.localization as DenseLocalization).grid.height = 4),
    ],
    ['a missing bank size', (c: PipelineConfig) => delete (c.localization as DenseLocalization).bank],
    ['a negative sigma', (c: PipelineConfig) => ((c.localization as DenseLocalization).sigma = -1)],
    ['an unknown method', (c: PipelineConfig) => ((c.localization as { method: string }).method = 'dreams')],
  ])('a file with %s is refused as ERR_MODEL_FORMAT', async (_what, mutate) => {
    const parts = decodeModelFile(fitted.get('patchcore')!.toBytes());
    const config = structuredClone(parts.config);
    mutate(config);
    const file = join(dir, 'crafted.oneclass');
    writeFileSync(file, encodeModelFile({ ...parts, config }));
    await expect(Detector.load(file, { device: 'cpu' })).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT' });
  });
});

describe('dense localization: bad input', () => {
  it('a bank over the memory limit is refused before anything is allocated', async () => {
    await expect(fitWith('patchcore', { maxMemory: 100_000 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_MEMORY',
      path: 'localization.maxMemory',
    });
    // The training features fit, the bank does not (100% of 16 x 64 rows x 16 floats x 5 copies).
    await expect(fitWith('patchcore', { maxMemory: 300_000, coresetRatio: 1 })).rejects.toMatchObject({
      code: 'ERR_OUT_OF_MEMORY',
      path: 'localization.maxMemory',
    });
  });

  it('a dense method on an encoder without a dense block names the option', async () => {
    await expect(
      Detector.fit({
        encoder: CIFAR_ENCODER,
        images: train,
        detector: { kind: 'kde' },
        localization: { method: 'patchcore' },
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'localization.method' });
  });

  it('crop-grid options with a dense method are refused, naming them', async () => {
    await expect(fitWith('padim', { patchSize: 16 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'localization.patchSize',
    });
    await expect(fitWith('padim', { coresetRatio: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'localization.coresetRatio',
    });
  });

  it('a heatmap request on a model fitted without localization keeps its clear error', async () => {
    const det = await Detector.fit({ encoder, images: train, detector: { kind: 'gde' }, holdout: 0.25 });
    await expect(det.localize(good)).rejects.toThrow(/without localization/);
    await expect(
      Detector.fit({ encoder, images: train, detector: { kind: 'gde' }, imageScore: 'top-k-mean' }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'imageScore' });
  });
});
