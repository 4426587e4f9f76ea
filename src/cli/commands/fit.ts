/** `oneclass fit`: fit on normal images, write one model file atomically (an existing file is replaced only on success). */
import { CIFAR_TRAIN_SETS, type DatasetKind, DATASET_KINDS, openDataset } from '../../datasets/index.js';
import { Detector, type PipelineImage } from '../../pipeline/detector.js';
import { localizationSummary } from '../model-summary.js';
import { choice, CliUsageError, num, type ParsedCommandLine, str } from '../args.js';
import { checkOutputFile, collectImages, fitOptions, reportSkipped } from '../common.js';
import type { CliContext } from '../context.js';

/** Training images from --train DIR or --dataset/--data (the dataset's training split). */
export async function trainingImages(
  values: ParsedCommandLine['values'],
): Promise<{ images: PipelineImage[]; description: string }> {
  const train = str(values, 'train');
  const kind = choice(values, 'dataset', DATASET_KINDS);
  if (train && kind) throw new CliUsageError('Give either --train or --dataset/--data, not both');
  if (train) {
    const images = await collectImages([train], '--train');
    return { images, description: `${images.length} images from ${train}` };
  }
  if (!kind) throw new CliUsageError('Missing training images: give --train DIR or --dataset KIND --data DIR');
  const split = await openDataset(datasetSpec(values, kind));
  return { images: split.train, description: split.description };
}

/** --validation-good / --validation-anomalous: both or neither; labels 0 (normal) and 1 (anomalous). */
async function validationSet(
  values: ParsedCommandLine['values'],
): Promise<{ images: PipelineImage[]; labels: Uint8Array } | undefined> {
  const good = str(values, 'validation-good');
  const anomalous = str(values, 'validation-anomalous');
  if (!good && !anomalous) return undefined;
  if (!good || !anomalous) {
    throw new CliUsageError('A validation set needs both --validation-good DIR and --validation-anomalous DIR');
  }
  const normal = await collectImages([good], '--validation-good');
  const bad = await collectImages([anomalous], '--validation-anomalous');
  const labels = new Uint8Array(normal.length + bad.length);
  labels.fill(1, normal.length);
  return { images: [...normal, ...bad], labels };
}

export function datasetSpec(values: ParsedCommandLine['values'], kind: DatasetKind) {
  return {
    kind,
    root: str(values, 'data', true),
    normalClass: num(values, 'normal-class', { integer: true, min: 0, max: 9 }),
    cifarTrain: choice(values, 'cifar-train', CIFAR_TRAIN_SETS),
    trainLimit: num(values, 'train-limit', { integer: true, min: 1 }),
    testLimit: num(values, 'test-limit', { integer: true, min: 1 }),
    seed: num(values, 'seed', { integer: true, min: 0 }),
    channels: num(values, 'channels', { integer: true, min: 1, max: 3 }) as 1 | 3 | undefined,
  };
}

export async function fitCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const encoder = str(values, 'encoder', true);
  const out = str(values, 'out', true);
  const options = fitOptions(values, ctx);
  await checkOutputFile(out, '--out', true);
  const { images, description } = await trainingImages(values);
  const validation = await validationSet(values);
  ctx.info(
    `fitting ${options.detector.kind} on ${description}` +
      (validation ? `; F1-optimal threshold on ${validation.images.length} labelled validation images` : ''),
  );
  const started = Date.now();
  const det = await Detector.fit({
    ...options,
    encoder,
    images,
    embedEncoder: values['reference-encoder'] !== true,
    ...(validation ? { validation } : {}),
  });
  try {
    await det.save(out);
    const c = det.config;
    if (c.training.skipped.length > 0)
      reportSkipped(
        ctx,
        c.training.skipped.map((id, index) => ({ id, index, reason: 'unreadable' })),
      );
    const summary = {
      model: out,
      images: c.training.images,
      heldOut: c.training.heldOut,
      skipped: c.training.skipped,
      detector: c.detector,
      threshold: c.image.threshold,
      localization: localizationSummary(c.localization),
      seconds: (Date.now() - started) / 1000,
    };
    if (ctx.json) ctx.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else
      ctx.info(
        `wrote ${out} (${c.training.images} images, ${c.training.heldOut} held out for the threshold, ${summary.seconds.toFixed(1)} s)`,
      );
    return 0;
  } finally {
    await det.release();
  }
}
