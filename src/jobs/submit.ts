/**
 * Submitting a run: an image list cut into shards of `shardSize` images, each shard a BullMQ job,
 * all children of one parent job (a BullMQ flow) that completes when every shard has. Shards are
 * retried with exponential backoff; a shard whose worker dies is recovered by BullMQ's stalled-job
 * check and given to another worker. Results: see redis.ts and worker.ts.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { invalidInput } from '../errors.js';
import { decodeModelFile, sha256 } from '../pipeline/model-file.js';
import { expectInteger } from '../validate.js';
import { metaFields, type RunMeta } from './run-meta.js';
import { addShardFlow } from './flow.js';
import { checkRunId, connectCommand, keys, SHARD_QUEUE } from './redis.js';

export interface SubmitOptions {
  redisUrl: string;
  /** The model file; workers read it at this (absolute) path, so it must be on shared storage. */
  model: string;
  /** Image paths, readable by every worker at the same path. Duplicates are scored once. */
  images: readonly string[];
  /** Images per shard (default 500). */
  shardSize?: number;
  /** Run id (default: a random UUID); an existing id is refused. */
  runId?: string;
  /** Attempts per shard before it counts as failed (default 5). */
  attempts?: number;
}

/** One shard job's data. */
export interface ShardData {
  runId: string;
  shard: number;
  /** Index of the shard's first image in the run's list. */
  start: number;
  images: string[];
  model: string;
  modelSha256: string;
}

export const DEFAULT_SHARD_SIZE = 500;

export async function submitRun(options: SubmitOptions): Promise<RunMeta> {
  const shardSize = expectInteger('shardSize', options.shardSize ?? DEFAULT_SHARD_SIZE, 1, 1_000_000);
  const attempts = expectInteger('attempts', options.attempts ?? 5, 1, 1000);
  const runId = checkRunId(options.runId ?? randomUUID());
  const model = path.resolve(options.model);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(model));
  } catch (cause) {
    throw invalidInput(model, `Cannot read model file ${model}: ${(cause as Error).message}`, cause);
  }
  // Refuse a bad model here rather than in every worker.
  const { config } = decodeModelFile(bytes, model);
  const seen = new Set<string>();
  const images: string[] = [];
  for (const p of options.images) {
    const abs = path.resolve(p);
    if (!seen.has(abs)) images.push(abs);
    seen.add(abs);
  }
  if (images.length === 0) throw invalidInput('images', 'No images to score: the list is empty');

  const meta: RunMeta = {
    runId,
    model,
    modelSha256: sha256(bytes),
    threshold: config.image.threshold,
    images: images.length,
    shards: Math.ceil(images.length / shardSize),
    shardSize,
    state: 'running',
    createdAt: new Date().toISOString(),
    finishedAt: null,
  };
  const redis = await connectCommand(options.redisUrl);
  try {
    if ((await redis.hsetnx(keys.run(runId), 'modelSha256', meta.modelSha256)) === 0)
      throw invalidInput('run', `A run '${runId}' exists already; choose another id`);
    const tx = redis.multi().hset(keys.run(runId), metaFields(meta));
    for (let i = 0; i < images.length; i += 10_000) tx.rpush(keys.images(runId), ...images.slice(i, i + 10_000));
    await tx.exec();
    await addShardFlow(redis, {
      runId,
      name: 'run',
      shardName: 'shard',
      shardQueue: SHARD_QUEUE,
      shards: meta.shards,
      attempts,
      data: (shard): ShardData => {
        const start = shard * shardSize;
        return {
          runId,
          shard,
          start,
          images: images.slice(start, start + shardSize),
          model,
          modelSha256: meta.modelSha256,
        };
      },
    });
  } finally {
    redis.disconnect();
  }
  return meta;
}
