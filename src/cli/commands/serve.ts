/**
 * `oneclass serve`: the HTTP server (src/serve/server.ts) until SIGTERM or SIGINT, then a graceful
 * drain: accepted requests are answered, new ones refused with 503, and the process exits 0 (1 if
 * the drain outlasted --drain-timeout-ms). Logs are JSON lines on stdout (pino).
 */
import { existsSync } from 'node:fs';

import { invalidInput } from '../../errors.js';
import { CliUsageError, choice, num, type ParsedCommandLine, str } from '../args.js';
import { batcherFlags, encoderBatchFlag } from '../batcher-flags.js';
import { compute } from '../common.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { removeSignalHandlers } from '../run.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export async function serveCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  // Loaded here so that the other commands do not load fastify.
  const { OneclassServer } = await import('../../serve/server.js');
  const { parseModelArg } = await import('../../serve/models.js');
  const given = (values.model as string[] | undefined) ?? [];
  if (given.length === 0) throw new CliUsageError('Missing required option --model', '--model');
  const models = given.map(parseModelArg);
  for (const m of models) if (!existsSync(m.file)) throw invalidInput(m.file, `Model file not found: ${m.file}`);
  const c = compute(values);
  const drainTimeoutMs = num(values, 'drain-timeout-ms', { min: 0 }) ?? 30_000;
  const logLevel = choice(values, 'log-level', LOG_LEVELS) ?? (ctx.quiet ? 'warn' : 'info');
  const server = await OneclassServer.start({
    models,
    host: str(values, 'host'),
    port: num(values, 'port', { integer: true, min: 0, max: 65535 }),
    batcher: batcherFlags(values),
    load: { ...c, encoderOptions: { device: c.device, ...encoderBatchFlag(values) } },
    maxBodyBytes: num(values, 'max-body-bytes', { integer: true, min: 1 }),
    maxPixels: num(values, 'max-pixels', { integer: true, min: 1 }),
    maxImagesPerRequest: num(values, 'max-images', { integer: true, min: 1 }),
    maxInflightRequests: num(values, 'max-inflight', { integer: true, min: 1 }),
    logLevel,
    logStream: ctx.stdout,
  });
  // The CLI's default handlers exit at once (130); a server drains instead.
  removeSignalHandlers();
  server.app.log.info(
    { event: 'listening', url: server.url, models: server.models.names },
    `listening on ${server.url}`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  server.app.log.info({ event: 'signal', signal }, `${signal}: draining`);
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    server.drain().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), drainTimeoutMs))),
  ]);
  clearTimeout(timer);
  if (!drained) {
    server.app.log.error(
      { event: 'drain-timeout', drainTimeoutMs },
      'drain timed out; exiting with requests unanswered',
    );
    // Whatever is still running would keep the process alive.
    process.exit(EXIT.INTERNAL);
  }
  return EXIT.OK;
}
