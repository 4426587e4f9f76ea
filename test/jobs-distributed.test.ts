/**
 * Distributed batch scoring (src/jobs) with a real redis-server on loopback and real worker
 * processes (dist/cli/main.js jobs worker): two workers score 5,000 real CIFAR-10 JPEGs, one is
 * killed with SIGKILL in the middle of a shard, and the collected CSV holds every image exactly
 * once with the scores of a single-process Detector.score. Also: results are reused by a later
 * run, unreadable images become error rows, an incomplete run is not collected by mistake.
 *
 * Needs Debian's redis-server (skipped with a message without it), ../shared/data and dist/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../src/cli/run.js';
import { readCifarJpeg } from '../src/datasets/cifar10.js';
import { fitDistributed } from '../src/jobs/fit.js';
import { ShardWorker } from '../src/jobs/worker.js';
import { Detector } from '../src/pipeline/detector.js';
import {
  CIFAR_ENCODER,
  exampleFiles,
  FAST_LOCALIZATION,
  TILE_ENCODER,
  tempDir,
} from './fixtures/eval/pipeline-helpers.js';
import { hasRedisServer, NO_REDIS_MESSAGE, type RedisServer, startRedis } from './fixtures/redis-helpers.js';
import { MAIN } from './fixtures/serve-helpers.js';
import { hasSharedData, SHARED_DATA } from './helpers.js';

const ready = hasRedisServer && hasSharedData && existsSync(MAIN);
if (!hasRedisServer) console.warn(`jobs-distributed.test.ts skipped: ${NO_REDIS_MESSAGE}`);

let redis: RedisServer;
let dir = '';
let modelFile = '';
let images: string[] = [];
const reference = new Map<string, { score: number; raw: number; anomalous: boolean }>();
const workers: WorkerProcess[] = [];

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _e, cb) {
        f(String(chunk));
        cb();
      },
    });
  const code = await runCli(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

interface WorkerProcess {
  child: ChildProcess;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** Resolves with the first event that matches. */
  next(match: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
}

