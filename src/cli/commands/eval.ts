/** `oneclass eval`: metrics on a labelled dataset, with a fitted model or fitting one first. */
import { DATASET_KINDS, openDataset } from '../../datasets/index.js';
import { evaluateDetector, type EvaluationResult } from '../../eval/evaluate.js';
import { writeFileAtomic } from '../../pipeline/atomic.js';
import { Detector } from '../../pipeline/detector.js';
import { batchSizeFlag, choice, CliUsageError, type ParsedCommandLine, str } from '../args.js';
import { checkOutputFile, fitOptions, loadDetector, progressTo, reportSkipped } from '../common.js';
import type { CliContext } from '../context.js';
import { datasetSpec } from './fit.js';

function pct(v: number): string {
  return (100 * v).toFixed(1);
}

export function resultsTable(r: EvaluationResult, title: string): string {
  const rows: [string, string][] = [
    ['test images (anomalous)', `${r.images} (${r.anomalies})`],
    ['image AUROC', pct(r.imageAuroc)],
    ['image F1-max (threshold)', `${pct(r.imageF1.f1)} (${r.imageF1.threshold.toFixed(3)})`],
    [
      'F1 at model threshold',
      `${pct(r.atModelThreshold.f1)} (threshold ${r.atModelThreshold.threshold.toFixed(3)}, precision ${pct(r.atModelThreshold.precision)}, recall ${pct(r.atModelThreshold.recall)})`,
    ],
  ];
  if (r.pixel) {
    rows.push(
      ['pixel AUROC', pct(r.pixel.pixelAuroc)],
      ['AUPRO (FPR <= 0.3)', pct(r.pixel.aupro)],
      ['pixel F1-max', pct(r.pixel.pixelF1.f1)],
    );
  }
  for (const [cat, auc] of Object.entries(r.perCategory).sort(([a], [b]) => a.localeCompare(b)))
    rows.push([`  AUROC good vs ${cat}`, pct(auc)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [title, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n') + '\n';
}

export async function evalCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const kind = choice(values, 'dataset', DATASET_KINDS);
  if (!kind) throw new CliUsageError('Missing required option --dataset');
  const modelFile = str(values, 'model');
  const encoderFile = str(values, 'encoder');
  if (!!modelFile === !!encoderFile)
    throw new CliUsageError('Give exactly one of --model (a fitted model) or --encoder (fit first)');
  const pixel = values.pixel === true;
  if (pixel && kind !== 'mvtec') throw new CliUsageError('--pixel needs --dataset mvtec (ground-truth masks)');
  const saveScores = str(values, 'save-scores');
  if (saveScores) await checkOutputFile(saveScores, '--save-scores');
  const split = await openDataset(datasetSpec(values, kind));
  ctx.info(split.description);
  const started = Date.now();
  const det = modelFile
    ? await loadDetector(values)
    : await Detector.fit({ ...fitOptions(values, ctx, pixel), encoder: encoderFile!, images: split.train });
  try {
    if (pixel && !det.hasLocalization) throw new CliUsageError('--pixel needs a model fitted with --localize');
    const fitSeconds = (Date.now() - started) / 1000;
    const t0 = Date.now();
    const r = await evaluateDetector(det, split.test, {
      pixel,
      onUnreadable: values['skip-unreadable'] ? 'skip' : 'error',
      allowResize: values['allow-resize'] === true,
      batchSize: batchSizeFlag(values),
      onProgress: progressTo(ctx),
    });
    reportSkipped(ctx, r.skipped);
    const seconds = { fit: modelFile ? 0 : fitSeconds, evaluate: (Date.now() - t0) / 1000 };
    if (saveScores)
      await writeFileAtomic(
        saveScores,
        JSON.stringify({ dataset: split.description, scores: r.scores }, null, 1) + '\n',
      );
    const summary = {
      dataset: split.description,
      detector: det.config.detector,
      encoder: det.config.encoder.file,
      views: det.config.encoder.views ?? 'none',
      trainImages: det.config.training.images,
      ...r,
      scores: undefined,
      seconds,
    };
    if (ctx.json) ctx.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    else if (!ctx.quiet)
      ctx.stdout.write(
        resultsTable(
          r,
          `${split.description}\nencoder ${det.config.encoder.file}${det.config.encoder.views === 'rotations' ? ' (views: rotations)' : ''}, detector ${det.config.detector.kind}, ${det.config.training.images} training images`,
        ),
      );
    return 0;
  } finally {
    await det.release();
  }
}
