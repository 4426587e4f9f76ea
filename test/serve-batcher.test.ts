/**
 * The dynamic batcher (src/serve/batcher.ts) on real magnetic-tile images: results equal
 * Detector.score / localize whatever batches they were scored in, batches form from several
 * callers, the queue is bounded, and abort, timeout, a bad image or close affect only whom they
 * should. No assertion on wall-clock time: batch formation is read from the onBatch reports.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { Detector } from '../src/pipeline/detector.js';
import { Batcher, type BatchReport } from '../src/serve/batcher.js';
import { exampleFiles, FAST_LOCALIZATION, TILE_ENCODER } from './fixtures/eval/pipeline-helpers.js';

const train = exampleFiles('train/good', 12);
const probe = [
  ...exampleFiles('test/good', 4),
  ...exampleFiles('test/crack', 2),
  ...exampleFiles('test/uneven', 2),
  ...exampleFiles('test/blowhole', 2),
];
const bytes = probe.map((f) => readFileSync(f));

let encoder: Encoder;
let det: Detector;
let reference: Map<string, { raw: number; score: number; anomalous: boolean }>;
let dir: string;
/** The same model file as `det`, loaded with other encoder options. */
let modelFile: string;

beforeAll(async () => {
  encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  det = await Detector.fit({ encoder, images: train, detector: { kind: 'knn' }, localization: FAST_LOCALIZATION });
  const r = await det.score(probe);
  reference = new Map(r.items.map((i) => [i.id, { raw: i.raw, score: i.score, anomalous: i.anomalous }]));
  dir = mkdtempSync(join(tmpdir(), 'oneclass-batcher-'));
  modelFile = join(dir, 'tile.oneclass');
  await det.save(modelFile);
});
afterAll(async () => {
  await encoder?.release();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function batcherWithReports(options: ConstructorParameters<typeof Batcher>[1] = {}) {
  const reports: BatchReport[] = [];
  const batcher = new Batcher(det, { ...options, onBatch: (r) => reports.push(r) });
  return { batcher, reports };
}

describe('Batcher', () => {
  it('gives every concurrent caller its own results, equal to Detector.score, from shared batches', async () => {
    const { batcher, reports } = batcherWithReports({ maxBatch: 4, maxDelayMs: 50 });
    const results = await Promise.all(probe.map((f) => batcher.score([f])));
    results.forEach((r, i) => {
      expect(r.items).toHaveLength(1);
      const item = r.items[0];
      expect(item.id).toBe(probe[i]);
      expect(item.index).toBe(0);
      const ref = reference.get(probe[i])!;
      // Scoring is per image: the batch an image lands in does not change its numbers.
      expect(item.raw).toBe(ref.raw);
      expect(item.score).toBe(ref.score);
      expect(item.anomalous).toBe(ref.anomalous);
      const t = r.timings;
      expect(t.queueMs + t.decodeMs + t.encodeMs + t.detectMs).toBeCloseTo(t.totalMs, 6);
    });
    await batcher.close();
    // 10 callers at once with maxBatch 4: batches of several callers, never more than 4 images.
    expect(reports.reduce((s, r) => s + r.images, 0)).toBe(probe.length);
    expect(Math.max(...reports.map((r) => r.images))).toBe(4);
    expect(Math.max(...reports.map((r) => r.requests))).toBeGreaterThan(1);
  });

  it('splits a large request over batches and returns its items in the caller order', async () => {
    const { batcher, reports } = batcherWithReports({ maxBatch: 3, maxDelayMs: 1 });
    const mixed = [bytes[0], probe[1], bytes[2], probe[3], bytes[4], probe[5], bytes[6]];
    const r = await batcher.score(mixed);
    await batcher.close();
    expect(r.items.map((i) => i.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.items.map((i) => i.id)).toEqual([
      'image 0',
      probe[1],
      'image 2',
      probe[3],
      'image 4',
      probe[5],
      'image 6',
    ]);
    r.items.forEach((item, i) => expect(item.raw).toBe(reference.get(probe[i])!.raw));
    expect(reports.map((b) => b.images)).toEqual([3, 3, 1]);
  });

  it('waits up to maxDelayMs for a fuller batch, and close() sends what waits at once', async () => {
    const { batcher, reports } = batcherWithReports({ maxBatch: 8, maxDelayMs: 60_000 });
    const pending = Promise.all([batcher.score([probe[0]]), batcher.score([probe[1]]), batcher.score([probe[2]])]);
    await new Promise((r) => setTimeout(r, 50));
    expect(batcher.queuedImages).toBe(3);
    expect(reports).toHaveLength(0);
    await batcher.close();
    const results = await pending;
    expect(results.map((r) => r.items[0].raw)).toEqual(probe.slice(0, 3).map((f) => reference.get(f)!.raw));
    expect(reports.map((b) => b.images)).toEqual([3]);
    await expect(batcher.score([probe[0]])).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('refuses requests beyond maxQueue at once (ERR_QUEUE_FULL) and never holds more', async () => {
    const { batcher } = batcherWithReports({ maxBatch: 2, maxDelayMs: 60_000, maxQueue: 5, pipelineDepth: 1 });
    // Two full batches go out (2 images each, one in flight at a time); the rest wait in the queue.
    const accepted: Promise<unknown>[] = [];
    const refused: unknown[] = [];
    let maxQueued = 0;
    for (let i = 0; i < 20; i++) {
      const p = batcher.score([bytes[i % bytes.length]]);
      p.catch((e) => refused.push(e));
      accepted.push(p.catch(() => undefined));
      maxQueued = Math.max(maxQueued, batcher.queuedImages);
    }
    await new Promise((r) => setTimeout(r, 0));
    expect(maxQueued).toBeLessThanOrEqual(5);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused)
      expect(e).toMatchObject({ code: 'ERR_QUEUE_FULL', message: expect.stringMatching(/at most 5/) });
    await expect(batcher.score(Array(6).fill(bytes[0]))).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await batcher.close();
    await Promise.all(accepted);
  });

  it('an aborted request leaves the queue and rejects with ERR_ABORTED; the others are served', async () => {
    const { batcher } = batcherWithReports({ maxBatch: 8, maxDelayMs: 60_000 });
    const ac = new AbortController();
    const kept = batcher.score([probe[0]]);
    const aborted = batcher.score([probe[1], probe[2]], { signal: ac.signal });
    expect(batcher.queuedImages).toBe(3);
    ac.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(batcher.queuedImages).toBe(1);
    const early = new AbortController();
    early.abort();
    await expect(batcher.score([probe[0]], { signal: early.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await batcher.close();
    expect((await kept).items[0].raw).toBe(reference.get(probe[0])!.raw);
  });

  it('a request past its deadline rejects with ERR_TIMEOUT', async () => {
    const { batcher } = batcherWithReports({ maxBatch: 8, maxDelayMs: 60_000 });
    await expect(batcher.score([probe[0]], { timeoutMs: 20 })).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
      message: expect.stringMatching(/20 ms/),
    });
    expect(batcher.queuedImages).toBe(0);
    await batcher.close();
  });

  it("one caller's unreadable image fails that caller only; an RGB image is converted to the model's gray", async () => {
    const { batcher, reports } = batcherWithReports({ maxBatch: 8, maxDelayMs: 30 });
    const rgb = await sharp(bytes[0]).toColourspace('srgb').jpeg().toBuffer();
    const junk = Buffer.from('not an image at all');
    const [good, bad, converted, skipped] = await Promise.allSettled([
      batcher.score([probe[0]]),
      batcher.score([junk]),
      batcher.score([rgb]),
      batcher.score([probe[1], junk], { onUnreadable: 'skip' }),
    ]);
    await batcher.close();
    expect(good).toMatchObject({ status: 'fulfilled' });
    expect((good as PromiseFulfilledResult<{ items: { raw: number }[] }>).value.items[0].raw).toBe(
      reference.get(probe[0])!.raw,
    );
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'ERR_IMAGE_DECODE' } });
    // Decoded to the encoder's colour space as Detector.score decodes it (the manifest's rules).
    const alone = await det.score([rgb]);
    expect((converted as PromiseFulfilledResult<{ items: { raw: number }[] }>).value.items[0].raw).toBe(
      alone.items[0].raw,
    );
    const s = (skipped as PromiseFulfilledResult<{ items: { id: string }[]; skipped: { index: number }[] }>).value;
    expect(s.items.map((i) => i.id)).toEqual([probe[1]]);
    expect(s.skipped.map((i) => i.index)).toEqual([1]);
    expect(reports.every((r) => r.error === undefined)).toBe(true);
  });

  it('with strictColour, a wrong-colour image fails its caller only', async () => {
    const strict = await Detector.load(modelFile, { device: 'cpu', encoderOptions: { strictColour: true } });
    try {
      const batcher = new Batcher(strict, { maxBatch: 8, maxDelayMs: 30 });
      const rgb = await sharp(bytes[0]).toColourspace('srgb').jpeg().toBuffer();
      const [good, refused] = await Promise.allSettled([batcher.score([probe[0]]), batcher.score([rgb])]);
      await batcher.close();
      expect((good as PromiseFulfilledResult<{ items: { raw: number }[] }>).value.items[0].raw).toBe(
        reference.get(probe[0])!.raw,
      );
      expect(refused).toMatchObject({
        status: 'rejected',
        reason: { code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/strict colour mode does not convert/) },
      });
    } finally {
      await strict.release();
    }
  });

  it("keeps a batch within the encoder's decoded-pixel budget: the rest goes to the next batch, each image once", async () => {
    // The tiles are 35,000 to 155,000 pixels: two or three fit in 250,000.
    const limited = await Detector.load(modelFile, {
      device: 'cpu',
      encoderOptions: { maxImagePixels: 250_000, maxBatchPixels: 250_000 },
    });
    try {
      const reports: BatchReport[] = [];
      const batcher = new Batcher(limited, { maxBatch: 8, maxDelayMs: 30, onBatch: (r) => reports.push(r) });
      // Callers of one, two and three images at once: the budget cuts across and inside requests.
      const requests = [[probe[0]], [bytes[1], probe[2]], [probe[3], bytes[4], probe[5]], [probe[6]], [bytes[7]]];
      const results = await Promise.all(requests.map((images) => batcher.score(images)));
      await batcher.close();
      results.forEach((r, k) => {
        expect(r.items.map((i) => i.index)).toEqual(requests[k].map((_, i) => i));
      });
      const scored = results.flatMap((r) => r.items.map((i) => i.raw));
      const order = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => reference.get(probe[i])!.raw);
      expect(scored).toEqual(order);
      // All five requests arrive before maxDelayMs, so one batch of 8 is formed and cut by the
      // budget in arrival order: batches hold the images whose declared pixels add up to at most
      // 250,000, in order (the first of a batch always fits).
      const pixels = await Promise.all(
        requests.flat().map(async (i) => {
          const m = await sharp(i).metadata();
          return m.width! * m.height!;
        }),
      );
      const expected: number[] = [];
      let sum = Infinity;
      for (const p of pixels) {
        if (sum + p > 250_000) {
          expected.push(0);
          sum = 0;
        }
        expected[expected.length - 1]++;
        sum += p;
      }
      expect(expected.length).toBeGreaterThan(2);
      expect(reports.map((r) => r.images)).toEqual(expected);
      expect(reports.every((r) => r.error === undefined)).toBe(true);
    } finally {
      await limited.release();
    }
  });

  it('localize gives the heatmaps Detector.localize gives', async () => {
    const { batcher, reports } = batcherWithReports({ maxLocalizeBatch: 2, maxDelayMs: 20 });
    const images = probe.slice(4, 8);
    const ref = await det.localize(images);
    const got = await Promise.all(images.map((f) => batcher.localize([f])));
    await batcher.close();
    got.forEach((r, i) => {
      const a = r.items[0].heatmap!;
      const b = ref.items[i].heatmap!;
      expect([a.width, a.height]).toEqual([b.width, b.height]);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      expect(r.items[0].score).toBe(ref.items[i].score);
    });
    expect(Math.max(...reports.map((r) => r.images))).toBeLessThanOrEqual(2);
    expect(reports.every((r) => r.mode === 'localize')).toBe(true);
  });

  it('checks its options with the library messages', () => {
    expect(() => new Batcher(det, { maxBatch: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/options\.maxBatch/) }),
    );
    expect(() => new Batcher(det, { maxDelayMs: -1 })).toThrow(/options\.maxDelayMs/);
    expect(() => new Batcher(det, { nope: 1 } as never)).toThrow(/Unknown option options\.nope/);
  });
});
