/** `oneclass score`: one row per image (CSV or JSON), to stdout or atomically to --out. */
import path from 'node:path';

import type { ScoredImage } from '../../pipeline/detector.js';
import { writeFileAtomic } from '../../pipeline/atomic.js';
import { batchSizeFlag, choice, type ParsedCommandLine, str } from '../args.js';
import { checkOutputFile, collectImages, csvCell, loadDetector, progressTo, reportSkipped } from '../common.js';
import type { CliContext } from '../context.js';

export function scoresCsv(items: readonly ScoredImage[], threshold: number): string {
  const lines = ['image,score,raw_score,anomalous,threshold'];
  for (const i of items) lines.push([csvCell(i.id), i.score, i.raw, i.anomalous ? 1 : 0, threshold].join(','));
  return lines.join('\n') + '\n';
}

export function scoresJson(
  items: readonly ScoredImage[],
  threshold: number,
  skipped: readonly { id: string; reason: string }[],
): string {
  return (
    JSON.stringify(
      {
        threshold,
        scores: items.map((i) => ({ image: i.id, score: i.score, rawScore: i.raw, anomalous: i.anomalous })),
        skipped,
      },
      null,
      2,
    ) + '\n'
  );
}

export async function scoreCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const out = str(values, 'out');
  const format =
    choice(values, 'format', ['csv', 'json'] as const) ??
    (ctx.json || (out && path.extname(out).toLowerCase() === '.json') ? 'json' : 'csv');
  const images = await collectImages(args.positionals);
  if (out) await checkOutputFile(out, '--out');
  const det = await loadDetector(values);
  try {
    const r = await det.score(images, {
      batchSize: batchSizeFlag(values),
      onUnreadable: values['skip-unreadable'] ? 'skip' : 'error',
      allowResize: values['allow-resize'] === true,
      onProgress: progressTo(ctx),
    });
    reportSkipped(ctx, r.skipped);
    const text = format === 'json' ? scoresJson(r.items, det.threshold, r.skipped) : scoresCsv(r.items, det.threshold);
    if (out) {
      await writeFileAtomic(out, text);
      ctx.info(
        `wrote ${r.items.length} scores to ${out} (${r.items.filter((i) => i.anomalous).length} anomalous at threshold ${det.threshold.toFixed(3)})`,
      );
    } else ctx.stdout.write(text);
    return 0;
  } finally {
    await det.release();
  }
}
