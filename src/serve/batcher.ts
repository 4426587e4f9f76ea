/**
 * The in-process dynamic batcher: concurrent `score` / `localize` calls on one model are put
 * into batches of up to `maxBatch` images, an image waiting at most `maxDelayMs` for a fuller
 * batch (Triton's dynamic batcher: max batch size, max queue delay, bounded queue). Each caller
 * gets its own results, and may abort or time out without affecting the others.
 *
 *   const batcher = new Batcher(await Detector.load('tile.oneclass'), { maxBatch: 32, maxDelayMs: 5 });
 *   const { items } = await batcher.score([jpegBytes]);          // from many callers at once
 *   await batcher.close();                                       // finishes what was accepted
 *
 * Batches flow through three stages (batch-stages.ts: decode, encode, detect) that overlap across
 * batches: batch k+1 decodes while batch k encodes and batch k-1 is detected; as many batches
 * encode at once as the encoder has inference workers (two on a CPU by default), and they are
 * detected and answered in the order they were formed. A new batch is
 * formed only when the decode stage is free and fewer than `pipelineDepth` batches are in flight,
 * so images wait in the queue (where they still join fuller batches) rather than in the stages,
 * and memory is bounded: at most `maxQueue` waiting images and `pipelineDepth` decoded batches.
 * A caller's request (its checks, timeout, abort and result) is request.ts's.
 *
 * Written here, not taken from a package: npm's batching helpers (e.g. dataloader) coalesce the
 * calls of one event-loop tick, with no delay bound, no queue bound, no per-call abort and no
 * pipelining of a batch's stages; none knows about decode / encode / detect.
 */
import { performance } from 'node:perf_hooks';

import { invalidInput, OneclassError } from '../errors.js';
import type { FeatureNeeds } from '../pipeline/batches.js';
import type { Detector } from '../pipeline/detector.js';
import type { DecodedImage } from '../pipeline/images.js';
import { featureNeeds, type FittedPipeline, scorerOf } from '../pipeline/scoring.js';
import type { PipelineImage } from '../pipeline/types.js';
import { decodeParts, detectImages, encodeImages, type PartInput } from './batch-stages.js';
import {
  type BatcherOptions,
  type BatchMode,
  type BatchReport,
  type RequestOptions,
  resolveBatcherOptions,
  type ResolvedBatcherOptions,
} from './options.js';

import {
  aborted,
  type BatchedResult,
  openRequest,
  type Pending,
  requestInput,
  type RequestInput,
  resolveRequest,
  settle,
  zeroTimings,
} from './request.js';

export type { BatcherOptions, BatchMode, BatchReport, RequestOptions } from './options.js';
export type { BatchedResult, RequestTimings } from './request.js';

interface Part {
  request: Pending;
  start: number;
  end: number;
}

/** Runs one stage's work, at most `width` batches at a time, started in the order asked. */
class Lane {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly width = 1) {}
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.width) this.running++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed a slot below
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}

const now = () => performance.now();

export class Batcher {
  private readonly model: FittedPipeline;
  private readonly opts: ResolvedBatcherOptions;
  private readonly queues: Record<BatchMode, Pending[]> = { score: [], localize: [] };
  private readonly waiting: Record<BatchMode, number> = { score: 0, localize: 0 };
  private readonly needs: Record<BatchMode, FeatureNeeds | null>;
  /** As many batches encode at once as the encoder has inference workers. */
  private readonly encodeLane: Lane;
  private readonly detectLane = new Lane();
  private decoding = false;
  private inflight = 0;
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private flushing = false;
  private idleWaiters: (() => void)[] = [];
  private arrivals = 0;

  constructor(detector: Detector, options: BatcherOptions = {}) {
    this.model = detector.pipeline;
    this.opts = resolveBatcherOptions(options);
    this.encodeLane = new Lane(Math.max(1, this.model.encoder.workers));
    const scorer = scorerOf(this.model);
    this.needs = {
      score: featureNeeds(scorer, false),
      localize: this.model.config.localization ? featureNeeds(scorer, true) : null,
    };
  }

  /** Images waiting to be put into a batch. */
  get queuedImages(): number {
    return this.waiting.score + this.waiting.localize;
  }

  /** Batches between being formed and their results being handed out. */
  get inflightBatches(): number {
    return this.inflight;
  }

