/** Distributed batch scoring on BullMQ + Redis (docs/distributed.md). */
export { submitRun, type SubmitOptions, type ShardData, DEFAULT_SHARD_SIZE } from './submit.js';
export { ShardWorker, type WorkerOptions, type WorkerEvent, type StoredResult } from './worker.js';
export { runStatus, type RunStatus } from './status.js';
export { collectRun, type CollectOptions, type CollectSummary, RESULTS_HEADER } from './collect.js';
export { type RunMeta, type RunState } from './run-meta.js';
export { DEFAULT_REDIS_URL } from './redis.js';
export { fitDistributed, type DistributedFitOptions } from './fit.js';
