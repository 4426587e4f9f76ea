/**
 * A worker of distributed scoring (`oneclass jobs worker`): takes shard jobs from BullMQ and
 * scores their images with one in-process dynamic batcher per model, so images of the shards it
 * runs at once (`concurrency`) share batches.
 *
 * A shard is processed in chunks: each image is read and hashed (sha256 of its bytes); results
 * already stored under (model sha256, path, content sha256) are reused, the others scored; then
 * the chunk's results and the run's pointers to them are written in one MULTI. A worker killed
 * in the middle of a shard therefore loses at most the chunk in flight: BullMQ's stalled-job
 * check gives the shard to another worker after `lockMs`, which skips what is stored and scores
 * the rest. Processing is at least once, results exactly once.
 *
 * An image that cannot be decoded, or that the model cannot take (wrong channels or size), is a
 * property of the image: its error is stored as its result and the shard goes on. Anything else
 * (Redis, the model) fails the shard, which BullMQ retries with backoff.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';

import { Encoder } from '../encoder/index.js';
import { Detector, type LoadOptions } from '../pipeline/detector.js';
import { embedImages } from '../pipeline/fit.js';
import { nameImages } from '../pipeline/images.js';
import { sha256 } from '../pipeline/model-file.js';
import { Batcher } from '../serve/batcher.js';
import type { BatcherOptions } from '../serve/options.js';
import { expectInteger } from '../validate.js';
import { shardFields } from './embeddings.js';
import type { EmbedData } from './fit.js';
import { connectWorker, EMBED_QUEUE, execAll, keys, resultField, RUN_QUEUE, SHARD_QUEUE } from './redis.js';
import type { ShardData } from './submit.js';

export interface WorkerOptions {
  redisUrl: string;
  /** Shards processed at once (default 2: one shard's reads and writes overlap the other's scoring). */
  concurrency?: number;
  /** Images read, hashed and written together (default 64). */
  chunk?: number;
  /** How long a shard's lock lasts without renewal; a dead worker's shard is retried after it (default 30000 ms). */
  lockMs?: number;
  batcher?: BatcherOptions;
  load?: LoadOptions;
  /** Lifecycle and shard events, for logs. */
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { event: 'model-loaded'; model: string; sha256: string }
  | { event: 'shard-start'; runId: string; shard: number; images: number; attempt: number }
  | {
      event: 'shard-done';
      runId: string;
      shard: number;
      images: number;
      scored: number;
      reused: number;
      errors: number;
      ms: number;
    }
  | { event: 'shard-failed'; runId: string; shard: number; attempt: number; final: boolean; reason: string }
  | { event: 'run-done'; runId: string }
  | { event: 'redis-error'; reason: string };

/** What is stored per image. */
export type StoredResult = { score: number; raw: number; anomalous: boolean } | { error: string; code: string };

interface LoadedModel {
  detector: Detector;
  batcher: Batcher;
}

/** Errors that belong to one image: stored as its result, not retried. */
const IMAGE_ERRORS = new Set(['ERR_IMAGE_DECODE', 'ERR_INVALID_ARGUMENT']);

export class ShardWorker {
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private readonly encoders = new Map<string, Promise<Encoder>>();
  private readonly redis: Redis;
  private readonly workers: Worker[] = [];
  private readonly chunk: number;
  private readonly concurrency: number;
  private readonly options: WorkerOptions;

  private constructor(options: WorkerOptions) {
    this.options = options;
    this.concurrency = expectInteger('concurrency', options.concurrency ?? 2, 1, 1024);
    this.chunk = expectInteger('chunk', options.chunk ?? 64, 1, 100_000);
    this.redis = connectWorker(options.redisUrl, (e) => options.onEvent?.({ event: 'redis-error', reason: e.message }));
  }

