/**
 * `oneclass serve` as a real process on loopback (dist/cli/main.js, built by `npm run build:ts`;
 * skipped when dist/ has not been built): SIGTERM answers every accepted request and exits 0, and
 * memory stays bounded while the server is flooded far beyond its capacity (the queue is
 * bounded: the excess is answered 429, not held). A 60-second version of the flood is
 * bench/serve-soak.mjs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Detector } from '../src/pipeline/detector.js';
import { exampleFiles, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';
import { MAIN, rssOf, startServe } from './fixtures/serve-helpers.js';

const probe = [...exampleFiles('test/good', 4), ...exampleFiles('test/crack', 2), ...exampleFiles('test/uneven', 2)];
const bytes = probe.map((f) => readFileSync(f));
let modelFile = '';
let det: Detector;

describe.skipIf(!existsSync(MAIN))('oneclass serve process', () => {
  beforeAll(async () => {
    det = await Detector.fit({
      encoder: TILE_ENCODER,
      encoderOptions: { device: 'cpu' },
      images: exampleFiles('train/good', 12),
      detector: { kind: 'knn' },
    });
    modelFile = join(tempDir('serve-process'), 'tile.oneclass');
    await det.save(modelFile);
  });
  afterAll(async () => {
    await det?.release();
  });

  const score = (url: string, body: Buffer) =>
    fetch(url + '/v1/score', { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } });

  it('SIGTERM answers the requests already accepted, then closes the port and exits 0', async () => {
    // A long maxDelayMs keeps the requests waiting in the queue until the signal comes.
    const s = await startServe([
      '--model',
      modelFile,
      '--max-batch',
      '64',
      '--max-delay-ms',
      '60000',
      '--device',
      'cpu',
    ]);
    try {
      const inFlight = bytes.map((b) => score(s.url, b));
      for (let i = 0; i < 200; i++) {
        const text = await (await fetch(s.url + '/metrics')).text();
        if (new RegExp(`oneclass_queue_depth\\{model="tile"\\} ${bytes.length}`).test(text)) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      s.child.kill('SIGTERM');
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.status)).toEqual(bytes.map(() => 200));
      const ref = await det.score(probe);
      const got = await Promise.all(
        answers.map(async (a) => ((await a.json()) as { items: { rawScore: number }[] }).items[0]),
      );
      expect(got.map((g) => g.rawScore)).toEqual(ref.items.map((i) => i.raw));
      expect(await s.exited).toBe(0);
      const events = s.logs.map((l) => l.event).filter(Boolean);
      expect(events).toEqual(['listening', 'signal', 'drain', 'drained']);
      // Gone: the port no longer accepts connections.
      await expect(fetch(s.url + '/healthz')).rejects.toThrow();
    } finally {
      s.child.kill('SIGKILL');
    }
  });

  it('keeps memory bounded and answers 200 or 429 while flooded far beyond its capacity', async () => {
    const s = await startServe(['--model', modelFile, '--max-batch', '8', '--max-queue', '16', '--device', 'cpu']);
    try {
      const pid = s.child.pid!;
      const statuses = new Map<number, number>();
      let failures = 0;
      let sentBytes = 0;
      // Open loop: 4 requests every 5 ms whatever the answers (several times what 2 cores can score).
      const flood = async (ms: number) => {
        const end = Date.now() + ms;
        const pending: Promise<void>[] = [];
        for (let i = 0; Date.now() < end; i++) {
          for (let k = 0; k < 4; k++) {
            const body = bytes[(4 * i + k) % bytes.length];
            sentBytes += body.length;
            pending.push(
              score(s.url, body).then(
                async (r) => {
                  await r.arrayBuffer();
                  statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
                },
                () => void failures++,
              ),
            );
          }
          await new Promise((r) => setTimeout(r, 5));
        }
        await Promise.all(pending);
      };
      await flood(1500); // warm-up: arenas, JIT, connection pools
      const base = rssOf(pid);
      let peak = base;
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 100);
      sentBytes = 0;
      await flood(6000);
      clearInterval(sampler);
      peak = Math.max(peak, rssOf(pid));
      expect(failures).toBe(0);
      expect([...statuses.keys()].sort()).toEqual([200, 429]);
      // Held, every body and its decoded pixels would be several times what was sent.
      const growth = peak - base;
      expect(growth, `RSS ${base} -> peak ${peak} after ${sentBytes} bytes sent`).toBeLessThan(96 * 1024 * 1024);
      expect((await fetch(s.url + '/healthz')).status).toBe(200);
      s.child.kill('SIGTERM');
      expect(await s.exited).toBe(0);
    } finally {
      s.child.kill('SIGKILL');
    }
  }, 60_000);
});
