/**
 * The one shape of job both distributed runs take (scoring runs, submit.ts; embedding for a fit,
 * fit.ts): a BullMQ flow of one parent per run and one child per shard, each child retried with
 * exponential backoff and failing the parent once its attempts are spent.
 */
import { FlowProducer } from 'bullmq';
import type { Redis } from 'ioredis';

import { RUN_QUEUE } from './redis.js';

export interface ShardFlow<T> {
  runId: string;
  /** The parent job's name ('run', 'fit'); it waits in RUN_QUEUE. */
  name: string;
  /** The children's name and queue. */
  shardName: string;
  shardQueue: string;
  shards: number;
  /** Attempts per shard. */
  attempts: number;
  /** Shard k's job data. */
  data: (shard: number) => T;
}

/** Adds the run's parent job and its shard jobs (`RUNID-K`) in one flow. */
export async function addShardFlow<T>(connection: Redis, flow: ShardFlow<T>): Promise<void> {
  const producer = new FlowProducer({ connection });
  try {
    await producer.add({
      name: flow.name,
      queueName: RUN_QUEUE,
      data: { runId: flow.runId },
      opts: { jobId: flow.runId },
      children: Array.from({ length: flow.shards }, (_, shard) => ({
        name: flow.shardName,
        queueName: flow.shardQueue,
        data: flow.data(shard),
        opts: {
          jobId: `${flow.runId}-${shard}`,
          attempts: flow.attempts,
          backoff: { type: 'exponential', delay: 1000 },
          // A shard that exhausts its attempts fails the run (jobs status shows which and why).
          failParentOnFailure: true,
          removeOnComplete: { count: 10_000 },
        },
      })),
    });
  } finally {
    await producer.close();
  }
}
