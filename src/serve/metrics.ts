/**
 * The server's Prometheus metrics (prom-client, one registry per server so that several servers
 * in one process do not share counters): HTTP requests, images, batch sizes, queue depth and
 * latency histograms per stage, plus prom-client's process metrics (memory, CPU, event-loop lag).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import type { ModelSet } from './models.js';
import type { BatchReport } from './options.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly httpRequests = new Counter({
    name: 'oneclass_http_requests_total',
    help: 'HTTP requests answered, by route and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly httpDuration = new Histogram({
    name: 'oneclass_http_request_duration_seconds',
    help: 'Time from receiving a request to answering it, by route',
    labelNames: ['route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly images = new Counter({
    name: 'oneclass_images_total',
    help: 'Images scored (outcome ok), skipped as unreadable (skipped), or in requests that failed or were refused (failed)',
    labelNames: ['model', 'mode', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: 'oneclass_batch_size',
    help: 'Images per batch formed by the dynamic batcher',
    labelNames: ['model', 'mode'] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });
  private readonly stage = new Histogram({
    name: 'oneclass_stage_duration_seconds',
    help: 'Per-stage latency: queue (per request, until its batch formed), decode, encode, detect (per batch)',
    labelNames: ['model', 'mode', 'stage'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly batchErrors = new Counter({
    name: 'oneclass_batch_failures_total',
    help: 'Batches that failed as a whole (encoder or detector error)',
    labelNames: ['model', 'mode'] as const,
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: 'oneclass_refused_requests_total',
    help: 'Requests refused or cut short: queue_full (429), closed / timeout (503), aborted by the client',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });

  constructor(models: () => ModelSet | null) {
    collectDefaultMetrics({ register: this.registry, prefix: 'oneclass_' });
    const registers = [this.registry];
    new Gauge({
      name: 'oneclass_queue_depth',
      help: 'Images waiting to be batched',
      labelNames: ['model'] as const,
      registers,
      collect() {
        for (const e of models()?.entries() ?? []) this.set({ model: e.name }, e.batcher.queuedImages);
      },
    });
    new Gauge({
      name: 'oneclass_inflight_batches',
      help: 'Batches being decoded, encoded or detected',
      labelNames: ['model'] as const,
      registers,
      collect() {
        for (const e of models()?.entries() ?? []) this.set({ model: e.name }, e.batcher.inflightBatches);
      },
    });
  }

  observeBatch(model: string, r: BatchReport): void {
    const labels = { model, mode: r.mode };
    if (r.error) this.batchErrors.inc(labels);
    this.batchSize.observe(labels, r.images);
    this.stage.observe({ ...labels, stage: 'decode' }, r.decodeMs / 1000);
    this.stage.observe({ ...labels, stage: 'encode' }, r.encodeMs / 1000);
    this.stage.observe({ ...labels, stage: 'detect' }, r.detectMs / 1000);
    for (const q of r.queueMs) this.stage.observe({ ...labels, stage: 'queue' }, q / 1000);
  }

  observeImages(model: string, mode: string, outcome: 'ok' | 'skipped' | 'failed', n: number): void {
    if (n > 0) this.images.inc({ model, mode, outcome }, n);
  }

  observeRefusal(model: string, reason: string): void {
    this.refused.inc({ model, reason });
  }

  observeRequest(route: string, method: string, status: number, seconds: number): void {
    this.httpRequests.inc({ route, method, status: String(status) });
    this.httpDuration.observe({ route, status: String(status) }, seconds);
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
