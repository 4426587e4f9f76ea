/** Helpers shared by the commands: image lists, detector options from flags, model loading. */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

import { listImageFiles } from '../encoder/index.js';
import { OneclassError } from '../errors.js';
import type { DetectorSpec } from '../pipeline/registry.js';
import type { FitOptions, Progress } from '../pipeline/detector.js';
import type { SkippedImage } from '../pipeline/images.js';
import { Detector } from '../pipeline/detector.js';
import type { Device } from '../validate.js';
import { choice, num, type ParsedCommandLine, str } from './args.js';
import type { CliContext } from './context.js';

type Values = ParsedCommandLine['values'];

/** Image files from arguments that are files or folders (folders: their images, sorted). */
export async function collectImages(args: readonly string[], what = 'images'): Promise<string[]> {
  if (args.length === 0)
    throw new OneclassError('ERR_INVALID_ARGUMENT', `No ${what} given: pass image files or folders`, { path: what });
  const files: string[] = [];
  for (const arg of args) {
    if (!existsSync(arg))
      throw new OneclassError('ERR_INVALID_ARGUMENT', `${what}: ${arg} does not exist`, { path: arg });
    if (statSync(arg).isDirectory()) {
      const found = await listImageFiles(arg);
      if (found.length === 0)
        throw new OneclassError('ERR_INVALID_ARGUMENT', `${what}: folder ${arg} holds no images (.jpg, .png, ...)`, {
          path: arg,
        });
      files.push(...found);
    } else files.push(arg);
  }
  return files;
}

export function compute(values: Values): { device?: Device; threads?: number } {
  return {
    device: choice(values, 'device', ['auto', 'cpu', 'cuda'] as const),
    threads: num(values, 'threads', { integer: true, min: 0 }),
  };
}

export function detectorSpec(values: Values): DetectorSpec {
  const kind = str(values, 'detector') ?? 'kde';
  const spec: DetectorSpec = { kind };
  const bw = str(values, 'bandwidth');
  if (bw !== undefined)
    spec.bandwidth = ['droc', 'scott', 'silverman'].includes(bw)
      ? bw
      : num(values, 'bandwidth', { min: Number.MIN_VALUE });
  if (str(values, 'metric')) spec.metric = choice(values, 'metric', ['cosine', 'euclidean'] as const);
  if (str(values, 'k')) spec.k = num(values, 'k', { integer: true, min: 1 });
  const sh = str(values, 'shrinkage');
  if (sh !== undefined)
    spec.shrinkage = sh === 'ledoit-wolf' || sh === 'none' ? sh : num(values, 'shrinkage', { min: 0, max: 1 });
  if (str(values, 'nu')) spec.nu = num(values, 'nu', { min: Number.MIN_VALUE, max: 1 });
  const g = str(values, 'gamma');
  if (g !== undefined) spec.gamma = /^[a-z]+$/.test(g) ? g : num(values, 'gamma', { min: Number.MIN_VALUE });
  return spec;
}

/** Detector.fit options from flags (everything but encoder and images). */
export function fitOptions(
  values: Values,
  ctx: CliContext,
  forcePixel = false,
): Omit<FitOptions, 'encoder' | 'images'> {
  const localize = values.localize === true || values['per-position'] === true || forcePixel;
  const imageScore = choice(values, 'image-score', ['image', 'heatmap-max'] as const);
  return {
    detector: detectorSpec(values),
    output: choice(values, 'output', ['pooled', 'projection'] as const),
    localization: localize
      ? {
          perPosition: values['per-position'] === true,
          patchSize: num(values, 'patch-size', { integer: true, min: 1 }),
          stride: num(values, 'stride', { integer: true, min: 1 }),
          resize: num(values, 'resize', { integer: true, min: 1 }),
          sigma: num(values, 'sigma', { min: Number.MIN_VALUE }),
        }
      : undefined,
    imageScore,
    holdout: num(values, 'holdout', { min: 0, max: 1 }),
    thresholdQuantile: num(values, 'quantile', { min: 0, max: 1 }),
    seed: num(values, 'seed', { integer: true, min: 0 }),
    batchSize: num(values, 'batch-size', { integer: true, min: 1, max: 4096 }),
    onUnreadable: values['skip-unreadable'] ? 'skip' : 'error',
    ...compute(values),
    encoderOptions: { device: choice(values, 'device', ['auto', 'cpu', 'cuda'] as const) },
    onProgress: progressTo(ctx),
  };
}

export function progressTo(ctx: CliContext): (p: Progress) => void {
  return (p) => {
    if (p.stage === 'embed' || p.stage === 'score') ctx.progress.update(p.stage, p.done, p.total);
    if (p.done === p.total) ctx.progress.done();
  };
}

export async function loadDetector(values: Values): Promise<Detector> {
  const file = str(values, 'model', true);
  if (!existsSync(file))
    throw new OneclassError('ERR_INVALID_ARGUMENT', `Model file not found: ${file}`, { path: file });
  const c = compute(values);
  return Detector.load(file, { ...c, encoderOptions: { device: c.device } });
}

export function reportSkipped(ctx: CliContext, skipped: readonly SkippedImage[]): void {
  if (skipped.length === 0) return;
  ctx.warn(`skipped ${skipped.length} unreadable image(s):`);
  for (const s of skipped) ctx.warn(`  ${s.id}: ${s.reason}`);
}

export function csvCell(v: string | number | boolean): string {
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function stem(file: string): string {
  return path.basename(file, path.extname(file));
}
