/**
 * Redis for distributed scoring: connections, and every key oneclass itself keeps there (BullMQ
 * keeps its queues under its own `bull:` prefix). All keys of a run start with `oneclass:run:ID`.
 *
 *   oneclass:run:ID               hash: model path and sha256, threshold, image and shard counts, state
 *   oneclass:run:ID:images        list: the run's image paths, in the submitted order
 *   oneclass:run:ID:done          hash: image index -> content sha256 (points into the results)
 *   oneclass:run:ID:shards-done   set: shard numbers completed
 *   oneclass:run:ID:shards-failed hash: shard number -> reason, once its attempts are spent
 *   oneclass:results:MODEL_SHA    hash: "CONTENT_SHA:PATH" -> result JSON
 *   oneclass:run:ID:embedded:K    hash: shard K's embeddings (distributed fit, embeddings.ts)
 *
 * The results hash is keyed by (model sha256, image path, content sha256): writing a result is
 * idempotent, so a shard that is retried (its worker died) rewrites the same fields and never
 * adds a second result; an image scored before with the same model and content is not scored again.
 */
import { type ChainableCommander, Redis } from 'ioredis';

import { OneclassError } from '../errors.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const SHARD_QUEUE = 'oneclass-shards';
export const RUN_QUEUE = 'oneclass-runs';
export const EMBED_QUEUE = 'oneclass-embed';

export const keys = {
  run: (id: string) => `oneclass:run:${id}`,
  images: (id: string) => `oneclass:run:${id}:images`,
  done: (id: string) => `oneclass:run:${id}:done`,
  shardsDone: (id: string) => `oneclass:run:${id}:shards-done`,
  shardsFailed: (id: string) => `oneclass:run:${id}:shards-failed`,
  results: (modelSha: string) => `oneclass:results:${modelSha}`,
  /** Distributed fit: one shard's embeddings (embeddings.ts), deleted once the fit has read them. */
  embedded: (id: string, shard: number) => `oneclass:run:${id}:embedded:${shard}`,
};

/** The field of one image's result in keys.results(modelSha). */
export function resultField(contentSha: string, imagePath: string): string {
  return `${contentSha}:${imagePath}`;
}

/**
 * A connection for a command (submit, status, collect): fails fast with ERR_UNAVAILABLE when
 * Redis cannot be reached, instead of retrying forever.
 */
export async function connectCommand(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 5000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  // Errors surface through the commands; the 'error' events would only repeat them on stderr.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw unreachable(url, cause);
  }
  return redis;
}

/** A connection for BullMQ workers and producers: reconnects forever (BullMQ's requirement). */
export function connectWorker(url: string, onError?: (e: Error) => void): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  redis.on('error', (e) => onError?.(e));
  return redis;
}

export function unreachable(url: string, cause: unknown): OneclassError {
  return new OneclassError('ERR_UNAVAILABLE', `Cannot reach Redis at ${url}: ${(cause as Error).message}`, { cause });
}

/** A run id names Redis keys and BullMQ job ids: letters, digits, '-', '_', '.'. */
export function checkRunId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected a run id of letters, digits, '.', '_' or '-' (at most 128) but received '${id}'`,
      { path: 'run' },
    );
  }
  return id;
}

/** Runs a MULTI and throws the first command's error (ioredis returns them instead). */
export async function execAll(tx: ChainableCommander): Promise<void> {
  const replies = await tx.exec();
  if (replies === null) throw new OneclassError('ERR_UNAVAILABLE', 'A Redis transaction was aborted');
  const failed = replies.find(([e]) => e);
  if (failed) throw failed[0]!;
}
