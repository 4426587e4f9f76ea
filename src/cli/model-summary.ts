/** What the CLI says about a fitted model: `oneclass info --model` and fit's summary. */
import { isDenseLocalization, type Localization, type PipelineConfig, readModelFile } from '../pipeline/model-file.js';

/** The localization as shown: the crop grid, or the dense method with its bank / statistics sizes. */
export function localizationSummary(loc: Localization | null): Record<string, unknown> | null {
  if (loc === null) return null;
  if (!isDenseLocalization(loc)) {
    const { calibration: _c, ...crops } = loc;
    return { method: 'crops', ...crops };
  }
  const { calibration: _c, ...dense } = loc;
  return dense;
}

/** A model file's facts, read without creating an ONNX session or any detector. */
export async function modelSummary(file: string): Promise<Record<string, unknown>> {
  const { config } = await readModelFile(file);
  return summaryOf(file, config);
}

function summaryOf(file: string, c: PipelineConfig): Record<string, unknown> {
  return {
    file,
    fittedWith: c.versions.oneclass,
    encoder: {
      file: c.encoder.file,
      embedded: c.encoder.embedded,
      sha256: c.encoder.sha256,
      output: c.encoder.output,
      views: c.encoder.views ?? 'none',
      input: c.encoder.manifest.input,
    },
    detector: c.detector,
    imageScore: c.imageScore,
    threshold: c.image.threshold,
    localization: localizationSummary(c.localization),
    training: c.training,
  };
}

/** The summary as lines of text. */
export function modelSummaryLines(s: Record<string, unknown>): string[] {
  const enc = s.encoder as {
    file: string;
    embedded: boolean;
    views: string;
    input: { height: number; width: number };
  };
  const det = s.detector as { kind: string };
  const training = s.training as { images: number; heldOut: number };
  const loc = s.localization as Record<string, unknown> | null;
  const lines = [
    `model ${s.file} (fitted with oneclass ${s.fittedWith})`,
    `encoder: ${enc.file} (${enc.embedded ? 'embedded' : 'referenced'}), input ${enc.input.width}x${enc.input.height}${enc.views === 'rotations' ? '; each image also seen turned by 90, 180, 270 degrees (views: rotations)' : ''}`,
    `image detector: ${det.kind}; image score: ${s.imageScore}; threshold ${Number(s.threshold).toFixed(4)}`,
    `training: ${training.images} images, ${training.heldOut} held out for the thresholds`,
  ];
  if (!loc) lines.push('localization: none (fitted without --localize)');
  else if (loc.method === 'crops') {
    const g = loc.geometry as { resize: number; patchSize: number; stride: number; gridRows: number; gridCols: number };
    lines.push(
      `localization: crops, ${g.gridRows}x${g.gridCols} patches of ${g.patchSize} px at stride ${g.stride} of the image resized to ${g.resize} px, ${loc.perPosition ? 'one detector per position' : 'one shared detector'} (${(loc.detector as { kind: string }).kind})`,
    );
  } else {
    const g = loc.grid as { height: number; width: number; stride: number };
    lines.push(
      `localization: ${loc.method}, ${g.height}x${g.width} grid at stride ${g.stride}, blur sigma ${loc.sigma} px`,
    );
    const bank = loc.bank as { rows: number; sourceRows: number; coresetRatio: number; dim: number } | undefined;
    if (bank)
      lines.push(
        `memory bank: ${bank.rows} rows x ${bank.dim} (from ${bank.sourceRows} source rows, coreset ratio ${bank.coresetRatio.toPrecision(3)})`,
      );
    const padim = loc.padim as { positions: number; dim: number; regularization: number } | undefined;
    if (padim)
      lines.push(
        `per-position Gaussians: ${padim.positions} positions x ${padim.dim} dims (regularization ${padim.regularization})`,
      );
  }
  return lines;
}