  /** The most images that may wait; a request that would exceed it is refused (ERR_QUEUE_FULL). */
  get maxQueue(): number {
    return this.opts.maxQueue;
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Scores, decisions (`anomalous`) and timings of the caller's images. */
  score(images: readonly PipelineImage[], options?: RequestOptions): Promise<BatchedResult> {
    return this.submit('score', images, options);
  }

  /** As score, plus each image's heatmap (the model must have been fitted with localization). */
  localize(images: readonly PipelineImage[], options?: RequestOptions): Promise<BatchedResult> {
    if (!this.needs.localize) {
      return Promise.reject(
        invalidInput(
          'localization',
          'This model was fitted without localization; fit with localization to get heatmaps',
        ),
      );
    }
    return this.submit('localize', images, options);
  }

  /**
   * Stops waiting for fuller batches: what waits, and what comes from now on, is batched at once
   * (a server that drains: its last requests should not wait out maxDelayMs). Still accepts.
   */
  flush(): void {
    this.flushing = true;
    this.pump();
  }

  /**
   * Stops accepting requests (they are refused with ERR_CLOSED) and resolves once every accepted
   * one has its result: queued images are batched at once, without waiting for maxDelayMs.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.pump();
    if (this.queuedImages === 0 && this.inflight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private submit(mode: BatchMode, images: readonly PipelineImage[], options?: RequestOptions): Promise<BatchedResult> {
    let input: RequestInput;
    try {
      input = requestInput(images, options, this.opts);
    } catch (error) {
      return Promise.reject(error);
    }
    const { images: named, signal } = input;
    if (this.closing)
      return Promise.reject(new OneclassError('ERR_CLOSED', 'The batcher is closed (draining or shut down)'));
    if (signal?.aborted) return Promise.reject(aborted(signal));
    if (this.queuedImages + named.length > this.opts.maxQueue) {
      return Promise.reject(
        new OneclassError(
          'ERR_QUEUE_FULL',
          `The queue is full: ${this.queuedImages} images waiting, at most ${this.opts.maxQueue}; retry later`,
        ),
      );
    }
    if (named.length === 0) {
      return Promise.resolve({ items: [], skipped: [], timings: zeroTimings() });
    }
    return new Promise<BatchedResult>((resolve, reject) => {
      const request = openRequest(
        mode,
        input,
        { enqueuedAt: now(), seq: this.arrivals++ },
        { resolve, reject },
        (r, error) => this.fail(r, error),
      );
      this.queues[mode].push(request);
      this.waiting[mode] += named.length;
      this.pump();
    });
  }

  /** Rejects a request; its images not yet batched leave the queue, its batched ones are dropped. */
  private fail(request: Pending, error: unknown): void {
    if (!settle(request)) return;
    this.waiting[request.mode] -= request.images.length - request.next;
    request.next = request.images.length;
    request.reject(error);
    this.pump();
  }

  /** The oldest unsettled request of a mode (settled ones are dropped from the front). */
  private head(mode: BatchMode): Pending | undefined {
    const q = this.queues[mode];
    while (q.length > 0 && (q[0].settled || q[0].next === q[0].images.length)) q.shift();
    return q[0];
  }

  /** Forms a batch when one is due and the pipeline can take it; otherwise arms the delay timer. */
  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.queuedImages === 0 && this.inflight === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    if (this.decoding || this.inflight >= this.opts.pipelineDepth) return; // called again when a stage frees
    const t = now();
    let due: { mode: BatchMode; since: number } | null = null;
    let wait = Infinity;
    for (const mode of ['score', 'localize'] as const) {
      const head = this.head(mode);
      if (!head) continue;
      const waited = t - head.enqueuedAt;
      const ready =
        this.closing ||
        this.flushing ||
        this.waiting[mode] >= this.opts.maxBatch[mode] ||
        waited >= this.opts.maxDelayMs;
      if (ready && (!due || head.enqueuedAt < due.since)) due = { mode, since: head.enqueuedAt };
      if (!ready) wait = Math.min(wait, this.opts.maxDelayMs - waited);
    }
    if (due) this.dispatch(due.mode, t);
    else if (wait < Infinity) this.timer = setTimeout(() => this.pump(), Math.max(0, wait));
  }

  private dispatch(mode: BatchMode, formedAt: number): void {
    const max = this.opts.maxBatch[mode];
    const parts: Part[] = [];
    let size = 0;
    for (let r = this.head(mode); r && size < max; r = this.head(mode)) {
      const take = Math.min(max - size, r.images.length - r.next);
      parts.push({ request: r, start: r.next, end: r.next + take });
      r.next += take;
      r.running++;
      size += take;
      this.waiting[mode] -= take;
    }
    void this.run(mode, parts, formedAt);
  }

