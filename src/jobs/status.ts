/** `oneclass jobs status`: a run's progress from the counters the workers keep (run-meta, redis.ts). */
import { type RunMeta, readRun } from './run-meta.js';
import { connectCommand, keys } from './redis.js';

export interface RunStatus extends RunMeta {
  /** Images with a stored result (scores or a per-image error). */
  imagesDone: number;
  shardsDone: number;
  /** Shards that spent their attempts, with the last reason. */
  shardsFailed: Record<string, string>;
}

export async function runStatus(redisUrl: string, runId: string): Promise<RunStatus> {
  const redis = await connectCommand(redisUrl);
  try {
    const meta = await readRun(redis, runId);
    const [imagesDone, shardsDone, shardsFailed] = await Promise.all([
      redis.hlen(keys.done(runId)),
      redis.scard(keys.shardsDone(runId)),
      redis.hgetall(keys.shardsFailed(runId)),
    ]);
    return { ...meta, imagesDone, shardsDone, shardsFailed };
  } finally {
    redis.disconnect();
  }
}
