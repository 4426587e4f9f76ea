/**
 * Serving: the in-process dynamic batcher and load measurement (no dependencies beyond the
 * pipeline). The HTTP server is `oneclass/server` (fastify), distributed scoring `oneclass/jobs`
 * (BullMQ), so that importing 'oneclass' loads neither.
 */
export { Batcher, type BatchedResult, type RequestTimings } from './batcher.js';
export type { BatcherOptions, BatchMode, BatchReport, RequestOptions } from './options.js';
export {
  measureLoad,
  summarize,
  type LoadOptions as LoadTestOptions,
  type LoadReport,
  type LoadTarget,
  type LatencySummary,
  type StageTimes,
  type WindowResult,
} from './load.js';
export { httpTarget, parseServerTiming } from './http-target.js';
