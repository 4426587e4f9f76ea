/** `oneclass info`: versions, compute backends and devices, and why CUDA is or is not used. */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { backendInfo } from '../../backend.js';
import { jpegDecoder } from '../../encoder/jpeg.js';
import { packageVersion } from '../../pipeline/model-file.js';
import { type ParsedCommandLine, str } from '../args.js';
import { modelSummary, modelSummaryLines } from '../model-summary.js';
import type { CliContext } from '../context.js';

export const MODELS_DIR = fileURLToPath(new URL('../../../models/', import.meta.url));

export async function infoCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const model = str(args.values, 'model');
  if (model !== undefined) {
    // A model file's facts: read and checked as Detector.load reads it, without an ONNX session.
    const summary = await modelSummary(model);
    ctx.stdout.write(ctx.json ? JSON.stringify(summary, null, 2) + '\n' : modelSummaryLines(summary).join('\n') + '\n');
    return 0;
  }
  let backends: unknown;
  try {
    backends = backendInfo();
  } catch (cause) {
    backends = { error: `native addon not loadable: ${(cause as Error).message}` };
  }
  let models: string[] = [];
  try {
    models = readdirSync(MODELS_DIR).filter((f) => f.endsWith('.onnx'));
  } catch {
    // No models folder in this install.
  }
  const info = {
    oneclass: packageVersion(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    stage2: backends,
    encoder: {
      runtime: 'onnxruntime-node',
      note: "device 'auto' tries ONNX Runtime's CUDA provider and falls back to CPU; each loaded Encoder reports backend and fallbackReason",
    },
    jpeg: jpegDecoder(),
    models: { folder: MODELS_DIR, files: models },
  };
  if (ctx.json) {
    ctx.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  const b = backends as {
    auto?: string;
    cudaUnavailableReason?: string;
    cuda?: { compiled?: boolean; devices?: unknown[] };
  };
  const lines = [
    `oneclass ${info.oneclass} on Node ${info.node} (${info.platform})`,
    `stage-2 detectors and heatmaps: device 'auto' runs on ${b.auto ?? 'unknown'}`,
    b.auto === 'cuda'
      ? 'CUDA is used.'
      : `CUDA is not used: ${b.cudaUnavailableReason ?? (backends as { error?: string }).error ?? 'unknown reason'}`,
    `backend details: ${JSON.stringify(backends)}`,
    `encoder: ${info.encoder.note}`,
    `JPEG decoding: ${info.jpeg.decoder === 'native' ? `native (${info.jpeg.library} ${info.jpeg.version}), sharp for what it declines` : 'sharp'}`,
    `models in ${MODELS_DIR}: ${models.length ? models.join(', ') : 'none'}`,
  ];
  ctx.stdout.write(lines.join('\n') + '\n');
  return 0;
}
