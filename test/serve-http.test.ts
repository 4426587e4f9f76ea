/**
 * The HTTP server (src/serve/server.ts) on loopback, with Node's fetch as the client: scores
 * equal to Detector.score, heatmaps equal to Detector.localize, several models by name,
 * malformed bodies and non-images answered 4xx with a message, overload answered 429 with
 * Retry-After and no crash, and the Prometheus metrics. The process-level behaviour (SIGTERM
 * drain, memory under load) is in serve-process.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { Detector } from '../src/pipeline/detector.js';
import { OneclassServer } from '../src/serve/server.js';
import { exampleFiles, FAST_LOCALIZATION, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

const train = exampleFiles('train/good', 12);
const probe = [...exampleFiles('test/good', 3), ...exampleFiles('test/crack', 2), ...exampleFiles('test/fray', 1)];
const bytes = probe.map((f) => readFileSync(f));

let encoder: Encoder;
let knn: Detector;
let kde: Detector;
let server: OneclassServer;
const files = { knn: '', kde: '' };

beforeAll(async () => {
  encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  const dir = tempDir('serve-http');
  knn = await Detector.fit({ encoder, images: train, detector: { kind: 'knn' }, localization: FAST_LOCALIZATION });
  kde = await Detector.fit({ encoder, images: train, detector: { kind: 'kde' } });
  files.knn = join(dir, 'knn.oneclass');
  files.kde = join(dir, 'kde.oneclass');
  await knn.save(files.knn);
  await kde.save(files.kde);
  server = await OneclassServer.start({
    models: [
      { name: 'tile', file: files.knn },
      { name: 'tile-kde', file: files.kde },
    ],
    port: 0,
    logLevel: 'silent',
    load: { device: 'cpu' },
    batcher: { maxBatch: 4, maxDelayMs: 10 },
    maxPixels: 400_000,
    maxImagesPerRequest: 8,
    maxBodyBytes: 1024 * 1024,
  });
});
afterAll(async () => {
  await server?.drain();
  await encoder?.release();
});

const post = (path: string, body: string | Uint8Array | FormData, contentType?: string) =>
  fetch(server.url + path, {
    method: 'POST',
    body,
    headers: contentType ? { 'content-type': contentType } : {},
  });

function form(images: readonly Buffer[], names: readonly string[]): FormData {
  const f = new FormData();
  images.forEach((b, i) => f.append('images', new Blob([b], { type: 'image/jpeg' }), names[i]));
  return f;
}

interface ScoreAnswer {
  model: string;
  threshold: number;
  items: { image: string; score: number; rawScore: number; anomalous: boolean }[];
  skipped: { image: string; reason: string }[];
}

describe('oneclass serve over HTTP', () => {
  it('scores raw image bodies from concurrent clients exactly as Detector.score', async () => {
    const ref = await knn.score(probe);
    const answers = await Promise.all(bytes.map((b) => post('/v1/score', b, 'image/jpeg')));
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(200);
      expect(res.headers.get('server-timing')).toMatch(/queue;dur=[\d.]+, decode;dur=[\d.]+, encode;dur=/);
      const body = (await res.json()) as ScoreAnswer;
      expect(body.model).toBe('tile');
      expect(body.threshold).toBe(knn.threshold);
      expect(body.items).toEqual([
        { image: 'body', score: ref.items[i].score, rawScore: ref.items[i].raw, anomalous: ref.items[i].anomalous },
      ]);
    }
  });

  it('scores several images of one multipart request, in order, with a named model', async () => {
    const ref = await kde.score(probe);
    const names = probe.map((f) => f.split('/').pop()!);
    const res = await fetch(server.url + '/v1/models/tile-kde/score', { method: 'POST', body: form(bytes, names) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as ScoreAnswer;
    expect(body.model).toBe('tile-kde');
    expect(body.threshold).toBe(kde.threshold);
    expect(body.items.map((i) => i.image)).toEqual(names);
    expect(body.items.map((i) => i.rawScore)).toEqual(ref.items.map((i) => i.raw));
    const models = (await (await fetch(server.url + '/v1/models')).json()) as {
      default: string;
      models: { name: string }[];
    };
    expect(models.default).toBe('tile');
    expect(models.models.map((m) => m.name)).toEqual(['tile', 'tile-kde']);
  });

  it('localize answers the heatmap as a JSON grid or a PNG', async () => {
    const ref = await knn.localize([probe[3]]);
    const res = await post('/v1/localize', bytes[3], 'image/jpeg');
    expect(res.status).toBe(200);
    const body = (await res.json()) as ScoreAnswer & {
      items: { heatmap: { width: number; height: number; data: number[] } }[];
    };
    const map = ref.items[0].heatmap!;
    expect(body.items[0].heatmap.width).toBe(map.width);
    expect(body.items[0].heatmap.height).toBe(map.height);
    expect(body.items[0].heatmap.data).toEqual(Array.from(map.data));
    const png = await post('/v1/localize?format=png', bytes[3], 'image/jpeg');
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Number(png.headers.get('x-oneclass-score'))).toBe(ref.items[0].score);
    const head = new Uint8Array(await png.arrayBuffer()).slice(0, 8);
    expect(Array.from(head)).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // The KDE model was fitted without localization.
    const none = await post('/v1/models/tile-kde/localize', bytes[3], 'image/jpeg');
    expect(none.status).toBe(422);
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/without localization/);
  });

  it('answers malformed bodies and non-images with a 4xx and a message', async () => {
    const cases: [Promise<Response>, number, RegExp][] = [
      [post('/v1/score', 'this is text, not a JPEG', 'image/jpeg'), 400, /Cannot decode body .*not an image/],
      [post('/v1/score', JSON.stringify({ image: 'x' }), 'application/json'), 415, /application\/json is not accepted/],
      [post('/v1/score', new Uint8Array(0), 'image/jpeg'), 400, /body is empty/],
      [post('/v1/score', 'garbage', 'multipart/form-data; boundary=xyz'), 400, /Malformed multipart body/],
      [fetch(server.url + '/v1/score', { method: 'POST', body: new FormData() }), 400, /no file part|Malformed/],
      [post('/v1/score', Buffer.alloc(2 * 1024 * 1024, 1), 'image/jpeg'), 413, /.+/],
      [post('/v1/models/nope/score', bytes[0], 'image/jpeg'), 404, /No model named 'nope'; models: tile, tile-kde/],
      [post('/v1/localize?format=gif', bytes[0], 'image/jpeg'), 400, /one of json, png for query parameter format/],
      [
        fetch(server.url + '/v1/score', {
          method: 'POST',
          body: form(Array(9).fill(bytes[0]), Array(9).fill('a.jpg')),
        }),
        413,
        /.+/,
      ],
    ];
    for (const [pending, status, message] of cases) {
      const res = await pending;
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect({ status: res.status, message: body.error.message }).toEqual({
        status,
        message: expect.stringMatching(message),
      });
      expect(body.error.code).toMatch(/^(ERR_|FST_)/);
    }
  });

  it('refuses images over the pixel limit before decoding them', async () => {
    const sharp = (await import('sharp')).default;
    const big = await sharp({ create: { width: 800, height: 600, channels: 3, background: '#808080' } })
      .toColourspace('b-w')
      .jpeg()
      .toBuffer();
    const res = await post('/v1/score', big, 'image/jpeg');
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /800x600 = 480000 pixels, more than the limit of 400000/,
    );
  });

  it('exposes health, readiness and Prometheus metrics per stage', async () => {
    expect((await fetch(server.url + '/healthz')).status).toBe(200);
    const ready = await fetch(server.url + '/readyz');
    expect(ready.status).toBe(200);
    const text = await (await fetch(server.url + '/metrics')).text();
    for (const stage of ['queue', 'decode', 'encode', 'detect'])
      expect(text).toContain(`oneclass_stage_duration_seconds_count{model="tile",mode="score",stage="${stage}"}`);
    expect(text).toMatch(/oneclass_batch_size_count\{model="tile",mode="score"\} [1-9]/);
    expect(text).toMatch(/oneclass_queue_depth\{model="tile"\} 0/);
    expect(text).toMatch(/oneclass_http_requests_total\{route="\/v1\/score",method="POST",status="200"\} [1-9]/);
    expect(text).toMatch(/oneclass_images_total\{model="tile",mode="score",outcome="ok"\} [1-9]/);
    expect(text).toContain('oneclass_process_resident_memory_bytes');
  });
});

describe('oneclass serve under overload', () => {
  it('answers 429 with Retry-After when the queue is full, and keeps serving', async () => {
    const small = await OneclassServer.start({
      models: [{ name: 'tile', file: files.knn }],
      port: 0,
      logLevel: 'silent',
      load: { device: 'cpu' },
      batcher: { maxBatch: 2, maxDelayMs: 50, maxQueue: 3, pipelineDepth: 1 },
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fetch(small.url + '/v1/score', {
            method: 'POST',
            body: bytes[i % bytes.length],
            headers: { 'content-type': 'image/jpeg' },
          }),
        ),
      );
      const statuses = answers.map((r) => r.status);
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
      for (const r of answers.filter((a) => a.status === 429)) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('ERR_QUEUE_FULL');
      }
      const again = await fetch(small.url + '/v1/score', {
        method: 'POST',
        body: bytes[0],
        headers: { 'content-type': 'image/jpeg' },
      });
      expect(again.status).toBe(200);
      const text = await (await fetch(small.url + '/metrics')).text();
      expect(text).toMatch(/oneclass_refused_requests_total\{model="tile",reason="queue_full"\} [1-9]/);
    } finally {
      await small.drain();
    }
  });

  it('refuses requests beyond --max-inflight before reading their bodies', async () => {
    const small = await OneclassServer.start({
      models: [{ name: 'tile', file: files.knn }],
      port: 0,
      logLevel: 'silent',
      load: { device: 'cpu' },
      // The first two wait for a fuller batch while the others arrive.
      batcher: { maxBatch: 8, maxDelayMs: 2000 },
      maxInflightRequests: 2,
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          fetch(small.url + '/v1/score', { method: 'POST', body: bytes[i], headers: { 'content-type': 'image/jpeg' } }),
        ),
      );
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 200, 429, 429, 429, 429]);
      const refused = answers.find((a) => a.status === 429)!;
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /2 requests in flight, at most 2 \(--max-inflight\)/,
      );
    } finally {
      await small.drain();
    }
  });
});
