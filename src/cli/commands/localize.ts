/**
 * `oneclass localize`: heatmap PNG + colour overlay per image, and scores.csv, into --out-dir.
 *
 * A run never mixes with an earlier one (docs/cli.md, "Output folders"): every file is written
 * into a private staging folder inside --out-dir, and only a run that finished moves them into
 * --out-dir, scores.csv last; a failed or interrupted run leaves --out-dir as it was. Output names
 * are unique over the whole run (two folders holding x.png give x_heatmap.png and x-1_heatmap.png)
 * and scores.csv names each image's two files. The files of the previous run that this run did not
 * rewrite are removed, using the index the previous run left (.oneclass-localize.json).
 */
import { mkdir, readFile, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { invalidInput } from '../../errors.js';
import { Staging, writeFileAtomic } from '../../pipeline/atomic.js';
import type { Detector, ScoredImage } from '../../pipeline/detector.js';
import { batchSizeFlag, num, type ParsedCommandLine, str } from '../args.js';
import { collectImages, csvCell, loadDetector, progressTo, reportSkipped, stem } from '../common.js';
import type { CliContext } from '../context.js';
import { heatmapLevels, heatmapPng, overlayPng } from '../render.js';
import { scoresCsv } from './score.js';

/** Output file stems unique over a whole run, compared without case (case-insensitive filesystems). */
export class OutputNames {
  private readonly used = new Set<string>();

  take(id: string): string {
    const base = stem(id).replace(/[^\w.-]+/g, '_') || 'image';
    let name = base;
    for (let n = 1; this.used.has(name.toLowerCase()); n++) name = `${base}-${n}`;
    this.used.add(name.toLowerCase());
    return name;
  }
}

export interface WrittenHeatmap {
  /** Position of the image in `items`. */
  index: number;
  heatmap: string;
  overlay: string;
}

/**
 * Writes heatmaps and overlays of already-localized images into `dir` (atomically per file unless
 * `write` says otherwise); `names` keeps names unique across calls of one run.
 */
export async function writeHeatmaps(
  det: Detector,
  items: readonly ScoredImage[],
  dir: string,
  alpha: number,
  names: OutputNames = new OutputNames(),
  write: (file: string, data: Uint8Array) => Promise<void> = writeFileAtomic,
): Promise<WrittenHeatmap[]> {
  const written: WrittenHeatmap[] = [];
  const threshold = det.config.localization!.calibration.threshold;
  for (const [index, item] of items.entries()) {
    if (!item.heatmap || !item.image) continue;
    const name = names.take(item.id);
    const levels = heatmapLevels(item.heatmap, threshold);
    const heatmap = `${name}_heatmap.png`;
    const overlay = `${name}_overlay.png`;
    await write(path.join(dir, heatmap), await heatmapPng(levels, item.heatmap.width, item.heatmap.height));
    await write(path.join(dir, overlay), await overlayPng(item.image, levels, alpha));
    written.push({ index, heatmap, overlay });
  }
  return written;
}

/** The hidden file listing what the last run published, so the next one can replace it whole. */
export const INDEX_FILE = '.oneclass-localize.json';
const OUTPUT_NAME = /^[\w.-]+_(heatmap|overlay)\.png$/;

/** The previous run's outputs (only plain output names: an index cannot point elsewhere). */
async function previousOutputs(outDir: string): Promise<string[]> {
  try {
    const index = JSON.parse(await readFile(path.join(outDir, INDEX_FILE), 'utf8')) as { files?: unknown };
    return Array.isArray(index.files) ? index.files.filter((f) => typeof f === 'string' && OUTPUT_NAME.test(f)) : [];
  } catch {
    return [];
  }
}

function indexJson(files: readonly string[]): string {
  return JSON.stringify({ format: 'oneclass/localize-index', version: 1, files }, null, 1) + '\n';
}

/** --out-dir checked and created before the model is loaded; true when this run created it. */
async function prepareOutDir(outDir: string): Promise<boolean> {
  const existing = await stat(outDir).catch(() => null);
  if (existing && !existing.isDirectory())
    throw invalidInput('--out-dir', `Cannot write into --out-dir ${outDir}: it is a file, not a folder`);
  if (existing) return false;
  try {
    await mkdir(outDir, { recursive: true });
  } catch (cause) {
    throw invalidInput('--out-dir', `Cannot create --out-dir ${outDir}: ${(cause as Error).message}`, cause);
  }
  return true;
}

/**
 * Moves the staged run into the output folder. Crash-consistent for the next run's cleanup: the
 * index on disk lists every output that may be present at each step (old and new while files
 * move, the new ones after), and scores.csv arrives last.
 */
async function publish(staging: Staging, outDir: string, files: readonly string[]): Promise<void> {
  const previous = await previousOutputs(outDir);
  const current = new Set(files);
  await writeFileAtomic(path.join(outDir, INDEX_FILE), indexJson([...new Set([...previous, ...files])]));
  await staging.publish(files);
  for (const old of previous) if (!current.has(old)) await unlink(path.join(outDir, old)).catch(() => undefined);
  await writeFileAtomic(path.join(outDir, INDEX_FILE), indexJson(files));
  await staging.publish(['scores.csv']);
}

export async function localizeCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const outDir = path.resolve(str(values, 'out-dir', true));
  const alpha = num(values, 'alpha', { min: 0, max: 1 }) ?? 0.5;
  const images = await collectImages(args.positionals);
  const created = await prepareOutDir(outDir);
  let staging: Staging | undefined;
  let det: Detector | undefined;
  let done = false;
  try {
    // Before the model loads: a folder we cannot write into fails now, not after the scoring.
    staging = await Staging.create(outDir);
    det = await loadDetector(values);
    const rows: LocalizedRow[] = [];
    const skipped = [];
    const names = new OutputNames();
    // Stream: each batch's heatmaps are written and dropped before the next batch is decoded.
    for await (const batch of det.stream(images, {
      heatmaps: true,
      keepImages: true,
      batchSize: batchSizeFlag(values),
      onUnreadable: values['skip-unreadable'] ? 'skip' : 'error',
      allowResize: values['allow-resize'] === true,
      onProgress: progressTo(ctx),
    })) {
      const written = await writeHeatmaps(det, batch.items, staging.dir, alpha, names, (f, d) => writeFile(f, d));
      for (const w of written) {
        const { heatmap: _h, image: _i, ...scores } = batch.items[w.index];
        rows.push({ ...scores, files: w });
      }
      skipped.push(...batch.skipped);
    }
    reportSkipped(ctx, skipped);
    await writeFile(staging.file('scores.csv'), localizeCsv(rows, det.threshold));
    const files = rows.flatMap((r) => [r.files.heatmap, r.files.overlay]);
    await publish(staging, outDir, files);
    done = true;
    if (ctx.json)
      ctx.stdout.write(
        JSON.stringify({ outDir, images: rows.length, files: files.length + 1, skipped }, null, 2) + '\n',
      );
    else ctx.info(`wrote ${files.length} heatmap/overlay PNGs and scores.csv to ${outDir}`);
    return 0;
  } finally {
    await staging?.discard();
    // A folder this run created for nothing is removed again (rmdir: only if empty).
    if (!done && created) await rmdir(outDir).catch(() => undefined);
    await det?.release();
  }
}

type LocalizedRow = ScoredImage & { files: WrittenHeatmap };

/** score's columns plus the two files of each image. */
function localizeCsv(rows: readonly LocalizedRow[], threshold: number): string {
  const lines = scoresCsv(rows, threshold).trimEnd().split('\n');
  lines[0] += ',heatmap,overlay';
  rows.forEach((r, i) => (lines[i + 1] += `,${csvCell(r.files.heatmap)},${csvCell(r.files.overlay)}`));
  return lines.join('\n') + '\n';
}
