/**
 * `oneclass jobs collect`: one CSV row per image of the run, in the submitted order, written
 * atomically. Every image appears exactly once whatever happened to the shards (results are keyed
 * by model, path and content: redis.ts). An incomplete run is refused unless `partial` is set.
 */
import { writeFileAtomic } from '../pipeline/atomic.js';
import { invalidInput } from '../errors.js';
import { csvCell } from '../cli/common.js';
import { readRun } from './run-meta.js';
import { connectCommand, keys, resultField } from './redis.js';
import type { StoredResult } from './worker.js';

export interface CollectOptions {
  /** Write the rows that exist and leave out the images without a result (default false). */
  partial?: boolean;
}

export interface CollectSummary {
  runId: string;
  images: number;
  written: number;
  missing: number;
  /** Images whose result is an error (unreadable, wrong channels or size). */
  errors: number;
  anomalous: number;
}

export const RESULTS_HEADER = 'image,content_sha256,score,raw_score,anomalous,threshold,error';
const PAGE = 5000;

export async function collectRun(
  redisUrl: string,
  runId: string,
  out: string,
  options: CollectOptions = {},
): Promise<CollectSummary> {
  const redis = await connectCommand(redisUrl);
  try {
    const meta = await readRun(redis, runId);
    const lines = [RESULTS_HEADER];
    const summary: CollectSummary = { runId, images: meta.images, written: 0, missing: 0, errors: 0, anomalous: 0 };
    for (let start = 0; start < meta.images; start += PAGE) {
      const paths = await redis.lrange(keys.images(runId), start, start + PAGE - 1);
      const shas = await redis.hmget(keys.done(runId), ...paths.map((_, i) => String(start + i)));
      const present = paths.map((p, i) => (shas[i] === null ? null : resultField(shas[i]!, p)));
      const fields = present.filter((f): f is string => f !== null);
      const values = fields.length > 0 ? await redis.hmget(keys.results(meta.modelSha256), ...fields) : [];
      let v = 0;
      paths.forEach((p, i) => {
        if (present[i] === null) {
          summary.missing++;
          return;
        }
        const text = values[v++];
        if (text === null) {
          summary.missing++;
          return;
        }
        const r = JSON.parse(text) as StoredResult;
        const sha = shas[i] === 'unreadable' ? '' : shas[i]!;
        if ('error' in r) {
          summary.errors++;
          lines.push([csvCell(p), sha, '', '', '', meta.threshold, csvCell(`${r.code}: ${r.error}`)].join(','));
        } else {
          if (r.anomalous) summary.anomalous++;
          lines.push([csvCell(p), sha, r.score, r.raw, r.anomalous ? 1 : 0, meta.threshold, ''].join(','));
        }
        summary.written++;
      });
    }
    if (summary.missing > 0 && !options.partial) {
      throw invalidInput(
        'run',
        `Run '${runId}' is incomplete: ${summary.missing} of ${meta.images} images have no result yet ` +
          `(state ${meta.state}); wait for it (oneclass jobs status) or pass --partial`,
      );
    }
    await writeFileAtomic(out, lines.join('\n') + '\n');
    return summary;
  } finally {
    redis.disconnect();
  }
}
