/** What a run records about itself in Redis (keys.run), written by submit, read by the rest. */
import type { Redis } from 'ioredis';

import { invalidInput } from '../errors.js';
import { keys } from './redis.js';

export type RunState = 'running' | 'completed' | 'failed';

export interface RunMeta {
  runId: string;
  /** Absolute path of the model file; every worker reads it there and checks its sha256. */
  model: string;
  modelSha256: string;
  /** The model's threshold on `score` (anomalous when score >= threshold). */
  threshold: number;
  images: number;
  shards: number;
  shardSize: number;
  state: RunState;
  createdAt: string;
  finishedAt: string | null;
}

export function metaFields(m: RunMeta): Record<string, string> {
  return {
    model: m.model,
    modelSha256: m.modelSha256,
    threshold: String(m.threshold),
    images: String(m.images),
    shards: String(m.shards),
    shardSize: String(m.shardSize),
    state: m.state,
    createdAt: m.createdAt,
    finishedAt: m.finishedAt ?? '',
  };
}

export async function readRun(redis: Redis, runId: string): Promise<RunMeta> {
  const h = await redis.hgetall(keys.run(runId));
  if (!h.modelSha256)
    throw invalidInput('run', `No run '${runId}' in this Redis (submit it with oneclass jobs submit)`);
  return {
    runId,
    model: h.model,
    modelSha256: h.modelSha256,
    threshold: Number(h.threshold),
    images: Number(h.images),
    shards: Number(h.shards),
    shardSize: Number(h.shardSize),
    state: h.state as RunState,
    createdAt: h.createdAt,
    finishedAt: h.finishedAt || null,
  };
}
