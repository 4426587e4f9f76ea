/**
 * Reading a model file back into a fitted pipeline. The file is read once; the embedded encoder
 * goes to ONNX Runtime straight from those bytes (Encoder.fromBytes), so loading writes nothing
 * and reads nothing else. A referenced encoder is read from its path (or `encoderPath`) and must
 * match the sha256 the model was fitted with.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import type { ComputeOptions } from '../detectors/common.js';
import { Encoder, type EncoderLoadOptions } from '../encoder/index.js';
import { modelFormat } from '../errors.js';
import type { Device } from '../validate.js';
import { type PipelineConfig, readModelFile, sha256 } from './model-file.js';
import { type FittedDetector, restoreDetector } from './registry.js';
import type { FittedPipeline } from './scoring.js';

export interface LoadOptions {
  /** Where the detectors (and, unless encoderOptions says otherwise, the encoder) run. */
  device?: Device;
  threads?: number;
  /** Where a referenced (not embedded) encoder is now, if it moved. */
  encoderPath?: string;
  encoderOptions?: EncoderLoadOptions;
}

export async function loadPipeline(file: string, options: LoadOptions = {}): Promise<FittedPipeline> {
  const parts = await readModelFile(file);
  const { config } = parts;
  const compute: ComputeOptions = { device: options.device, threads: options.threads };
  // Detectors first: cheap, and a bad one should fail before an ONNX session is created.
  const imageDetector = await restoreDetector(config.detector, parts.imageDetector, compute, 'detector');
  const patchDetectors: FittedDetector[] = [];
  for (const bytes of parts.patchDetectors)
    patchDetectors.push(await restoreDetector(config.localization!.detector, bytes, compute, 'localization.detector'));
  const encoderOptions = { device: options.device, threads: options.threads, ...options.encoderOptions };
  const encoder = parts.encoderBytes
    ? await Encoder.fromBytes(parts.encoderBytes, config.encoder.manifest, {
        ...encoderOptions,
        label: `${config.encoder.file} (embedded in ${file})`,
      })
    : await referencedEncoder(file, config, options.encoderPath, encoderOptions);
  return { encoder, config, imageDetector, patchDetectors };
}

async function referencedEncoder(
  file: string,
  config: PipelineConfig,
  encoderPath: string | undefined,
  options: EncoderLoadOptions,
): Promise<Encoder> {
  const where = encoderPath ?? config.encoder.path!;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(where));
  } catch (cause) {
    throw modelFormat(
      where,
      `${file} references the encoder ${where}, which cannot be read: ${(cause as Error).message}`,
      cause,
    );
  }
  if (sha256(bytes) !== config.encoder.sha256) {
    throw modelFormat(
      where,
      `${file} was fitted with a different encoder than ${where} (sha256 ${config.encoder.sha256.slice(0, 12)}... expected)`,
    );
  }
  // The manifest the model was fitted with travels in the model file.
  return Encoder.fromBytes(bytes, config.encoder.manifest, { ...options, path: path.resolve(where) });
}
