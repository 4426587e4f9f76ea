/**
 * One caller's request to the batcher (batcher.ts), from its arguments to its result: the checks
 * made before it may queue, its timeout and abort signal, and the result it resolves with. The
 * batcher decides when its images are batched; this file decides what a request is and how it
 * ends, once: a request settles exactly once (result, error, abort or timeout), and settling
 * removes its timer and abort listener.
 */
import { invalidInput, OneclassError } from '../errors.js';
import {
  nameImages,
  type NamedImage,
  type SkippedImage,
  unreadablePolicy,
  type UnreadablePolicy,
} from '../pipeline/images.js';
import type { PipelineImage, ScoredImage } from '../pipeline/types.js';
import { expectArray, expectKnownKeys, expectNonNegativeNumber, expectOptions } from '../validate.js';
import type { BatchMode, RequestOptions } from './options.js';

/** Where a request's time went; the parts add up to totalMs. */
export interface RequestTimings {
  /** Waiting: in the queue until its batch was formed, and between stages. */
  queueMs: number;
  decodeMs: number;
  encodeMs: number;
  detectMs: number;
  totalMs: number;
  /** Images in the batch that finished this request. */
  batchSize: number;
}

export interface BatchedResult {
  /** One per readable image, in the caller's order (`index` = position in the caller's list). */
  items: ScoredImage[];
  skipped: SkippedImage[];
  timings: RequestTimings;
}

/** A request's arguments, checked. */
export interface RequestInput {
  images: NamedImage[];
  policy: UnreadablePolicy;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** A request in the batcher: waiting, in batches, or settled. */
export interface Pending {
  readonly mode: BatchMode;
  readonly images: readonly NamedImage[];
  readonly policy: UnreadablePolicy;
  readonly enqueuedAt: number;
  /** Arrival order (the queue's order, kept when images are given back to it). */
  readonly seq: number;
  /** First image not yet put into a batch. */
  next: number;
  /** Parts in batches that have not finished. */
  running: number;
  settled: boolean;
  items: ScoredImage[];
  skipped: SkippedImage[];
  timings: RequestTimings | null;
  resolve: (r: BatchedResult) => void;
  reject: (e: unknown) => void;
  cleanup: () => void;
}

/** Checks a request's arguments; `timeoutMs` defaults to the batcher's. Throws what the caller gets. */
export function requestInput(
  images: readonly PipelineImage[],
  options: RequestOptions | undefined,
  defaults: { timeoutMs: number; maxQueue: number },
): RequestInput {
  const named = nameImages(expectArray('images', images, 'an array of images'));
  const o = expectOptions('options', options);
  expectKnownKeys('options', o, ['signal', 'timeoutMs', 'onUnreadable']);
  const policy = unreadablePolicy('options.onUnreadable', o.onUnreadable);
  const timeoutMs =
    o.timeoutMs === undefined ? defaults.timeoutMs : expectNonNegativeNumber('options.timeoutMs', o.timeoutMs);
  if (named.length > defaults.maxQueue) {
    throw invalidInput(
      'images',
      `A request of ${named.length} images can never fit the queue of ${defaults.maxQueue}; split it or raise maxQueue`,
    );
  }
  return { images: named, policy, timeoutMs, signal: options?.signal };
}

/**
 * A new request, its timeout armed and its abort signal listened to: either calls `expire` with
 * the error the caller gets (ERR_TIMEOUT, ERR_ABORTED).
 */
export function openRequest(
  mode: BatchMode,
  input: RequestInput,
  at: { enqueuedAt: number; seq: number },
  settle: { resolve: (r: BatchedResult) => void; reject: (e: unknown) => void },
  expire: (request: Pending, error: OneclassError) => void,
): Pending {
  const { timeoutMs, signal } = input;
  const request: Pending = {
    mode,
    images: input.images,
    policy: input.policy,
    enqueuedAt: at.enqueuedAt,
    seq: at.seq,
    next: 0,
    running: 0,
    settled: false,
    items: [],
    skipped: [],
    timings: null,
    resolve: settle.resolve,
    reject: settle.reject,
    cleanup: () => undefined,
  };
  const onAbort = () => expire(request, aborted(signal!));
  const timer =
    timeoutMs > 0
      ? setTimeout(
          () =>
            expire(
              request,
              new OneclassError(
                'ERR_TIMEOUT',
                `The request had no result after ${timeoutMs} ms (timeoutMs); retry later`,
              ),
            ),
          timeoutMs,
        )
      : null;
  signal?.addEventListener('abort', onAbort, { once: true });
  request.cleanup = () => {
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  return request;
}

/** Marks the request settled (false when it already was) and removes its timer and listener. */
export function settle(request: Pending): boolean {
  if (request.settled) return false;
  request.settled = true;
  request.cleanup();
  return true;
}

/** Resolves the request with its items and skipped images in the caller's order. */
export function resolveRequest(request: Pending): void {
  if (!settle(request)) return;
  const byIndex = (a: { index: number }, b: { index: number }) => a.index - b.index;
  request.resolve({
    items: request.items.sort(byIndex),
    skipped: request.skipped.sort(byIndex),
    timings: request.timings ?? zeroTimings(),
  });
}

export function aborted(signal: AbortSignal): OneclassError {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new OneclassError('ERR_ABORTED', `The request was aborted${reason}`, { cause: signal.reason });
}

export function zeroTimings(): RequestTimings {
  return { queueMs: 0, decodeMs: 0, encodeMs: 0, detectMs: 0, totalMs: 0, batchSize: 0 };
}