  static async start(options: WorkerOptions): Promise<ShardWorker> {
    const w = new ShardWorker(options);
    const lockMs = expectInteger('lockMs', options.lockMs ?? 30_000, 1000);
    const common = {
      connection: w.redis,
      lockDuration: lockMs,
      // How often this worker looks for shards whose worker died (their lock expired).
      stalledInterval: lockMs,
      maxStalledCount: 3,
    };
    const shards = new Worker<ShardData>(SHARD_QUEUE, (job) => w.processShard(job), {
      ...common,
      concurrency: w.concurrency,
    });
    const embeds = new Worker<EmbedData>(EMBED_QUEUE, (job) => w.processEmbed(job), {
      ...common,
      concurrency: 1,
    });
    const onFailed = (job: Job<ShardData | EmbedData> | undefined, error: Error) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError;
      options.onEvent?.({
        event: 'shard-failed',
        runId: job.data.runId,
        shard: job.data.shard,
        attempt: job.attemptsMade,
        final,
        reason: error.message,
      });
      if (final) {
        void execAll(
          w.redis
            .multi()
            .hset(keys.shardsFailed(job.data.runId), String(job.data.shard), error.message)
            .hset(keys.run(job.data.runId), 'state', 'failed'),
        ).catch(() => undefined);
      }
    };
    shards.on('failed', onFailed);
    embeds.on('failed', onFailed);
    // The parent job of a run becomes processable when its last shard completes.
    const runs = new Worker<{ runId: string }>(
      RUN_QUEUE,
      async (job) => {
        await w.redis.hset(keys.run(job.data.runId), 'state', 'completed', 'finishedAt', new Date().toISOString());
        options.onEvent?.({ event: 'run-done', runId: job.data.runId });
      },
      common,
    );
    w.workers.push(shards, embeds, runs);
    await Promise.all(w.workers.map((x) => x.waitUntilReady()));
    return w;
  }

  /** Finishes the shards in progress (no new ones are taken), then releases the models. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((x) => x.close()));
    for (const m of this.models.values()) {
      const loaded = await m.catch(() => null);
      if (!loaded) continue;
      await loaded.batcher.close();
      await loaded.detector.release();
    }
    for (const e of this.encoders.values()) await (await e.catch(() => null))?.release();
    this.redis.disconnect();
  }

  private encoder(file: string, expectedSha: string): Promise<Encoder> {
    return loadOnce(this.encoders, expectedSha, async () => {
      const encoder = await Encoder.load(file, this.options.load?.encoderOptions);
      const changed = fileChanged(file, sha256(encoder.modelBytes), expectedSha, 'fit');
      if (changed) {
        await encoder.release();
        throw changed;
      }
      return encoder;
    });
  }

  private shardStarted(job: Job<ShardData | EmbedData>): void {
    this.options.onEvent?.({
      event: 'shard-start',
      runId: job.data.runId,
      shard: job.data.shard,
      images: job.data.images.length,
      attempt: job.attemptsMade + 1,
    });
  }

  /** Distributed fit: embeds a shard of training images and stores the matrices (embeddings.ts). */
  private async processEmbed(job: Job<EmbedData>): Promise<{ rows: number }> {
    const t0 = performance.now();
    const { runId, shard, images, geometry } = job.data;
    this.shardStarted(job);
    const encoder = await this.encoder(job.data.encoder, job.data.encoderSha256);
    let training;
    try {
      training = await embedImages(
        encoder,
        {
          images: nameImages(images),
          output: job.data.output,
          views: job.data.views ?? 'none',
          batchSize: job.data.batchSize,
          onUnreadable: job.data.onUnreadable,
        },
        geometry,
      );
    } catch (error) {
      // A bad image fails the same way on every attempt: fail the fit now.
      const code = (error as { code?: string }).code ?? '';
      if (IMAGE_ERRORS.has(code)) throw new UnrecoverableError(`[${code}] ${(error as Error).message}`);
      throw error;
    }
    await execAll(
      this.redis
        .multi()
        .hset(keys.embedded(runId, shard), shardFields(training))
        .sadd(keys.shardsDone(runId), String(shard)),
    );
    this.options.onEvent?.({
      event: 'shard-done',
      runId,
      shard,
      images: images.length,
      scored: training.image.rows,
      reused: 0,
      errors: training.skipped.length,
      ms: performance.now() - t0,
    });
    return { rows: training.image.rows };
  }

  private model(file: string, expectedSha: string): Promise<LoadedModel> {
    return loadOnce(this.models, expectedSha, async () => {
      const bytes = new Uint8Array(await readFile(file));
      const changed = fileChanged(file, sha256(bytes), expectedSha, 'run');
      if (changed) throw changed;
      const detector = await Detector.load(file, this.options.load);
      const batcher = new Batcher(detector, {
        ...this.options.batcher,
        // Every chunk of every shard in progress may wait at once.
        maxQueue: Math.max(this.options.batcher?.maxQueue ?? 0, this.concurrency * this.chunk),
      });
      this.options.onEvent?.({ event: 'model-loaded', model: file, sha256: expectedSha });
      return { detector, batcher };
    });
  }

  private async processShard(job: Job<ShardData>): Promise<{ images: number; scored: number; reused: number }> {
    const t0 = performance.now();
    const { runId, shard, start, images, model, modelSha256 } = job.data;
    this.shardStarted(job);
    const { batcher } = await this.model(model, modelSha256);
    const resultsKey = keys.results(modelSha256);
    let scored = 0;
    let reused = 0;
    let errors = 0;
    for (let c = 0; c < images.length; c += this.chunk) {
      const paths = images.slice(c, c + this.chunk);
      const read = await Promise.all(
        paths.map(async (p) => {
          try {
            const bytes = await readFile(p);
            return { bytes, sha: createHash('sha256').update(bytes).digest('hex') };
          } catch (cause) {
            // A missing or unreadable file is the image's own result; its "content" is the error.
            return { bytes: null, sha: `unreadable`, error: (cause as Error).message };
          }
        }),
      );
      const fields = paths.map((p, i) => resultField(read[i].sha, p));
      const stored = await this.redis.hmget(resultsKey, ...fields);
      const fresh: Record<string, string> = {};
      await Promise.all(
        paths.map(async (p, i) => {
          if (stored[i] !== null) {
            reused++;
            return;
          }
          const r = read[i];
          let result: StoredResult;
          if (!r.bytes) {
            result = { error: `Cannot read ${p}: ${r.error}`, code: 'ERR_IMAGE_DECODE' };
          } else {
            try {
              const item = (await batcher.score([{ id: p, image: r.bytes }])).items[0];
              result = { score: item.score, raw: item.raw, anomalous: item.anomalous };
              scored++;
            } catch (error) {
              const code = (error as { code?: string }).code ?? '';
              if (!IMAGE_ERRORS.has(code)) throw error;
              result = { error: (error as Error).message, code };
            }
          }
          if ('error' in result) errors++;
          fresh[fields[i]] = JSON.stringify(result);
        }),
      );
      const tx = this.redis.multi();
      if (Object.keys(fresh).length > 0) tx.hset(resultsKey, fresh);
      tx.hset(keys.done(runId), Object.fromEntries(paths.map((_, i) => [String(start + c + i), read[i].sha])));
      await execAll(tx);
      await job.updateProgress(Math.min(images.length, c + this.chunk));
    }
    await this.redis.sadd(keys.shardsDone(runId), String(shard));
    this.options.onEvent?.({
      event: 'shard-done',
      runId,
      shard,
      images: images.length,
      scored,
      reused,
      errors,
      ms: performance.now() - t0,
    });
    return { images: images.length, scored, reused };
  }
}

/** The file's value loaded once per sha256 and shared; a failed load is retried by the next shard, not cached. */
function loadOnce<T>(cache: Map<string, Promise<T>>, sha: string, load: () => Promise<T>): Promise<T> {
  let value = cache.get(sha);
  if (!value) {
    value = load();
    value.catch(() => cache.delete(sha));
    cache.set(sha, value);
  }
  return value;
}

/** The error for a file whose content is no longer what the run or fit was submitted with, or null. */
function fileChanged(file: string, actual: string, expected: string, submitted: 'run' | 'fit') {
  if (actual === expected) return null;
  return new UnrecoverableError(
    `${file} has sha256 ${actual.slice(0, 12)}..., not the ${expected.slice(0, 12)}... the ${submitted} was submitted with (the file changed)`,
  );
}
