/**
 * Detector (src/pipeline): fit / score / predict / localize on real magnetic-tile images from
 * examples/, calibration, streaming, bad input. Model-file format tests: pipeline-model-file.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { rocAuc } from '../src/eval/roc.js';
import { Detector } from '../src/pipeline/detector.js';
import { exampleFiles, FAST_LOCALIZATION, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';
import type { CropsLocalization } from '../src/pipeline/model-file.js';

const train = exampleFiles('train/good', 16);
const testGood = exampleFiles('test/good', 3);
const testBad = [...exampleFiles('test/crack', 1), ...exampleFiles('test/uneven', 1)];

let encoder: Encoder;
let det: Detector;

beforeAll(async () => {
  encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  det = await Detector.fit({ encoder, images: train, detector: { kind: 'kde' }, localization: FAST_LOCALIZATION });
});
afterAll(async () => {
  await encoder?.release();
});

describe('Detector.fit and scoring', () => {
  it('holds out images for calibration and stores normalization and threshold', () => {
    const c = det.config;
    expect(c.training.images).toBe(16);
    expect(c.training.heldOut).toBe(Math.round(16 * 0.2));
    expect(c.image.method).toBe('quantile');
    expect(c.image.scale).toBeGreaterThan(0);
    expect(Number.isFinite(c.image.threshold)).toBe(true);
    expect((c.localization as CropsLocalization).geometry).toMatchObject({
      ...FAST_LOCALIZATION,
      gridRows: 3,
      gridCols: 3,
    });
    // Magnetic tiles vary in size: no fixed input size is enforced.
    expect(c.input).toEqual({ size: null, channels: 1 });
  });

  it('score = (raw - center) / scale, and predict applies the stored threshold', async () => {
    const images = [...testGood, ...testBad];
    const r = await det.predict(images);
    expect(r.items.map((i) => i.id)).toEqual(images);
    for (const item of r.items) {
      expect(item.score).toBeCloseTo((item.raw - det.config.image.center) / det.config.image.scale, 10);
      expect(item.anomalous).toBe(item.score >= det.threshold);
    }
    expect(r.anomalous).toEqual(r.items.map((i) => i.anomalous));
  });

  it('raw scores are minus the KDE log-density of the encoder embedding (library parity)', async () => {
    const r = await det.score(testGood);
    const emb = await encoder.embed(testGood);
    const direct = await det.scoreEmbeddings(emb);
    r.items.forEach((item, i) => expect(item.raw).toBeCloseTo(direct[i], 6));
  });

  it('scores do not depend on batch composition (statistics are per model, never per batch or image)', async () => {
    const alone = await det.score([testBad[0]]);
    const mixed = await det.score([...testGood, testBad[0]], { batchSize: 2 });
    expect(mixed.items[3].score).toBeCloseTo(alone.items[0].score, 9);
  });

  it('localize returns one heatmap per image at the image size', async () => {
    const r = await det.localize([testGood[0], testBad[0]]);
    for (const item of r.items) {
      expect(item.heatmap!.data.length).toBe(item.heatmap!.width * item.heatmap!.height);
      expect(item.heatmap!.data.every((v) => Number.isFinite(v))).toBe(true);
    }
    const sharp = (await import('sharp')).default;
    const m = await sharp(testBad[0]).metadata();
    expect([r.items[1].heatmap!.width, r.items[1].heatmap!.height]).toEqual([m.width, m.height]);
  });

  it('streams results batch by batch', async () => {
    const images = [...testGood, ...testBad];
    const sizes: number[] = [];
    for await (const batch of det.stream(images, { batchSize: 2 })) sizes.push(batch.items.length);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('per-position localization fits one detector per patch position', async () => {
    const d = await Detector.fit({
      encoder,
      images: train.slice(0, 8),
      detector: { kind: 'knn' },
      localization: { ...FAST_LOCALIZATION, perPosition: true },
      imageScore: 'heatmap-max',
    });
    expect((d.config.localization as CropsLocalization).perPosition).toBe(true);
    const restored = await Detector.load(await saveTemp(d));
    const [a, b] = await Promise.all([d.score(testBad), restored.score(testBad)]);
    b.items.forEach((item, i) => expect(item.score).toBeCloseTo(a.items[i].score, 9));
    await restored.release();
  });

  it('a labelled validation set gives an F1-optimal threshold', async () => {
    const d = await Detector.fit({
      encoder,
      images: train.slice(0, 8),
      detector: { kind: 'gde' },
      validation: { images: [...testGood, ...testBad], labels: [0, 0, 0, 1, 1] },
    });
    expect(d.config.image.method).toBe('f1-max');
    const r = await d.score([...testGood, ...testBad]);
    const labels = [0, 0, 0, 1, 1];
    // With the F1-optimal threshold the validation set's own F1 equals the stored F1-max.
    const tp = r.items.filter((it, i) => it.score >= d.threshold && labels[i] === 1).length;
    const fp = r.items.filter((it, i) => it.score >= d.threshold && labels[i] === 0).length;
    expect((2 * tp) / (2 * tp + fp + (2 - tp))).toBeCloseTo(d.config.image.value, 9);
    expect(
      rocAuc(
        r.items.map((i) => i.score),
        labels,
      ),
    ).toBeGreaterThanOrEqual(0);
  });
});

async function saveTemp(d: Detector): Promise<string> {
  const file = join(tempDir('model'), 'm.oneclass');
  await d.save(file);
  return file;
}

describe('bad input', () => {
  it('an empty training set is an error naming images', async () => {
    await expect(Detector.fit({ encoder, images: [], detector: { kind: 'kde' } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'images',
    });
  });

  it('an unknown detector kind lists the valid ones', async () => {
    // A plain-JS caller can pass any kind; the typed DetectorSpec would not compile this.
    await expect(Detector.fit({ encoder, images: train, detector: { kind: 'svm' } as never })).rejects.toThrow(
      /'kde', 'gde', 'knn'/,
    );
  });

  it("kind 'ocsvm' plugs in through the registry and round-trips through the model file", async () => {
    const d = await Detector.fit({ encoder, images: train.slice(0, 10), detector: { kind: 'ocsvm', nu: 0.2 } });
    expect(d.config.detector).toEqual({ kind: 'ocsvm', options: { nu: 0.2, gamma: 'droc', normalize: true } });
    const restored = await Detector.load(await saveTemp(d));
    const [a, b] = await Promise.all([d.score(testBad), restored.score(testBad)]);
    b.items.forEach((item, i) => expect(item.raw).toBe(a.items[i].raw));
    await restored.release();
  });

  it('unreadable images: an error naming the file by default, skipped and listed with onUnreadable skip', async () => {
    const broken = join(tempDir('broken'), 'broken.jpg');
    writeFileSync(broken, Buffer.from('not a jpeg at all'));
    const images = [...train.slice(0, 6), broken];
    await expect(Detector.fit({ encoder, images, detector: { kind: 'kde' } })).rejects.toMatchObject({
      code: 'ERR_IMAGE_DECODE',
      path: broken,
    });
    const d = await Detector.fit({ encoder, images, detector: { kind: 'kde' }, onUnreadable: 'skip' });
    expect(d.config.training.skipped).toEqual([broken]);
    expect(d.config.training.images).toBe(6);
    const r = await d.score([testGood[0], broken], { onUnreadable: 'skip' });
    expect(r.items.map((i) => i.id)).toEqual([testGood[0]]);
    expect(r.skipped.map((s) => s.id)).toEqual([broken]);
  });

  it('all images unreadable: the training set is empty', async () => {
    const broken = join(tempDir('broken'), 'a.png');
    writeFileSync(broken, Buffer.alloc(10));
    await expect(
      Detector.fit({ encoder, images: [broken, broken], detector: { kind: 'kde' }, onUnreadable: 'skip' }),
    ).rejects.toThrow(/training set is empty/);
  });

  it('images of another size than a fixed training size are refused unless allowResize', async () => {
    const raw = (w: number, h: number, seed: number) => ({
      data: Uint8Array.from({ length: w * h }, (_, i) => (i * 7 + seed * 13) % 251),
      width: w,
      height: h,
      channels: 1,
    });
    const images = Array.from({ length: 8 }, (_, i) => raw(64, 64, i));
    const d = await Detector.fit({ encoder, images, detector: { kind: 'knn' } });
    expect(d.config.input.size).toEqual({ width: 64, height: 64 });
    await expect(d.score([raw(80, 64, 1)])).rejects.toThrow(/image 0 is 80x64 but the model was fitted on 64x64/);
    expect((await d.score([raw(80, 64, 1)], { allowResize: true })).items).toHaveLength(1);
  });

  it('a too small training set is refused with the counts', async () => {
    await expect(Detector.fit({ encoder, images: train.slice(0, 3), detector: { kind: 'kde' } })).rejects.toThrow(
      /Too few training images: 3 readable/,
    );
  });

  it('a batch size of 0 is refused (it would never advance)', async () => {
    await expect(det.score(testGood, { batchSize: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'batchSize',
    });
  });

  it('heatmaps from a model without localization are refused', async () => {
    const d = await Detector.fit({ encoder, images: train.slice(0, 6), detector: { kind: 'kde' } });
    await expect(d.localize([testGood[0]])).rejects.toThrow(/without localization/);
  });
});
