/** Helpers shared by the commands: image lists, detector options from flags, model loading, output paths. */
import { constants, existsSync, statSync } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import path from 'node:path';

import { BANDWIDTH_RULES } from '../detectors/kde.js';
import { METRICS } from '../detectors/knn.js';
import { GAMMA_RULES } from '../detectors/ocsvm.js';
import { ENCODER_OUTPUTS, type EncoderLoadOptions, IMAGE_VIEWS, listImageFiles } from '../encoder/index.js';
import { invalidInput, modelFormat } from '../errors.js';
import { type DetectorKindName, detectorKinds, type DetectorSpec } from '../pipeline/registry.js';
import type { FitOptions, Progress } from '../pipeline/detector.js';
import type { SkippedImage } from '../pipeline/images.js';
import { PATCH_METHODS } from '../pipeline/dense-localization.js';
import { IMAGE_SCORE_NAMES, type ImageScoreName, PIPELINE_FORMAT } from '../pipeline/model-file.js';
import { Detector } from '../pipeline/detector.js';
import { type Device, DEVICES } from '../validate.js';
import { batchSizeFlag, choice, CliUsageError, num, type ParsedCommandLine, ruleOrNumber, str } from './args.js';
import type { CliContext } from './context.js';

type Values = ParsedCommandLine['values'];

/** Image files from arguments that are files or folders (folders: their images, sorted). */
export async function collectImages(args: readonly string[], what = 'images'): Promise<string[]> {
  if (args.length === 0) throw invalidInput(what, `No ${what} given: pass image files or folders`);
  const files: string[] = [];
  for (const arg of args) {
    if (!existsSync(arg)) throw invalidInput(arg, `${what}: ${arg} does not exist`);
    if (statSync(arg).isDirectory()) {
      const found = await listImageFiles(arg);
      if (found.length === 0) throw invalidInput(arg, `${what}: folder ${arg} holds no images (.jpg, .png, ...)`);
      files.push(...found);
    } else files.push(arg);
  }
  return files;
}

export function compute(values: Values): { device?: Device; threads?: number } {
  return {
    device: choice(values, 'device', DEVICES),
    threads: num(values, 'threads', { integer: true, min: 0 }),
  };
}

/** The encoder's load options from flags: where it runs, the decoded-pixel limits and --strict-colour. */
export function encoderOptions(values: Values, device: Device | undefined): EncoderLoadOptions {
  const maxImagePixels = num(values, 'max-image-pixels', { integer: true, min: 1 });
  const maxBatchPixels = num(values, 'max-batch-pixels', { integer: true, min: 1 });
  return {
    device,
    strictColour: values['strict-colour'] === true,
    ...(maxImagePixels === undefined ? {} : { maxImagePixels }),
    ...(maxBatchPixels === undefined ? {} : { maxBatchPixels }),
  };
}

const POSITIVE = { min: 0, exclusiveMin: true };
/**
 * The detector flags each kind takes; a flag of another kind is a usage error. A kind without
 * flags here runs from the command line with its defaults.
 */
const DETECTOR_FLAGS: Partial<Record<DetectorKindName, readonly string[]>> = {
  kde: ['bandwidth'],
  gde: ['shrinkage'],
  knn: ['metric', 'k'],
  ocsvm: ['nu', 'gamma'],
};

/** --detector and its options as a typed spec (undefined options take the kind's defaults). */
export function detectorSpec(values: Values, fallback: DetectorKindName = 'kde'): DetectorSpec {
  const kind = choice(values, 'detector', detectorKinds()) ?? fallback;
  for (const flag of Object.values(DETECTOR_FLAGS).flat()) {
    if (values[flag] !== undefined && !DETECTOR_FLAGS[kind]?.includes(flag))
      throw new CliUsageError(`--${flag} does not apply to --detector ${kind}`, `--${flag}`);
  }
  switch (kind) {
    case 'kde':
      return { kind, bandwidth: ruleOrNumber(values, 'bandwidth', BANDWIDTH_RULES, POSITIVE) };
    case 'gde':
      return { kind, shrinkage: ruleOrNumber(values, 'shrinkage', ['ledoit-wolf', 'none'], { min: 0, max: 1 }) };
    case 'knn':
      return { kind, metric: choice(values, 'metric', METRICS), k: num(values, 'k', { integer: true, min: 1 }) };
    case 'ocsvm':
      return {
        kind,
        nu: num(values, 'nu', { ...POSITIVE, max: 1 }),
        gamma: ruleOrNumber(values, 'gamma', GAMMA_RULES, POSITIVE),
      };
    default:
      return { kind };
  }
}