function startWorker(url: string): WorkerProcess {
  const child = spawn(
    process.execPath,
    [MAIN, 'jobs', 'worker', '--redis', url, '--lock-ms', '2000', '--device', 'cpu'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: Record<string, unknown>[] = [];
  const waiters: { match: (e: Record<string, unknown>) => boolean; resolve: (e: Record<string, unknown>) => void }[] =
    [];
  let pending = '';
  child.stdout!.on('data', (d) => {
    pending += String(d);
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines.filter((l) => l.trim())) {
      const e = JSON.parse(line) as Record<string, unknown>;
      events.push(e);
      for (const w of waiters.splice(0)) (w.match(e) ? w.resolve(e) : waiters.push(w)) as unknown;
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const w: WorkerProcess = {
    child,
    events,
    exited,
    next: (match) => {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
  workers.push(w);
  return w;
}

const alive = (w: WorkerProcess) => w.child.exitCode === null && w.child.signalCode === null;

async function waitForRun(url: string, runId: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await cli('jobs', 'status', '--redis', url, '--run', runId, '--json');
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    if (s.state !== 'running' || Date.now() > end) return s;
    await new Promise((res) => setTimeout(res, 250));
  }
}

function readCsv(file: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n');
  const cols = header.split(',');
  return rows.map((line) => Object.fromEntries(line.split(',').map((v, i) => [cols[i], v])));
}

describe.skipIf(!ready)('oneclass jobs on BullMQ + Redis', () => {
  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir('jobs');
    // 5,000 real CIFAR-10 training JPEGs of all classes, written as files the workers read.
    const all = readCifarJpeg(join(SHARED_DATA, 'cifar10', 'train_jpeg.bin'));
    mkdirSync(join(dir, 'images'));
    images = Array.from({ length: 5000 }, (_, i) => {
      const file = join(dir, 'images', `${String(i).padStart(5, '0')}.jpg`);
      writeFileSync(file, all[i * 10 + 1].item.image as Uint8Array);
      return file;
    });
    const det = await Detector.fit({
      encoder: CIFAR_ENCODER,
      encoderOptions: { device: 'cpu' },
      images: all
        .filter((r) => r.classIndex === 0)
        .slice(0, 400)
        .map((r) => r.item),
      detector: { kind: 'knn' },
    });
    modelFile = join(dir, 'airplane.oneclass');
    await det.save(modelFile);
    const r = await det.score(images);
    for (const item of r.items) reference.set(item.id, { score: item.score, raw: item.raw, anomalous: item.anomalous });
    await det.release();
  }, 300_000);

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await redis?.stop();
  });

  it('two workers score 5,000 images, one killed mid-shard: every image exactly once, single-process scores', async () => {
    const list = join(dir, 'images.txt');
    writeFileSync(list, images.join('\n') + '\n');
    const submitted = await cli(
      'jobs',
      'submit',
      '--redis',
      redis.url,
      '--model',
      modelFile,
      '--images',
      list,
      '--shard-size',
      '250',
      '--run',
      'cifar-5000',
    );
    expect(submitted, submitted.stderr).toMatchObject({ code: 0, stdout: 'cifar-5000\n' });
    const a = startWorker(redis.url);
    const b = startWorker(redis.url);
    // Kill A with a shard half done: some of its images have results in Redis, not all.
    const probe = new Redis(redis.url);
    const tried = new Set<unknown>();
    let victim: Record<string, unknown> | null = null;
    let partial = 0;
    while (!victim) {
      const start = await a.next((e) => e.event === 'shard-start' && !tried.has(e.shard));
      tried.add(start.shard);
      const first = (start.shard as number) * 250;
      const fields = Array.from({ length: 250 }, (_, k) => String(first + k));
      for (;;) {
        const got = (await probe.hmget('oneclass:run:cifar-5000:done', ...fields)).filter((v) => v !== null).length;
        if (got > 0 && got < 250) {
          a.child.kill('SIGKILL');
          victim = start;
          partial = got;
          break;
        }
        if (got === 250) break; // finished before we looked: try A's next shard
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    probe.disconnect();
    expect(await a.exited).toBe(null);
    expect(partial).toBeGreaterThan(0);
    expect(a.events.some((e) => e.event === 'shard-done' && e.shard === victim!.shard)).toBe(false);

    const status = await waitForRun(redis.url, 'cifar-5000', 180_000);
    expect(status).toMatchObject({ state: 'completed', imagesDone: 5000, shardsDone: 20, shardsFailed: {} });
    // The killed worker's shard was finished by the other worker after its lock expired.
    const resumed = b.events.find((e) => e.event === 'shard-done' && e.shard === victim!.shard);
    // ...which kept the results A had stored and scored only the rest.
    expect(resumed).toMatchObject({ images: 250, errors: 0 });
    expect(resumed!.reused as number).toBeGreaterThanOrEqual(partial);
    expect((resumed!.reused as number) + (resumed!.scored as number)).toBe(250);

    const out = join(dir, 'results.csv');
    const collected = await cli('jobs', 'collect', '--redis', redis.url, '--run', 'cifar-5000', '--out', out);
    expect(collected.code, collected.stderr).toBe(0);
    const rows = readCsv(out);
    expect(rows).toHaveLength(5000);
    expect(rows.map((r) => r.image)).toEqual(images);
    expect(new Set(rows.map((r) => r.image)).size).toBe(5000);
    for (const r of rows) {
      const ref = reference.get(r.image)!;
      expect(Number(r.raw_score)).toBe(ref.raw);
      expect(Number(r.score)).toBe(ref.score);
      expect(r.anomalous).toBe(ref.anomalous ? '1' : '0');
      expect(r.error).toBe('');
    }
  }, 300_000);

  it('a later run reuses stored results; unreadable files become error rows', async () => {
    const bad = join(dir, 'not-a-jpeg.jpg');
    writeFileSync(bad, 'plain text');
    const list = join(dir, 'again.txt');
    const again = [...images.slice(0, 40), bad, join(dir, 'missing.jpg')];
    writeFileSync(list, again.join('\n'));
    const w = workers.find(alive) ?? startWorker(redis.url);
    const submitted = await cli(
      'jobs',
      'submit',
      '--redis',
      redis.url,
      '--model',
      modelFile,
      '--images',
      list,
      '--shard-size',
      '100',
      '--run',
      'again',
    );
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(await waitForRun(redis.url, 'again', 60_000)).toMatchObject({ state: 'completed', imagesDone: 42 });
    const out = join(dir, 'again.csv');
    expect((await cli('jobs', 'collect', '--redis', redis.url, '--run', 'again', '--out', out)).code).toBe(0);
    const rows = readCsv(out);
    expect(rows.map((r) => r.image)).toEqual(again);
    rows.slice(0, 40).forEach((r) => expect(Number(r.raw_score)).toBe(reference.get(r.image)!.raw));
    expect(rows[40].error).toMatch(/ERR_IMAGE_DECODE: Cannot decode/);
    expect(rows[41].error).toMatch(/ERR_IMAGE_DECODE: Cannot read .*missing\.jpg/);
    // The 40 images scored by the first run were not scored again.
    const shard = w.events.find((e) => e.event === 'shard-done' && e.runId === 'again');
    expect(shard).toMatchObject({ images: 42, scored: 0, reused: 40, errors: 2 });
  }, 120_000);

  it('refuses to collect an incomplete run, and a second run with the same id', async () => {
    const list = join(dir, 'one.txt');
    writeFileSync(list, images[0]);
    // No worker takes it: shut the remaining ones down first.
    for (const w of workers.filter(alive)) {
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    }
    expect(
      (await cli('jobs', 'submit', '--redis', redis.url, '--model', modelFile, '--images', list, '--run', 'x')).code,
    ).toBe(0);
    const twice = await cli(
      'jobs',
      'submit',
      '--redis',
      redis.url,
      '--model',
      modelFile,
      '--images',
      list,
      '--run',
      'x',
    );
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(/A run 'x' exists already/);
    const early = await cli('jobs', 'collect', '--redis', redis.url, '--run', 'x', '--out', join(dir, 'x.csv'));
    expect(early.code).toBe(3);
    expect(early.stderr).toMatch(/incomplete: 1 of 1 images have no result yet/);
    expect(existsSync(join(dir, 'x.csv'))).toBe(false);
    const unreachable = await cli('jobs', 'status', '--redis', 'redis://127.0.0.1:1', '--run', 'x');
    expect(unreachable.code).toBe(7);
    expect(unreachable.stderr).toMatch(/\[ERR_UNAVAILABLE\] Cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });

  it('distributed fit: workers embed shards, the merged fit equals Detector.fit on the same images', async () => {
    const train = exampleFiles('train/good', 16);
    const probe = [...exampleFiles('test/good', 2), ...exampleFiles('test/crack', 1), ...exampleFiles('test/fray', 1)];
    const options = {
      encoder: TILE_ENCODER,
      encoderOptions: { device: 'cpu' as const },
      images: train,
      detector: { kind: 'knn' as const },
      localization: FAST_LOCALIZATION,
    };
    const pool = await Promise.all(
      [0, 1].map(() => ShardWorker.start({ redisUrl: redis.url, load: { device: 'cpu' } })),
    );
    let distributed: Detector | null = null;
    const local = await Detector.fit(options);
    try {
      distributed = await fitDistributed({ redisUrl: redis.url, fit: options, shardSize: 5, runId: 'fit-tiles' });
      expect(distributed.config.training.images).toBe(16);
      expect(distributed.config.image).toEqual(local.config.image);
      expect(distributed.config.localization).toEqual(local.config.localization);
      expect(distributed.config.input).toEqual(local.config.input);
      const [a, b] = await Promise.all([distributed.localize(probe), local.localize(probe)]);
      a.items.forEach((item, i) => {
        expect(item.raw).toBe(b.items[i].raw);
        expect(Array.from(item.heatmap!.data)).toEqual(Array.from(b.items[i].heatmap!.data));
      });
      // The command line: a KDE without localization from a list of paths, against Detector.fit.
      const list = join(dir, 'train.txt');
      writeFileSync(list, train.join('\n'));
      const out = join(dir, 'kde.oneclass');
      const r = await cli(
        'jobs',
        'fit',
        '--redis',
        redis.url,
        '--encoder',
        TILE_ENCODER,
        '--images',
        list,
        '--detector',
        'kde',
        '--shard-size',
        '6',
        '--out',
        out,
        '--device',
        'cpu',
      );
      expect(r.code, r.stderr).toBe(0);
      const viaCli = await Detector.load(out, { device: 'cpu' });
      const kde = await Detector.fit({ ...options, localization: undefined, detector: { kind: 'kde' } });
      expect(viaCli.config.image).toEqual(kde.config.image);
      const [c, d] = await Promise.all([viaCli.score(probe), kde.score(probe)]);
      expect(c.items.map((i) => i.raw)).toEqual(d.items.map((i) => i.raw));
      await Promise.all([viaCli.release(), kde.release()]);
    } finally {
      await distributed?.release();
      await local.release();
      await Promise.all(pool.map((w) => w.close()));
    }
  }, 180_000);

  it('distributed fit with test-time views: workers embed the quarter turns as Detector.fit does', async () => {
    const options = {
      encoder: CIFAR_ENCODER,
      encoderOptions: { device: 'cpu' as const },
      images: images.slice(0, 30),
      detector: { kind: 'gde' as const },
    };
    const w = await ShardWorker.start({ redisUrl: redis.url, load: { device: 'cpu' } });
    let distributed: Detector | null = null;
    const local = await Detector.fit(options);
    try {
      distributed = await fitDistributed({ redisUrl: redis.url, fit: options, shardSize: 12, runId: 'fit-views' });
      // A rotation encoder: four views by default, on both sides.
      expect(local.config.encoder.views).toBe('rotations');
      expect(distributed.config.encoder.views).toBe('rotations');
      expect(distributed.config.image).toEqual(local.config.image);
      const probe = images.slice(100, 104);
      const [a, b] = await Promise.all([distributed.score(probe), local.score(probe)]);
      expect(a.items.map((i) => i.raw)).toEqual(b.items.map((i) => i.raw));
    } finally {
      await distributed?.release();
      await local.release();
      await w.close();
    }
  }, 180_000);

  it('distributed fit fails at once on an unreadable training image', async () => {
    const bad = join(dir, 'broken.jpg');
    writeFileSync(bad, 'not a jpeg');
    const w = await ShardWorker.start({ redisUrl: redis.url, load: { device: 'cpu' } });
    try {
      await expect(
        fitDistributed({
          redisUrl: redis.url,
          fit: { encoder: TILE_ENCODER, images: [...exampleFiles('train/good', 4), bad], detector: { kind: 'knn' } },
          shardSize: 2,
          runId: 'fit-broken',
        }),
      ).rejects.toMatchObject({ code: 'ERR_IMAGE_DECODE', message: expect.stringMatching(/broken\.jpg/) });
    } finally {
      await w.close();
    }
  }, 60_000);
});
