/**
 * `oneclass bench --concurrency N | --rate R`: perf_analyzer-style load against the in-process
 * dynamic batcher (default), single-image Detector.score calls (--unbatched, the reference), or
 * a running server (--url). Measurement: src/serve/load.ts. Figures are wall-clock on this machine.
 */
import { readFile } from 'node:fs/promises';

import { CliUsageError, num, type ParsedCommandLine, str } from '../args.js';
import { batcherFlags, encoderBatchFlag } from '../batcher-flags.js';
import { collectImages, loadDetector } from '../common.js';
import type { CliContext } from '../context.js';

export async function benchLoad(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const { measureLoad } = await import('../../serve/load.js');
  const concurrency = num(values, 'concurrency', { integer: true, min: 1, max: 100_000 });
  const rate = num(values, 'rate', { min: 0, exclusiveMin: true });
  if (concurrency !== undefined && rate !== undefined)
    throw new CliUsageError('Give --concurrency or --rate, not both', '--rate');
  const url = str(values, 'url');
  if (url && (values.model !== undefined || values.unbatched))
    throw new CliUsageError('--url loads a running server: --model and --unbatched do not apply', '--url');
  if (!url && values.model === undefined)
    throw new CliUsageError('Missing required option --model (or --url)', '--model');
  const files = await collectImages(args.positionals);
  const images = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
  const load = {
    images,
    concurrency,
    rate,
    windowMs: num(values, 'window-ms', { min: 1 }),
    warmupMs: num(values, 'warmup-ms', { min: 0 }),
    stabilityPct: num(values, 'stability', { min: 0 }),
    maxWindows: num(values, 'max-windows', { integer: true, min: 3 }),
  };
  let target: Parameters<typeof measureLoad>[0];
  let what: string;
  let release = async () => undefined as void;
  if (url) {
    const { httpTarget, scoreEndpoint } = await import('../../serve/http-target.js');
    target = httpTarget(url);
    what = `server ${scoreEndpoint(url)}`;
  } else {
    const det = await loadDetector(values, encoderBatchFlag(values));
    if (values.unbatched) {
      target = async (image) => void (await det.score([image], { allowResize: values['allow-resize'] === true }));
      what = 'Detector.score, one image per call (no batching)';
      release = () => det.release();
    } else {
      const { Batcher } = await import('../../serve/batcher.js');
      const options = batcherFlags(values);
      // Closed loop: every caller may wait at once; the queue must hold them all.
      if (concurrency !== undefined && options.maxQueue === undefined)
        options.maxQueue = Math.max(concurrency, 8 * (options.maxBatch ?? 32));
      const batcher = new Batcher(det, options);
      target = async (image) => (await batcher.score([image])).timings;
      what = `in-process batcher (maxBatch ${options.maxBatch ?? 32}, maxDelayMs ${options.maxDelayMs ?? 5})`;
      release = async () => {
        await batcher.close();
        await det.release();
      };
    }
  }
  ctx.info(
    `load: ${concurrency !== undefined ? `${concurrency} concurrent callers` : `${rate} requests/s`} against ${what}`,
  );
  try {
    const report = await measureLoad(target, load);
    if (ctx.json) {
      ctx.stdout.write(JSON.stringify({ target: what, images: files.length, ...report }, null, 2) + '\n');
      return 0;
    }
    const l = report.latency;
    const s = report.stages;
    const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
    const lines = [
      `${report.mode === 'concurrency' ? `concurrency ${report.concurrency}` : `rate ${report.rate}/s`} against ${what}`,
      `${report.windows.length} windows, ${report.stable ? 'stable' : 'NOT stable'} (last 3 reported)`,
      `throughput  ${report.imagesPerSecond.toFixed(1)} images/s`,
      `latency ms  p50 ${ms(l.p50Ms)}  p90 ${ms(l.p90Ms)}  p95 ${ms(l.p95Ms)}  p99 ${ms(l.p99Ms)}  max ${ms(l.maxMs)}  (${l.count} requests)`,
      `mean split  queue ${ms(s.queueMs)}  decode ${ms(s.decodeMs)}  encode ${ms(s.encodeMs)}  detect ${ms(s.detectMs)} ms`,
    ];
    const errors = Object.entries(report.errors);
    if (errors.length > 0) lines.push(`errors      ${errors.map(([k, v]) => `${k} ${v}`).join(', ')}`);
    if (report.dropped > 0) lines.push(`dropped     ${report.dropped} (more than the outstanding limit)`);
    ctx.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await release();
  }
}
