/**
 * `oneclass jobs submit | worker | status | collect`: distributed batch scoring (src/jobs,
 * docs/distributed.md). The worker runs until SIGTERM or SIGINT, then finishes its shards in
 * progress and exits 0.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

import sharp from 'sharp';

import { listImageFiles } from '../../encoder/index.js';
import { invalidInput } from '../../errors.js';
import { CliUsageError, num, type ParsedCommandLine, str } from '../args.js';
import { batcherFlags, encoderBatchFlag } from '../batcher-flags.js';
import { compute, fitOptions } from '../common.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { removeSignalHandlers } from '../run.js';

const SUBCOMMANDS = ['submit', 'worker', 'status', 'collect', 'fit'] as const;

export async function jobsCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const [sub, ...extra] = args.positionals;
  if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub))
    throw new CliUsageError(
      `Expected one of ${SUBCOMMANDS.join(', ')} after 'oneclass jobs' but received ${sub ? `'${sub}'` : 'nothing'}`,
    );
  if (extra.length > 0) throw new CliUsageError(`Unexpected argument '${extra[0]}' (see 'oneclass jobs --help')`);
  const redisUrl = str(args.values, 'redis') ?? (await import('../../jobs/redis.js')).DEFAULT_REDIS_URL;
  switch (sub) {
    case 'submit':
      return submit(args.values, ctx, redisUrl);
    case 'worker':
      return worker(args.values, ctx, redisUrl);
    case 'status':
      return status(args.values, ctx, redisUrl);
    case 'fit':
      return fit(args.values, ctx, redisUrl);
    default:
      return collect(args.values, ctx, redisUrl);
  }
}

type Values = ParsedCommandLine['values'];

/** A folder's images (recursively), or a text file of paths, one a line (blank lines and # comments skipped). */
async function imageList(arg: string): Promise<string[]> {
  if (!existsSync(arg)) throw invalidInput(arg, `--images: ${arg} does not exist`);
  if (statSync(arg).isDirectory()) return listImageFiles(arg, true);
  const text = await readFile(arg, 'utf8');
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

async function submit(values: Values, ctx: CliContext, redisUrl: string): Promise<number> {
  const { submitRun } = await import('../../jobs/submit.js');
  const images = await imageList(str(values, 'images', true));
  const meta = await submitRun({
    redisUrl,
    model: str(values, 'model', true),
    images,
    shardSize: num(values, 'shard-size', { integer: true, min: 1, max: 1_000_000 }),
    attempts: num(values, 'attempts', { integer: true, min: 1, max: 1000 }),
    runId: str(values, 'run'),
  });
  if (ctx.json) ctx.stdout.write(JSON.stringify(meta, null, 2) + '\n');
  else {
    ctx.stdout.write(meta.runId + '\n');
    ctx.info(`submitted run ${meta.runId}: ${meta.images} images in ${meta.shards} shards of ${meta.shardSize}`);
  }
  return EXIT.OK;
}

async function worker(values: Values, ctx: CliContext, redisUrl: string): Promise<number> {
  const { ShardWorker } = await import('../../jobs/worker.js');
  const c = compute(values);
  // --threads bounds every pool this process computes on: ONNX Runtime, the detectors, sharp.
  if (c.threads) sharp.concurrency(c.threads);
  const log = (entry: object) => {
    if (!ctx.quiet)
      ctx.stdout.write(JSON.stringify({ time: new Date().toISOString(), pid: process.pid, ...entry }) + '\n');
  };
  const w = await ShardWorker.start({
    redisUrl,
    concurrency: num(values, 'concurrency', { integer: true, min: 1, max: 1024 }),
    lockMs: num(values, 'lock-ms', { integer: true, min: 1000 }),
    batcher: batcherFlags(values),
    load: { ...c, encoderOptions: { device: c.device, threads: c.threads, ...encoderBatchFlag(values) } },
    onEvent: log,
  });
  removeSignalHandlers();
  log({ event: 'worker-ready', redis: redisUrl });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log({ event: 'signal', signal });
  await w.close();
  log({ event: 'worker-stopped' });
  return EXIT.OK;
}

async function status(values: Values, ctx: CliContext, redisUrl: string): Promise<number> {
  const { runStatus } = await import('../../jobs/status.js');
  const s = await runStatus(redisUrl, str(values, 'run', true));
  if (ctx.json) {
    ctx.stdout.write(JSON.stringify(s, null, 2) + '\n');
    return EXIT.OK;
  }
  const failed = Object.entries(s.shardsFailed);
  const lines = [
    `run ${s.runId}: ${s.state}${s.finishedAt ? ` at ${s.finishedAt}` : ''}`,
    `images ${s.imagesDone} / ${s.images} with results; shards ${s.shardsDone} / ${s.shards} done, ${failed.length} failed`,
    `model ${s.model} (sha256 ${s.modelSha256.slice(0, 12)}...)`,
    ...failed.map(([shard, reason]) => `  shard ${shard} failed: ${reason}`),
  ];
  ctx.stdout.write(lines.join('\n') + '\n');
  return EXIT.OK;
}

async function collect(values: Values, ctx: CliContext, redisUrl: string): Promise<number> {
  const { collectRun } = await import('../../jobs/collect.js');
  const { runStatus } = await import('../../jobs/status.js');
  const runId = str(values, 'run', true);
  const out = str(values, 'out', true);
  if (values.wait) {
    for (;;) {
      const s = await runStatus(redisUrl, runId);
      if (s.state === 'failed')
        throw invalidInput(
          'run',
          `Run '${runId}' failed: ${Object.values(s.shardsFailed)[0] ?? 'see oneclass jobs status'}`,
        );
      if (s.state === 'completed' || s.imagesDone === s.images) break;
      ctx.progress.update('collect', s.imagesDone, s.images);
      await new Promise((r) => setTimeout(r, 500));
    }
    ctx.progress.done();
  }
  const summary = await collectRun(redisUrl, runId, out, { partial: values.partial === true });
  if (ctx.json) ctx.stdout.write(JSON.stringify({ out, ...summary }, null, 2) + '\n');
  else
    ctx.info(
      `wrote ${summary.written} rows to ${out} (${summary.anomalous} anomalous, ${summary.errors} unreadable${summary.missing ? `, ${summary.missing} missing` : ''})`,
    );
  return EXIT.OK;
}

async function fit(values: Values, ctx: CliContext, redisUrl: string): Promise<number> {
  const { fitDistributed } = await import('../../jobs/fit.js');
  const out = str(values, 'out', true);
  const images = await imageList(str(values, 'images', true));
  const options = fitOptions(values, ctx);
  ctx.info(`fitting ${options.detector.kind} on ${images.length} images embedded by the workers at ${redisUrl}`);
  const started = Date.now();
  const det = await fitDistributed({
    redisUrl,
    fit: { ...options, encoder: str(values, 'encoder', true), images },
    shardSize: num(values, 'shard-size', { integer: true, min: 1, max: 1_000_000 }),
    attempts: num(values, 'attempts', { integer: true, min: 1, max: 1000 }),
    runId: str(values, 'run'),
    onProgress: (done, total) => ctx.progress.update('embed', done, total),
  });
  ctx.progress.done();
  try {
    await det.save(out);
    const t = det.config.training;
    if (ctx.json) ctx.stdout.write(JSON.stringify({ out, training: t, threshold: det.threshold }, null, 2) + '\n');
    else
      ctx.info(
        `wrote ${out} (${t.images} images, ${t.heldOut} held out for the threshold, ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
  } finally {
    await det.release();
  }
  return EXIT.OK;
}
