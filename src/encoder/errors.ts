/**
 * Error classes of the encoder, each with a stable `code` that callers can switch on.
 * Messages name the file or parameter at fault and what was received; `path` holds the file
 * (same field name as OneclassError in src/errors.ts). They are OneclassErrors, so callers can
 * catch every error of the library with one instanceof check.
 */
import { OneclassError } from '../errors.js';

export type EncoderErrorCode = 'ERR_MODEL_FORMAT' | 'ERR_IMAGE_DECODE' | 'ERR_INVALID_ARGUMENT';

export class EncoderError extends OneclassError {
  declare readonly code: EncoderErrorCode;

  constructor(code: EncoderErrorCode, message: string, options: { file?: string; cause?: unknown } = {}) {
    super(code, message, { path: options.file, cause: options.cause });
    this.name = new.target.name;
  }
}

/** Missing or corrupt model/manifest, or a model whose graph disagrees with its manifest. */
export class ModelFormatError extends EncoderError {
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super('ERR_MODEL_FORMAT', message, options);
  }
}

/** An image that cannot be decoded: not an image, unsupported format, or truncated. */
export class ImageDecodeError extends EncoderError {
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super('ERR_IMAGE_DECODE', message, options);
  }
}

/** A bad option or input value, e.g. a grayscale image given to an RGB model. */
export class InvalidArgumentError extends EncoderError {
  constructor(message: string, options: { file?: string; cause?: unknown } = {}) {
    super('ERR_INVALID_ARGUMENT', message, options);
  }
}

/** "-3 of type number", "'abc' of type string", "undefined" - for "... but received X" messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.length > 80 ? value.slice(0, 77) + '...' : value}' of type string`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} of type ${typeof value}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${value.byteLength} bytes`;
  return `a value of type ${typeof value}${value && (value as object).constructor ? ` (${(value as object).constructor.name})` : ''}`;
}
