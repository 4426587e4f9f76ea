/** `oneclass localize`: heatmap PNG + colour overlay per image, and scores.csv, into --out-dir. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { writeFileAtomic } from '../../pipeline/atomic.js';
import type { Detector, ScoredImage } from '../../pipeline/detector.js';
import { batchSizeFlag, num, type ParsedCommandLine, str } from '../args.js';
import { collectImages, loadDetector, progressTo, reportSkipped, stem } from '../common.js';
import type { CliContext } from '../context.js';
import { heatmapLevels, heatmapPng, overlayPng } from '../render.js';
import { scoresCsv } from './score.js';

/** Writes heatmaps and overlays of already-localized images; returns the files written. */
export async function writeHeatmaps(
  det: Detector,
  items: readonly ScoredImage[],
  outDir: string,
  alpha: number,
): Promise<string[]> {
  const written: string[] = [];
  const threshold = det.config.localization!.calibration.threshold;
  const used = new Map<string, number>();
  for (const item of items) {
    if (!item.heatmap || !item.image) continue;
    // Two inputs with the same file name (from different folders) must not overwrite each other.
    let name = stem(item.id).replace(/[^\w.-]+/g, '_');
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    if (n > 0) name = `${name}-${n}`;
    const levels = heatmapLevels(item.heatmap, threshold);
    const heat = path.join(outDir, `${name}_heatmap.png`);
    const over = path.join(outDir, `${name}_overlay.png`);
    await writeFileAtomic(heat, await heatmapPng(levels, item.heatmap.width, item.heatmap.height));
    await writeFileAtomic(over, await overlayPng(item.image, levels, alpha));
    written.push(heat, over);
  }
  return written;
}

export async function localizeCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const outDir = str(values, 'out-dir', true);
  const alpha = num(values, 'alpha', { min: 0, max: 1 }) ?? 0.5;
  const images = await collectImages(args.positionals);
  const det = await loadDetector(values);
  try {
    await mkdir(outDir, { recursive: true });
    const all: ScoredImage[] = [];
    const skipped = [];
    let files = 0;
    // Stream: each batch's heatmaps are written and dropped before the next batch is decoded.
    for await (const batch of det.stream(images, {
      heatmaps: true,
      keepImages: true,
      batchSize: batchSizeFlag(values),
      onUnreadable: values['skip-unreadable'] ? 'skip' : 'error',
      allowResize: values['allow-resize'] === true,
      onProgress: progressTo(ctx),
    })) {
      files += (await writeHeatmaps(det, batch.items, outDir, alpha)).length;
      all.push(...batch.items.map(({ heatmap: _h, image: _i, ...rest }) => rest));
      skipped.push(...batch.skipped);
    }
    reportSkipped(ctx, skipped);
    await writeFileAtomic(path.join(outDir, 'scores.csv'), scoresCsv(all, det.threshold));
    if (ctx.json)
      ctx.stdout.write(JSON.stringify({ outDir, images: all.length, files: files + 1, skipped }, null, 2) + '\n');
    else ctx.info(`wrote ${files} heatmap/overlay PNGs and scores.csv to ${outDir}`);
    return 0;
  } finally {
    await det.release();
  }
}
