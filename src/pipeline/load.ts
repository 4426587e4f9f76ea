/**
 * Reading a model file back into a fitted pipeline. The file is read once (model-file.ts: a
 * regular file, exactly the bytes its header accounts for); the embedded encoder goes to ONNX
 * Runtime straight from those bytes (Encoder.fromBytes), so loading writes nothing and reads
 * nothing else.
 *
 * A model file fitted with `embedEncoder: false` only references its encoder by path, size and
 * sha256. That path is followed only with the caller's consent, `encoderPath` (the CLI's
 * --encoder-file): model files travel between people, and one must never make oneclass read a
 * path of its author's choosing (/dev/zero, a FIFO, someone's private file). The referenced file
 * must be a regular file of the recorded size (or, in files written before the size was recorded,
 * at most MAX_MODEL_FILE_BYTES), and its sha256 must match.
 *
 * Every fault of the file, found while it is read or while its parts are rebuilt, is
 * ERR_MODEL_FORMAT naming the file (exit 4); faults of the caller's own options keep their codes.
 */
import path from 'node:path';

import type { ComputeOptions } from '../detectors/common.js';
import { Encoder, type EncoderLoadOptions } from '../encoder/index.js';
import { resolveLoadOptions } from '../encoder/options.js';
import { modelFormat, OneclassError } from '../errors.js';
import { openRegularFile, readExactly } from '../io/regular-file.js';
import { type Device, expectDevice, expectKnownKeys, expectOptions, expectString, expectThreads } from '../validate.js';
import { type FittedDenseMethod, restoreDenseMethod } from './dense-localization.js';
import { isDenseLocalization, MAX_MODEL_FILE_BYTES, type PipelineConfig, readModelFile, sha256 } from './model-file.js';
import { type FittedDetector, restoreDetector } from './registry.js';
import type { FittedPipeline } from './scoring.js';

export interface LoadOptions {
  /** Where the detectors (and, unless encoderOptions says otherwise, the encoder) run. */
  device?: Device;
  threads?: number;
  /**
   * The encoder file of a model that references its encoder instead of embedding it; giving it is
   * the consent to read it (the path stored in the model is never followed by itself).
   */
  encoderPath?: string;
  encoderOptions?: EncoderLoadOptions;
}

const LOAD_KEYS = ['device', 'threads', 'encoderPath', 'encoderOptions'];

/** Codes that, raised while a file's parts are rebuilt, mean the file is at fault. */
const FILE_FAULTS = new Set(['ERR_INVALID_ARGUMENT', 'ERR_NUMERICAL', 'ERR_INTERNAL', 'ERR_IMAGE_DECODE']);

export async function loadPipeline(file: string, options: LoadOptions = {}): Promise<FittedPipeline> {
  expectString('file', file, 'the path of a model file');
  // The caller's options first: a mistake there is theirs (ERR_INVALID_ARGUMENT), not the file's.
  const o = expectOptions('options', options);
  expectKnownKeys('options', o, LOAD_KEYS);
  const compute: ComputeOptions = {
    device: expectDevice('options.device', o.device),
    threads: expectThreads('options.threads', o.threads),
  };
  const encoderPath = o.encoderPath === undefined ? undefined : expectString('options.encoderPath', o.encoderPath);
  const encoderOptions = { device: options.device, threads: options.threads, ...options.encoderOptions };
  resolveLoadOptions(encoderOptions);

  const parts = await readModelFile(file);
  const { config } = parts;
  const detectors: FittedDetector[] = [];
  try {
    // Detectors first: cheap, and a bad one should fail before an ONNX session is created.
    const imageDetector = await restoreDetector(config.detector, parts.imageDetector, compute, 'detector');
    detectors.push(imageDetector);
    const patchDetectors: FittedDetector[] = [];
    let denseMethod: FittedDenseMethod | null = null;
    const loc = config.localization;
    if (isDenseLocalization(loc)) denseMethod = await restoreDenseMethod(loc, parts.patchDetectors[0] ?? null, compute);
    else
      for (const bytes of parts.patchDetectors)
        patchDetectors.push(await restoreDetector(loc!.detector, bytes, compute, 'localization.detector'));
    const encoder = parts.encoderBytes
      ? await Encoder.fromBytes(parts.encoderBytes, config.encoder.manifest, {
          ...encoderOptions,
          label: `${config.encoder.file} (embedded in ${file})`,
        })
      : await referencedEncoder(file, config, encoderPath, encoderOptions);
    return { encoder, config, imageDetector, patchDetectors, denseMethod };
  } catch (error) {
    const e = error as OneclassError;
    if (e instanceof OneclassError && FILE_FAULTS.has(e.code))
      throw modelFormat(file, `${file} is not a usable oneclass model: ${e.message}`, e);
    throw error;
  }
}

async function referencedEncoder(
  file: string,
  config: PipelineConfig,
  encoderPath: string | undefined,
  options: EncoderLoadOptions,
): Promise<Encoder> {
  const stored = config.encoder.path!;
  if (encoderPath === undefined) {
    throw modelFormat(
      file,
      `${file} references its encoder (${stored}, ${config.encoder.size ?? 'unrecorded'} bytes, sha256 ` +
        `${config.encoder.sha256.slice(0, 12)}...) instead of embedding it. A model file never makes oneclass read ` +
        'another file by itself: pass that file as encoderPath (command line: --encoder-file FILE).',
    );
  }
  const where = path.resolve(encoderPath);
  const expected = config.encoder.size;
  const { handle, size } = await openRegularFile(where, `the encoder of ${file}`, MAX_MODEL_FILE_BYTES);
  let bytes: Uint8Array;
  try {
    if (expected !== undefined && size !== expected) {
      throw modelFormat(
        where,
        `${file} was fitted with an encoder of ${expected} bytes; ${where} holds ${size} (a different model)`,
      );
    }
    bytes = await readExactly(handle, size, 0, () => `Cannot read the encoder ${where}`);
  } finally {
    await handle.close();
  }
  if (sha256(bytes) !== config.encoder.sha256) {
    throw modelFormat(
      where,
      `${file} was fitted with a different encoder than ${where} (sha256 ${config.encoder.sha256.slice(0, 12)}... expected)`,
    );
  }
  // The manifest the model was fitted with travels in the model file.
  return Encoder.fromBytes(bytes, config.encoder.manifest, { ...options, path: where });
}
