/** The batcher's options, checked and defaulted once (validate.ts helpers, house messages). */
import { invalidArgument } from '../errors.js';
import {
  expectBoolean,
  expectInteger,
  expectKnownKeys,
  expectNonNegativeNumber,
  expectOptions,
  MAX_BATCH_SIZE,
} from '../validate.js';
import type { UnreadablePolicy } from '../pipeline/images.js';

export type BatchMode = 'score' | 'localize';

/** One formed batch, as reported to `onBatch` (metrics, logs). */
export interface BatchReport {
  mode: BatchMode;
  /** Images in the batch (after unreadable ones were skipped). */
  images: number;
  /** Requests with at least one image in the batch. */
  requests: number;
  decodeMs: number;
  encodeMs: number;
  detectMs: number;
  /** For each request part in the batch: time from enqueue to the batch being formed. */
  queueMs: number[];
  /** Set when the batch as a whole failed (its requests were rejected with it). */
  error?: Error;
}

export interface BatcherOptions {
  /** Most images in one score batch (default 32). */
  maxBatch?: number;
  /** Most images in one localize batch: patches are embedded too (default 8). */
  maxLocalizeBatch?: number;
  /** Longest an image waits for a fuller batch before one is formed anyway (default 5 ms). */
  maxDelayMs?: number;
  /** Most images waiting to be batched; more are refused with ERR_QUEUE_FULL (default 8 x maxBatch). */
  maxQueue?: number;
  /** Per-request deadline from enqueue to result, ERR_TIMEOUT after it; 0 = none (default 30000 ms). */
  timeoutMs?: number;
  /** Batches in flight at once: one decoding, one encoding, one detecting (default 3). */
  pipelineDepth?: number;
  /** Score images whose size differs from a fixed training size (default false). */
  allowResize?: boolean;
  /** Called after every batch (for metrics). */
  onBatch?: (report: BatchReport) => void;
}

export interface ResolvedBatcherOptions {
  maxBatch: Record<BatchMode, number>;
  maxDelayMs: number;
  maxQueue: number;
  timeoutMs: number;
  pipelineDepth: number;
  allowResize: boolean;
  onBatch: ((report: BatchReport) => void) | undefined;
}

const KEYS = [
  'maxBatch',
  'maxLocalizeBatch',
  'maxDelayMs',
  'maxQueue',
  'timeoutMs',
  'pipelineDepth',
  'allowResize',
  'onBatch',
];

export const DEFAULT_MAX_BATCH = 32;
export const DEFAULT_MAX_LOCALIZE_BATCH = 8;
export const DEFAULT_MAX_DELAY_MS = 5;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_PIPELINE_DEPTH = 3;

export function resolveBatcherOptions(options: unknown): ResolvedBatcherOptions {
  const o = expectOptions('options', options);
  expectKnownKeys('options', o, KEYS);
  const int = (name: string, fallback: number, min: number, max?: number) =>
    o[name] === undefined ? fallback : expectInteger(`options.${name}`, o[name], min, max);
  const maxBatch = int('maxBatch', DEFAULT_MAX_BATCH, 1, MAX_BATCH_SIZE);
  const maxLocalize = int('maxLocalizeBatch', Math.min(maxBatch, DEFAULT_MAX_LOCALIZE_BATCH), 1, MAX_BATCH_SIZE);
  if (o.onBatch !== undefined && typeof o.onBatch !== 'function') {
    throw invalidArgument('options.onBatch', 'a function', o.onBatch);
  }
  return {
    maxBatch: { score: maxBatch, localize: maxLocalize },
    maxDelayMs:
      o.maxDelayMs === undefined ? DEFAULT_MAX_DELAY_MS : expectNonNegativeNumber('options.maxDelayMs', o.maxDelayMs),
    maxQueue: int('maxQueue', 8 * maxBatch, 1),
    timeoutMs:
      o.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : expectNonNegativeNumber('options.timeoutMs', o.timeoutMs),
    pipelineDepth: int('pipelineDepth', DEFAULT_PIPELINE_DEPTH, 1, 16),
    allowResize: o.allowResize === undefined ? false : expectBoolean('options.allowResize', o.allowResize),
    onBatch: o.onBatch as ResolvedBatcherOptions['onBatch'],
  };
}

export interface RequestOptions {
  /** Aborting rejects the request with ERR_ABORTED (and drops its images if not yet batched). */
  signal?: AbortSignal;
  /** This request's deadline (default: the batcher's timeoutMs); 0 = none. */
  timeoutMs?: number;
  /** 'skip': unreadable images go to `skipped` instead of failing the request (default 'error'). */
  onUnreadable?: UnreadablePolicy;
}
