/**
 * The HTTP server of `oneclass serve` (fastify): named models, each behind its own dynamic
 * batcher; Prometheus metrics; structured JSON logs (fastify's pino logger); limits on body size,
 * images per request and pixels per image; 429 / 503 with Retry-After under overload or while
 * draining; and a drain that finishes every accepted request before the models are released.
 *
 *   POST /v1/score                    image bytes, or multipart/form-data with several images
 *   POST /v1/localize?format=json|png heatmaps (JSON grid at the image's size, or PNG)
 *   POST /v1/models/:model/score      the same for a named model (/v1/score: the first model)
 *   GET  /v1/models                   the models and what they expect
 *   GET  /healthz, /readyz, /metrics  liveness, readiness (503 while draining), Prometheus text
 *
 * The API and its answers: docs/serving.md; the answers' bodies and headers: answers.ts.
 */
import multipart from '@fastify/multipart';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';

import { OneclassError } from '../errors.js';
import type { LoadOptions } from '../pipeline/detector.js';
import { answer, describeModel, pngAnswer, serverTiming } from './answers.js';
import type { BatchedResult } from './batcher.js';
import { errorBody, RequestError, retryable, statusOf } from './http-errors.js';
import { ServerMetrics } from './metrics.js';
import { type ModelEntry, ModelSet } from './models.js';
import type { BatcherOptions, BatchMode } from './options.js';
import { readUploads } from './uploads.js';

export interface ServerOptions {
  /** Model files by name; the first is the default model. */
  models: readonly { name: string; file: string }[];
  /** Interface to listen on (default '127.0.0.1': loopback only). */
  host?: string;
  /** TCP port (default 8080; 0 = any free port). */
  port?: number;
  /** The dynamic batcher of every model (maxBatch, maxDelayMs, maxQueue, timeoutMs, ...). */
  batcher?: BatcherOptions;
  /** Detector.load options of every model (device, threads, encoderOptions). */
  load?: LoadOptions;
  /** Largest request body in bytes (default 32 MiB). */
  maxBodyBytes?: number;
  /** Largest image in pixels, width x height (default 40,000,000). */
  maxPixels?: number;
  /** Most images in one multipart request (default 64). */
  maxImagesPerRequest?: number;
  /**
   * Most scoring requests in flight at once (being received, queued or scored); more are answered
   * 429 before their body is read, which bounds memory under a flood (default 256).
   */
  maxInflightRequests?: number;
  /** pino log level: 'fatal' ... 'trace', or 'silent' (default 'info'). */
  logLevel?: string;
  /** Where the JSON log lines go (default stdout). */
  logStream?: NodeJS.WritableStream;
}

export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxBodyBytes: 32 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxImagesPerRequest: 64,
  maxInflightRequests: 256,
  logLevel: 'info',
};

type Resolved = typeof SERVER_DEFAULTS & ServerOptions;

export class OneclassServer {
  readonly app: FastifyInstance;
  readonly models: ModelSet;
  readonly metrics: ServerMetrics;
  private draining = false;
  private drained: Promise<void> | null = null;

  private constructor(app: FastifyInstance, models: ModelSet, metrics: ServerMetrics) {
    this.app = app;
    this.models = models;
    this.metrics = metrics;
  }

  /** Loads the models, builds the routes and listens. */
  static async start(options: ServerOptions): Promise<OneclassServer> {
    const o: Resolved = { ...SERVER_DEFAULTS, ...stripUndefined(options), models: options.models };
    let models: ModelSet | null = null;
    const metrics = new ServerMetrics(() => models);
    const batchMs = new Map<string, number>();
    models = await ModelSet.load(options.models, {
      load: options.load,
      batcher: options.batcher,
      onBatch: (model, report) => {
        metrics.observeBatch(model, report);
        // Smoothed batch time, for Retry-After.
        const ms = report.decodeMs + report.encodeMs + report.detectMs;
        batchMs.set(model, 0.8 * (batchMs.get(model) ?? ms) + 0.2 * ms);
      },
    });
    const app = Fastify({
      logger: {
        level: o.logLevel,
        ...(options.logStream ? { stream: options.logStream } : {}),
      },
      bodyLimit: o.maxBodyBytes,
      // Keep-alive sockets that are idle when draining starts are closed; busy ones finish first.
      forceCloseConnections: 'idle',
      return503OnClosing: true,
      // One line per request (onResponse below) instead of fastify's two.
      logController: new LogController({ disableRequestLogging: true }),
    });
    const server = new OneclassServer(app, models, metrics);
    try {
      await server.routes(o, (name) => batchMs.get(name) ?? 0);
      await app.listen({ host: o.host, port: o.port });
    } catch (error) {
      await app.close().catch(() => undefined);
      await models.close().catch(() => undefined);
      throw error;
    }
    return server;
  }