  /**
   * The images of a part that did not fit its batch's decoded-pixel budget (decodeParts) go back
   * to the front of the request's remaining images, to be batched next: none is dropped or scored
   * twice. No batch of any mode is formed while this one decodes (pump waits for the decode
   * stage), so they are exactly the images just before the request's `next`.
   */
  private giveBack(part: Part, taken: number): void {
    const r = part.request;
    const back = part.end - part.start - taken;
    if (back === 0) return;
    part.end = part.start + taken;
    if (r.settled) return;
    r.next = part.end;
    this.waiting[r.mode] += back;
    const q = this.queues[r.mode];
    // head() drops a request from the queue once all its images are batched: put it back in order.
    if (!q.includes(r)) {
      const at = q.findIndex((other) => other.seq > r.seq);
      q.splice(at < 0 ? q.length : at, 0, r);
    }
  }

  private async run(mode: BatchMode, parts: Part[], formedAt: number): Promise<void> {
    this.inflight++;
    this.decoding = true;
    const report: BatchReport = {
      mode,
      images: 0,
      requests: new Set(parts.map((p) => p.request)).size,
      decodeMs: 0,
      encodeMs: 0,
      detectMs: 0,
      queueMs: parts.map((p) => formedAt - p.request.enqueuedAt),
    };
    // The decode stage is this batch's until its images are decoded (see pump).
    let holdsDecode = true;
    const releaseDecode = () => {
      if (!holdsDecode) return;
      holdsDecode = false;
      this.decoding = false;
    };
    try {
      const inputs: PartInput[] = parts.map((p) => ({
        images: p.request.images.slice(p.start, p.end),
        offset: p.start,
        policy: p.request.policy,
      }));
      const size = this.opts.allowResize ? null : this.model.config.input.size;
      const decoded = await decodeParts(this.model, inputs, size);
      report.decodeMs = now() - formedAt;
      const images: DecodedImage[] = [];
      const owners: Part[] = [];
      decoded.forEach((d, i) => {
        const part = parts[i];
        if (!d.ok) return this.fail(part.request, d.error);
        this.giveBack(part, d.taken);
        part.request.skipped.push(...d.skipped);
        for (const image of d.decoded) {
          images.push(image);
          owners.push(part);
        }
      });
      report.images = images.length;
      const needs = this.needs[mode]!;
      const stages = { encodeStart: 0, encodeEnd: 0, detectStart: 0, detectEnd: 0 };
      // Queue for the encoder before the next batch may be formed: batches keep their order.
      const encoded = this.encodeLane.run(async () => {
        stages.encodeStart = now();
        // Requests that were aborted or timed out meanwhile are left out of the work.
        const live = images.filter((_, i) => !owners[i].request.settled);
        const liveOwners = owners.filter((o) => !o.request.settled);
        const features = await encodeImages(this.model, live, needs);
        stages.encodeEnd = now();
        return { live, liveOwners, features };
      });
      encoded.catch(() => undefined); // awaited in the detect lane
      // The detect lane is entered now, in batch order, and waits there for this batch's encode:
      // batches that encode at once still reach their callers in order (a request split over two
      // batches gets its items in its own order).
      const detected = this.detectLane.run(async () => {
        const { live, liveOwners, features } = await encoded;
        stages.detectStart = now();
        const r = live.length > 0 ? await detectImages(this.model, live, features, mode === 'localize') : [];
        stages.detectEnd = now();
        return { items: r, liveOwners };
      });
      releaseDecode();
      this.pump();
      const { items, liveOwners } = await detected;
      report.encodeMs = stages.encodeEnd - stages.encodeStart;
      report.detectMs = stages.detectEnd - stages.detectStart;
      items.forEach((item, i) => liveOwners[i].request.items.push(item));
      const end = now();
      for (const part of parts) {
        const r = part.request;
        r.running--;
        if (r.settled) continue;
        const totalMs = end - r.enqueuedAt;
        const busy = report.decodeMs + report.encodeMs + report.detectMs;
        r.timings = {
          queueMs: Math.max(0, totalMs - busy),
          decodeMs: report.decodeMs,
          encodeMs: report.encodeMs,
          detectMs: report.detectMs,
          totalMs,
          batchSize: report.images,
        };
        if (r.running === 0 && r.next === r.images.length) resolveRequest(r);
      }
    } catch (error) {
      // A failure of the batch as a whole (the encoder or a detector): every caller in it gets it.
      report.error = error as Error;
      for (const part of parts) {
        part.request.running--;
        this.fail(part.request, error);
      }
    } finally {
      releaseDecode();
      this.inflight--;
      try {
        this.opts.onBatch?.(report);
      } catch {
        // A metrics hook that throws must not break scoring (nor become an unhandled rejection).
      }
      this.pump();
    }
  }
}