/** Detector.fit options from flags (everything but encoder and images). */
export function fitOptions(
  values: Values,
  ctx: CliContext,
  forcePixel = false,
): Omit<FitOptions, 'encoder' | 'images'> {
  const localize =
    values.localize === true ||
    values['per-position'] === true ||
    values['patch-method'] !== undefined ||
    values['coreset-ratio'] !== undefined ||
    forcePixel;
  const c = compute(values);
  return {
    detector: detectorSpec(values),
    output: choice(values, 'output', ENCODER_OUTPUTS),
    views: choice(values, 'views', ['auto', ...IMAGE_VIEWS]),
    localization: localize
      ? {
          method: choice(values, 'patch-method', PATCH_METHODS),
          coresetRatio: num(values, 'coreset-ratio', { ...POSITIVE, max: 1 }),
          perPosition: values['per-position'] === true ? true : undefined,
          patchSize: num(values, 'patch-size', { integer: true, min: 1 }),
          stride: num(values, 'stride', { integer: true, min: 1 }),
          resize: num(values, 'resize', { integer: true, min: 1 }),
          sigma: num(values, 'sigma', POSITIVE),
        }
      : undefined,
    imageScore: choice(values, 'image-score', Object.keys(IMAGE_SCORE_NAMES) as ImageScoreName[]),
    holdout: num(values, 'holdout', { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true }),
    thresholdQuantile: num(values, 'quantile', { ...POSITIVE, max: 1 }),
    seed: num(values, 'seed', { integer: true, min: 0 }),
    batchSize: batchSizeFlag(values),
    onUnreadable: values['skip-unreadable'] ? 'skip' : 'error',
    ...c,
    encoderOptions: encoderOptions(values, c.device),
    onProgress: progressTo(ctx),
  };
}

export function progressTo(ctx: CliContext): (p: Progress) => void {
  return (p) => {
    // 'fit' reports steps only when there are many (a patchcore bank's coreset selection).
    if (p.stage === 'embed' || p.stage === 'score' || (p.stage === 'fit' && p.total > 1))
      ctx.progress.update(p.stage === 'fit' ? 'coreset' : p.stage, p.done, p.total);
    if (p.done === p.total) ctx.progress.done();
  };
}

/** The model of --model, with the encoder's flags; `extra` adds load options of the command (serve's --encoder-batch). */
export async function loadDetector(values: Values, extra: { batchSize?: number } = {}): Promise<Detector> {
  const file = str(values, 'model', true);
  if (!existsSync(file)) throw modelFormat(file, `Model file not found: ${file}`);
  const c = compute(values);
  const encoderPath = str(values, 'encoder-file');
  return Detector.load(file, {
    ...c,
    encoderOptions: { ...encoderOptions(values, c.device), ...extra },
    ...(encoderPath ? { encoderPath } : {}),
  });
}

/** True when `file` starts like a oneclass model file (its safetensors header names the format). */
async function isModelFile(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
    const head = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(8, bytesRead).includes(PIPELINE_FORMAT);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

/**
 * Checks an output file before any work is done, so a run never fits or scores for minutes and
 * then fails to write: its folder exists and is writable, it is not a folder, and it is not a
 * model file unless `model` says a model is written there (score --out model.oneclass would
 * replace the model with a CSV).
 */
export async function checkOutputFile(file: string, flag: string, model = false): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const fail = (why: string) => invalidInput(flag, `Cannot write ${flag} ${file}: ${why}`);
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw fail('it is a folder');
  if (existing && !model && (await isModelFile(file)))
    throw fail('it is a oneclass model file; choose another output name');
  const folder = await stat(dir).catch(() => null);
  if (!folder?.isDirectory()) throw fail(`its folder ${dir} does not exist`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw fail(`permission denied in ${dir}`);
  }
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