  /** http://host:port of the listening socket. */
  get url(): string {
    const a = this.app.server.address();
    if (a === null || typeof a === 'string') return String(a);
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Graceful drain: readiness turns 503, new scoring requests get 503, the listening socket
   * closes, requests already accepted are answered, then the models are released. Idempotent.
   */
  drain(): Promise<void> {
    if (!this.drained) {
      this.draining = true;
      this.app.log.info({ event: 'drain' }, 'draining: answering accepted requests, refusing new ones');
      this.drained = (async () => {
        for (const e of this.models.entries()) e.batcher.flush();
        await this.app.close();
        await this.models.close();
        this.app.log.info({ event: 'drained' }, 'drained');
      })();
    }
    return this.drained;
  }

  private async routes(o: Resolved, batchMs: (model: string) => number): Promise<void> {
    const { app, metrics } = this;
    // The code and message of a failed request, for its log line.
    const failures = new WeakMap<FastifyRequest, { code: string; message: string }>();
    // Only image bodies and multipart: anything else (JSON, text, forms) is a 415 naming what is accepted.
    app.removeAllContentTypeParsers();
    await app.register(multipart, {
      limits: { fileSize: o.maxBodyBytes, files: o.maxImagesPerRequest, fields: 16, parts: o.maxImagesPerRequest + 16 },
    });
    // Raw image bodies arrive as one Buffer, bounded by bodyLimit (413 beyond it).
    const asBuffer = (_req: FastifyRequest, body: Buffer | string, done: (e: Error | null, b?: unknown) => void) =>
      done(null, body);
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, asBuffer);
    app.addContentTypeParser(/^image\//, { parseAs: 'buffer' }, asBuffer);

    // While draining, every answer closes its connection: a keep-alive socket that was busy when
    // the drain began would otherwise hold the server open until its keep-alive timeout.
    app.addHook('onSend', async (_request, reply, payload) => {
      if (this.draining) reply.header('connection', 'close');
      return payload;
    });
    // Admission: refuse before reading the body when too many requests are in flight or the
    // model's queue is full already; a refused request costs no body buffer and no image header.
    let inflight = 0;
    const scoringRoutes = new Set([
      '/v1/score',
      '/v1/localize',
      '/v1/models/:model/score',
      '/v1/models/:model/localize',
    ]);
    app.addHook('onRequest', async (request, reply) => {
      if (!scoringRoutes.has(request.routeOptions.url ?? '')) return;
      if (this.draining)
        throw new OneclassError('ERR_CLOSED', 'The server is shutting down; retry on another instance');
      if (inflight >= o.maxInflightRequests) {
        throw new OneclassError(
          'ERR_QUEUE_FULL',
          `${inflight} requests in flight, at most ${o.maxInflightRequests} (--max-inflight); retry later`,
        );
      }
      const entry = this.models.get((request.params as { model?: string }).model ?? '') ?? this.models.default;
      if (entry.batcher.queuedImages >= entry.batcher.maxQueue) {
        throw new OneclassError(
          'ERR_QUEUE_FULL',
          `The queue of model '${entry.name}' is full: ${entry.batcher.queuedImages} images waiting, at most ${entry.batcher.maxQueue}; retry later`,
        );
      }
      inflight++;
      let counted = true;
      // 'close' comes once the answer is sent or the client has gone, whichever is first.
      reply.raw.once('close', () => {
        if (counted) inflight--;
        counted = false;
      });
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
      const failure = failures.get(request);
      request.log.info(
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms: Number(reply.elapsedTime.toFixed(3)),
          ...(failure ? { code: failure.code, reason: failure.message } : {}),
        },
        'request',
      );
    });

    app.setErrorHandler(async (error, request, reply) => {
      const status = statusOf(error);
      if ((error as { code?: string }).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        error = new RequestError(
          415,
          'ERR_INVALID_ARGUMENT',
          `Content-Type ${request.headers['content-type'] ?? '(none)'} is not accepted: send the image bytes ` +
            '(image/* or application/octet-stream) or multipart/form-data with one file part per image',
        );
      }
      const model = (request.params as { model?: string } | undefined)?.model ?? this.models.default.name;
      if (retryable(status)) {
        const queued = this.models.get(model)?.batcher.queuedImages ?? 0;
        const seconds = Math.max(1, Math.ceil((queued / 8) * (batchMs(model) / 1000)));
        reply.header('retry-after', String(seconds));
      }
      const code = (error as { code?: string }).code;
      if (code === 'ERR_QUEUE_FULL') metrics.observeRefusal(model, 'queue_full');
      else if (code === 'ERR_CLOSED') metrics.observeRefusal(model, 'closed');
      else if (code === 'ERR_TIMEOUT') metrics.observeRefusal(model, 'timeout');
      else if (code === 'ERR_ABORTED') metrics.observeRefusal(model, 'aborted');
      if (status >= 500 && !retryable(status)) request.log.error({ err: error }, 'request failed');
      failures.set(request, { code: code ?? 'ERR_INTERNAL', message: (error as Error).message });
      return reply.code(status).send(errorBody(error, status));
    });

    app.setNotFoundHandler(async (request, reply) =>
      reply.code(404).send({
        error: {
          code: 'ERR_NOT_FOUND',
          message: `No route ${request.method} ${request.url}; see GET /v1/models and docs/serving.md`,
        },
      }),
    );

    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_req, reply) =>
      this.draining
        ? reply.code(503).header('retry-after', '5').send({ status: 'draining' })
        : { status: 'ready', models: this.models.names },
    );
    app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
    app.get('/v1/models', async () => ({
      default: this.models.default.name,
      models: this.models.entries().map(describeModel),
    }));

    const limits = { maxPixels: o.maxPixels, maxImages: o.maxImagesPerRequest };
    const handler =
      (mode: BatchMode) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
        const entry = this.pick((request.params as { model?: string }).model);
        if (this.draining)
          throw new OneclassError('ERR_CLOSED', 'The server is shutting down; retry on another instance');
        const query = request.query as Record<string, string | undefined>;
        const format = mode === 'localize' ? oneOf('format', query.format, ['json', 'png'] as const, 'json') : 'json';
        const skip = oneOf('skipUnreadable', query.skipUnreadable, ['true', 'false'] as const, 'false') === 'true';
        const uploads = await readUploads(request, limits);
        // A client that disconnects takes its images out of the queue (or drops their results).
        const abort = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) abort.abort(new Error('the client closed the connection'));
        });
        const images = uploads.map((u) => ({ id: u.name, image: u.bytes }));
        const options = { signal: abort.signal, onUnreadable: skip ? ('skip' as const) : ('error' as const) };
        let result: BatchedResult;
        try {
          result =
            mode === 'score'
              ? await entry.batcher.score(images, options)
              : await entry.batcher.localize(images, options);
        } catch (error) {
          metrics.observeImages(entry.name, mode, 'failed', images.length);
          throw error;
        }
        metrics.observeImages(entry.name, mode, 'ok', result.items.length);
        metrics.observeImages(entry.name, mode, 'skipped', result.skipped.length);
        reply.header('server-timing', serverTiming(result.timings));
        if (mode === 'localize' && format === 'png') return pngAnswer(entry, result, reply);
        return answer(entry, result, mode === 'localize');
      };
    app.post('/v1/score', handler('score'));
    app.post('/v1/localize', handler('localize'));
    app.post('/v1/models/:model/score', handler('score'));
    app.post('/v1/models/:model/localize', handler('localize'));
  }

  private pick(name: string | undefined): ModelEntry {
    if (name === undefined) return this.models.default;
    const entry = this.models.get(name);
    if (!entry) {
      throw new RequestError(
        404,
        'ERR_INVALID_ARGUMENT',
        `No model named '${name}'; models: ${this.models.names.join(', ')}`,
      );
    }
    return entry;
  }
}

function oneOf<T extends string>(name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new RequestError(
      400,
      'ERR_INVALID_ARGUMENT',
      `Expected one of ${choices.join(', ')} for query parameter ${name} but received '${value}'`,
      name,
    );
  }
  return value as T;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
