/**
 * `oneclass demo`: the whole pipeline on the bundled magnetic-tile images (examples/), offline
 * and without Python: fit a detector (default 1-NN, cosine) with localization (the encoder's default method:
 * the dense model's own per-position scores when models/ has it, else the crop grid) on 36 defect-free tiles, score 18
 * held-back tiles (8 good, 10 defective), write heatmap overlays, print metrics and file paths.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readMvtec } from '../../datasets/mvtec.js';
import { evaluateDetector } from '../../eval/evaluate.js';
import { modelFormat } from '../../errors.js';
import { Detector } from '../../pipeline/detector.js';
import { type ParsedCommandLine, str } from '../args.js';
import { compute, detectorSpec, progressTo } from '../common.js';
import type { CliContext } from '../context.js';
import { MODELS_DIR } from './info.js';
import { writeHeatmaps } from './localize.js';

export const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/magnetic_tile/', import.meta.url));
/**
 * Preferred first. The dense CutPaste encoder localizes from one forward pass with its own
 * per-position head (the default method for dense encoders, docs/results.md "Dense localization");
 * without it, the image-level encoder scores far better than the small patch-level one in models/
 * (image AUROC 0.84 vs 0.59 in their manifests); the patch one is the last fallback.
 */
const DEMO_ENCODERS = [
  'magnetic-tile-cutpaste-dense.onnx',
  'magnetic-tile-cutpaste3way.onnx',
  'magnetic-tile-cutpaste3way-patch64.onnx',
];

export function demoEncoder(): string {
  for (const name of DEMO_ENCODERS) {
    const file = path.join(MODELS_DIR, name);
    if (existsSync(file)) return file;
  }
  throw modelFormat(MODELS_DIR, `No magnetic-tile encoder in ${MODELS_DIR} (looked for ${DEMO_ENCODERS.join(', ')})`);
}

export async function demoCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  const outDir = path.resolve(str(values, 'out-dir') ?? 'oneclass-demo');
  const encoder = str(values, 'encoder') ?? demoEncoder();
  const split = await readMvtec(EXAMPLES_DIR);
  ctx.info(`demo: ${split.description}\nencoder ${encoder}`);
  const started = Date.now();
  const c = compute(values);
  const det = await Detector.fit({
    encoder,
    encoderOptions: { device: c.device },
    ...c,
    images: split.train,
    detector: detectorSpec(values, 'knn'),
    localization: true,
    onProgress: progressTo(ctx),
  });
  try {
    const fitSeconds = (Date.now() - started) / 1000;
    await mkdir(outDir, { recursive: true });
    const modelFile = path.join(outDir, 'magnetic-tile.oneclass');
    await det.save(modelFile);
    const heatmapDir = path.join(outDir, 'heatmaps');
    await mkdir(heatmapDir, { recursive: true });
    const t0 = Date.now();
    const localized = await det.localize(split.test, {
      keepImages: true,
      allowResize: true,
      onProgress: progressTo(ctx),
    });
    const files = await writeHeatmaps(det, localized.items, heatmapDir, 0.5);
    const result = await evaluateDetector(det, split.test, { pixel: true, allowResize: true });
    const scoreSeconds = (Date.now() - t0) / 1000;
    const summary = {
      model: modelFile,
      heatmaps: heatmapDir,
      files: files.length,
      trainImages: split.train.length,
      testImages: split.test.length,
      imageAuroc: result.imageAuroc,
      pixelAuroc: result.pixel?.pixelAuroc,
      aupro: result.pixel?.aupro,
      threshold: det.threshold,
      images: localized.items.map((i) => ({
        image: path.relative(EXAMPLES_DIR, i.id),
        label: split.test[i.index].label,
        score: i.score,
        anomalous: i.anomalous,
      })),
      seconds: { fit: fitSeconds, scoreAndLocalize: scoreSeconds },
    };
    if (ctx.json) {
      ctx.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `fitted on ${split.train.length} defect-free tiles in ${fitSeconds.toFixed(1)} s; scored ${split.test.length} held-back tiles in ${scoreSeconds.toFixed(1)} s`,
      '',
      'image                                   truth      score  decision',
      ...summary.images.map(
        (i) =>
          `${i.image.padEnd(40)}${(i.label ? 'defect' : 'good').padEnd(9)}${i.score.toFixed(2).padStart(7)}  ${i.anomalous ? 'ANOMALOUS' : 'ok'}`,
      ),
      '',
      `image AUROC ${(100 * result.imageAuroc).toFixed(1)}  pixel AUROC ${(100 * (result.pixel?.pixelAuroc ?? NaN)).toFixed(1)}  AUPRO ${(100 * (result.pixel?.aupro ?? NaN)).toFixed(1)}  (18 images: a demonstration, not a benchmark; see docs/results.md)`,
      `threshold (normalized score) ${det.threshold.toFixed(2)}, set from held-out defect-free tiles`,
      `model:    ${modelFile}`,
      `overlays: ${heatmapDir} (${files.length} PNGs)`,
    ];
    ctx.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await det.release();
  }
}
