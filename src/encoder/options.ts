/** Validation of the encoder's public options (once, here, with messages naming the parameter). */
import { describeValue, InvalidArgumentError } from './errors.js';
import type { EncoderDevice, EncoderOutput } from './types.js';

export interface EncoderLoadOptions {
  /** 'auto' (default) and 'cuda' try the CUDA provider and fall back to CPU, recording why; 'cpu' never tries CUDA. */
  readonly device?: EncoderDevice;
  /** Images per inference call (default 64). */
  readonly batchSize?: number;
  /** ONNX Runtime intra-op threads (default: ONNX Runtime's choice, one per physical core). */
  readonly threads?: number;
  /**
   * Refuse images whose colour family differs from the model's (gray vs RGB) or that have alpha,
   * instead of converting them as the manifest says (default false; docs/encoders.md).
   */
  readonly strictColour?: boolean;
}

export interface EmbedOptions {
  /** Which model output to return (default 'pooled', the one stage-2 detectors use). */
  readonly output?: EncoderOutput;
  /** Overrides the encoder's batch size for this call. */
  readonly batchSize?: number;
  /** Overrides the encoder's strictColour for this call. */
  readonly strictColour?: boolean;
}

export interface ResolvedLoadOptions {
  readonly device: EncoderDevice;
  readonly batchSize: number;
  readonly threads: number | undefined;
  readonly strictColour: boolean;
}

const DEVICES: readonly EncoderDevice[] = ['auto', 'cuda', 'cpu'];
const OUTPUTS: readonly EncoderOutput[] = ['pooled', 'projection'];
export const DEFAULT_BATCH_SIZE = 64;
const MAX_BATCH_SIZE = 4096;

function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(`Expected object for ${name} but received ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

export function checkIntegerInRange(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `Expected integer between ${min} and ${max} for ${name} but received ${describeValue(value)}`,
    );
  }
  return value;
}

function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') {
    throw new InvalidArgumentError(`Expected boolean for ${name} but received ${describeValue(value)}`);
  }
  return value;
}

export function resolveLoadOptions(options: unknown): ResolvedLoadOptions {
  const o = checkObject(options, 'options');
  const device = o.device ?? 'auto';
  if (!DEVICES.includes(device as EncoderDevice)) {
    throw new InvalidArgumentError(
      `Expected one of ${DEVICES.join(', ')} for device but received ${describeValue(device)}`,
    );
  }
  const batchSize =
    o.batchSize === undefined ? DEFAULT_BATCH_SIZE : checkIntegerInRange(o.batchSize, 'batchSize', 1, MAX_BATCH_SIZE);
  const threads = o.threads === undefined ? undefined : checkIntegerInRange(o.threads, 'threads', 1, 1024);
  const strictColour = o.strictColour === undefined ? false : checkBoolean(o.strictColour, 'strictColour');
  return { device: device as EncoderDevice, batchSize, threads, strictColour };
}

export function resolveEmbedOptions(
  options: unknown,
  defaultBatchSize: number,
  defaultStrictColour = false,
): { output: EncoderOutput; batchSize: number; strictColour: boolean } {
  const o = checkObject(options, 'options');
  const output = o.output ?? 'pooled';
  if (!OUTPUTS.includes(output as EncoderOutput)) {
    throw new InvalidArgumentError(
      `Expected one of ${OUTPUTS.join(', ')} for output but received ${describeValue(output)}`,
    );
  }
  const batchSize =
    o.batchSize === undefined ? defaultBatchSize : checkIntegerInRange(o.batchSize, 'batchSize', 1, MAX_BATCH_SIZE);
  const strictColour =
    o.strictColour === undefined ? defaultStrictColour : checkBoolean(o.strictColour, 'strictColour');
  return { output: output as EncoderOutput, batchSize, strictColour };
}
