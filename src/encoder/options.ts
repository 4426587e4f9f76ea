/** Validation of the encoder's public options (once, here, with the helpers of validate.ts). */
import {
  type Device,
  expectBatchSize,
  expectBoolean,
  expectDevice,
  expectInteger,
  expectKnownKeys,
  expectOneOf,
  expectOptions,
  expectThreads,
} from '../validate.js';
import { invalidArgument } from '../errors.js';
import { type DecodeLimits, resolveDecodeLimits } from './pixel-budget.js';
import { ENCODER_OUTPUTS, type EncoderOutput } from './types.js';
import { IMAGE_VIEWS, type ImageViews } from './views.js';

export interface EncoderLoadOptions {
  /** 'auto' (default) and 'cuda' try the CUDA provider and fall back to CPU, recording why; 'cpu' never tries CUDA. */
  readonly device?: Device;
  /** Images per inference call (default 64). */
  readonly batchSize?: number;
  /**
   * ONNX Runtime intra-op threads of each worker; 0 or undefined: ONNX Runtime's choice (one per
   * physical core) with one worker, cores / workers with several.
   */
  readonly threads?: number;
  /**
   * Worker threads running the model, each with its own session; default 'auto': on the CPU, two
   * workers with half the cores each for a model with small inputs (a batch of at most 2 MB of
   * floats, e.g. 64 images of 3 x 32 x 32) when the machine has two or more cores and `threads`
   * is not given (two batches at once: less of ONNX Runtime's per-operator thread hand-off per
   * image), else one; one when the session runs on CUDA. A call of several batches (embed) keeps every
   * worker busy with one batch each; concurrent callers (a server) are spread over them.
   */
  readonly workers?: number | 'auto';
  /**
   * Linux: how much lower than the process's the scheduling priority of the inference threads is
   * (their nice value is raised by this much, 0 to 19; default 10; 0 keeps the process's). The JS
   * thread, decoding and the detectors then get a CPU first when they need one, which keeps the
   * event loop turning while a model runs on every core; when nothing else runs, inference still
   * gets all the cores. Ignored on other systems (there the nice value belongs to the whole process).
   */
  readonly inferenceNice?: number;
  /**
   * Largest width x height an image may decode to (default 2^26, e.g. 8192 x 8192); a larger one is
   * unreadable (ERR_IMAGE_DECODE) before it is decoded. Also used by the pipeline's batches.
   */
  readonly maxImagePixels?: number;
  /** Largest total width x height of one batch's images (default 2^27); a batch stops short of it. */
  readonly maxBatchPixels?: number;
  /**
   * Refuse images whose colour family differs from the model's (gray vs RGB) or that have alpha,
   * instead of converting them as the manifest says (default false; docs/encoders.md).
   */
  readonly strictColour?: boolean;
}

export interface EncoderFromBytesOptions extends EncoderLoadOptions {
  /** The file the bytes were read from, if any: kept as `modelPath` (a model file can then reference it). */
  readonly path?: string;
  /** How the encoder is named in messages (default: `path`, else 'encoder bytes'). */
  readonly label?: string;
}

export interface EmbedOptions {
  /** Which model output to return (default 'pooled', the one stage-2 detectors use). */
  readonly output?: EncoderOutput;
  /** Overrides the encoder's batch size for this call. */
  readonly batchSize?: number;
  /** Overrides the encoder's strictColour for this call. */
  readonly strictColour?: boolean;
  /**
   * 'rotations': embed each image and its three quarter turns, each embedding scaled to unit
   * length, concatenated (4 x the output's size per image; views.ts); default 'none'.
   */
  readonly views?: ImageViews;
}

export interface ResolvedLoadOptions {
  readonly device: Device;
  readonly batchSize: number;
  readonly threads: number | undefined;
  readonly workers: number | 'auto';
  readonly inferenceNice: number;
  readonly limits: DecodeLimits;
  readonly strictColour: boolean;
}

/** Worker threads per encoder: each holds a copy of the model and its own session. */
export const MAX_WORKERS = 64;

export const DEFAULT_BATCH_SIZE = 64;
/** Default raise of the inference threads' nice value (EncoderLoadOptions.inferenceNice). */
export const DEFAULT_INFERENCE_NICE = 10;
const LOAD_KEYS = [
  'device',
  'batchSize',
  'threads',
  'workers',
  'inferenceNice',
  'maxImagePixels',
  'maxBatchPixels',
  'strictColour',
];

function expectWorkers(value: unknown): number | 'auto' {
  if (value === undefined || value === 'auto') return 'auto';
  if (typeof value === 'string') throw invalidArgument('workers', `'auto' or an integer 1 to ${MAX_WORKERS}`, value);
  return expectInteger('workers', value, 1, MAX_WORKERS);
}

export function resolveLoadOptions(options: unknown): ResolvedLoadOptions {
  const o = expectOptions('options', options);
  expectKnownKeys('options', o, LOAD_KEYS);
  const threads = expectThreads('threads', o.threads);
  return {
    device: expectDevice('device', o.device),
    batchSize: expectBatchSize('batchSize', o.batchSize, DEFAULT_BATCH_SIZE),
    threads: threads === 0 ? undefined : threads,
    workers: expectWorkers(o.workers),
    inferenceNice:
      o.inferenceNice === undefined ? DEFAULT_INFERENCE_NICE : expectInteger('inferenceNice', o.inferenceNice, 0, 19),
    limits: resolveDecodeLimits('options', o),
    strictColour: o.strictColour === undefined ? false : expectBoolean('strictColour', o.strictColour),
  };
}

export function resolveEmbedOptions(
  options: unknown,
  defaultBatchSize: number,
  defaultStrictColour = false,
): { output: EncoderOutput; batchSize: number; strictColour: boolean; views: ImageViews } {
  const o = expectOptions('options', options);
  expectKnownKeys('options', o, ['output', 'batchSize', 'strictColour', 'views']);
  return {
    views: o.views === undefined ? 'none' : expectOneOf('views', o.views, IMAGE_VIEWS),
    output: o.output === undefined ? 'pooled' : expectOneOf('output', o.output, ENCODER_OUTPUTS),
    batchSize: expectBatchSize('batchSize', o.batchSize, defaultBatchSize),
    strictColour: o.strictColour === undefined ? defaultStrictColour : expectBoolean('strictColour', o.strictColour),
  };
}
