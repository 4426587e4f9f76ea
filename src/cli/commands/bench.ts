/**
 * `oneclass bench`: per-stage latency (per batch) and throughput (images/s) of scoring:
 * decode (sharp), encode (preprocess + ONNX Runtime), detect (stage 2), heatmaps (patch
 * embedding + patch detectors + upsampling, models with localization), and end to end.
 * Timings are wall-clock on this machine; nothing asserts on them. With --concurrency or --rate,
 * the load modes of bench-load.ts instead.
 */
import { performance } from 'node:perf_hooks';

import { DEFAULT_BATCH, encodeBatch } from '../../pipeline/batches.js';
import { decodeBatch, nameImages } from '../../pipeline/images.js';
import { batchSizeFlag, num, type ParsedCommandLine } from '../args.js';
import { collectImages, loadDetector } from '../common.js';
import type { CliContext } from '../context.js';
import { benchLoad } from './bench-load.js';

export interface StageStats {
  batches: number;
  images: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  imagesPerSecond: number;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export function stageStats(latencies: number[], images: number): StageStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const total = latencies.reduce((a, b) => a + b, 0);
  return {
    batches: latencies.length,
    images,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    imagesPerSecond: total > 0 ? images / (total / 1000) : 0,
  };
}

export async function benchCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  if (values.concurrency !== undefined || values.rate !== undefined) return benchLoad(args, ctx);
  const repeat = num(values, 'repeat', { integer: true, min: 1 }) ?? 3;
  const batchSize = batchSizeFlag(values) ?? DEFAULT_BATCH;
  const files = await collectImages(args.positionals);
  const det = await loadDetector(values);
  try {
    const named = nameImages(files);
    const policy = values['skip-unreadable'] ? 'skip' : 'error';
    const times: Record<string, number[]> = { decode: [], encode: [], detect: [], heatmaps: [], endToEnd: [] };
    const counts: Record<string, number> = { decode: 0, encode: 0, detect: 0, heatmaps: 0, endToEnd: 0 };
    const time = async <T>(stage: string, n: number, f: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const r = await f();
      times[stage].push(performance.now() - t);
      counts[stage] += n;
      return r;
    };
    // One warm-up batch: the first ONNX Runtime run allocates its arenas.
    await det.score(files.slice(0, Math.min(batchSize, files.length)), { onUnreadable: policy, allowResize: true });
    for (let r = 0; r < repeat; r++) {
      for (let start = 0; start < named.length; start += batchSize) {
        const batch = named.slice(start, start + batchSize);
        const { decoded } = await time('decode', batch.length, () =>
          decodeBatch(batch, start, policy, null, det.encoder.colourTarget()),
        );
        const raws = decoded.map((d) => d.raw);
        const features = await time('encode', raws.length, () =>
          encodeBatch(det.encoder, decoded, det.config.encoder.output, {
            image: true,
            views: det.config.encoder.views ?? 'none',
            patches: null,
          }),
        );
        await time('detect', raws.length, () => det.scoreEmbeddings(features.image!));
        if (det.hasLocalization)
          await time('heatmaps', raws.length, () => det.localize(raws, { batchSize, allowResize: true }));
        await time('endToEnd', batch.length, () =>
          det.score(
            batch.map((b) => b.image),
            { batchSize, onUnreadable: policy, allowResize: true },
          ),
        );
        ctx.progress.update(
          'bench',
          r * named.length + Math.min(start + batchSize, named.length),
          repeat * named.length,
        );
      }
    }
    ctx.progress.done();
    const stages = Object.fromEntries(
      Object.entries(times)
        .filter(([, t]) => t.length > 0)
        .map(([k, t]) => [k, stageStats(t, counts[k])]),
    );
    const report = { images: files.length, repeat, batchSize, encoderBackend: det.encoder.backend, stages };
    if (ctx.json) ctx.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      const lines = [
        `${files.length} images x ${repeat} passes, batch ${batchSize}, encoder on ${det.encoder.backend}`,
        'stage        p50 ms   p90 ms   p99 ms   images/s',
      ];
      for (const [k, s] of Object.entries(stages)) {
        lines.push(
          `${k.padEnd(10)} ${s.p50Ms.toFixed(1).padStart(8)} ${s.p90Ms.toFixed(1).padStart(8)} ${s.p99Ms.toFixed(1).padStart(8)} ${s.imagesPerSecond.toFixed(1).padStart(10)}`,
        );
      }
      lines.push('(latencies are per batch; heatmaps include their own encode and detect; endToEnd = Detector.score)');
      ctx.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  } finally {
    await det.release();
  }
}
