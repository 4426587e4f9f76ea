/**
 * The one error class of oneclass. Every error the library (and the CLI) throws is a
 * OneclassError with a stable `code` that scripts can match on; the message says which parameter
 * (or file, or row) is at fault, what was expected and what was received, and `path` names it.
 *
 * Errors are made here and in validate.ts only: `invalidArgument` for the house pattern
 * "Expected <what> for <parameter> but received <value>", `invalidInput` and `modelFormat` for
 * input and model-file problems that need their own sentence.
 */
export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_USAGE'
  | 'ERR_NOT_FITTED'
  | 'ERR_BACKEND_UNAVAILABLE'
  | 'ERR_MODEL_FORMAT'
  | 'ERR_IMAGE_DECODE'
  | 'ERR_OUT_OF_MEMORY'
  | 'ERR_NUMERICAL'
  | 'ERR_CUDA'
  | 'ERR_INTERNAL'
  // An encoder or detector used after release().
  | 'ERR_RELEASED'
  // Serving and distributed scoring (src/serve, src/jobs): a request refused or cut short, a
  // service not reachable. Callers retry these; the others they fix.
  | 'ERR_QUEUE_FULL'
  | 'ERR_CLOSED'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_UNAVAILABLE';

export interface ErrorDetails {
  /** The parameter or file at fault. */
  path?: string;
  cause?: unknown;
}

export class OneclassError extends Error {
  readonly code: ErrorCode;
  /** The parameter (or file) at fault, when there is one. */
  readonly path?: string;

  constructor(code: ErrorCode, message: string, options?: ErrorDetails) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options?.path !== undefined) this.path = options.path;
  }
}

/** "Expected <expected> for <path> but received <received>" (ERR_INVALID_ARGUMENT). */
export function invalidArgument(path: string, expected: string, received: unknown): OneclassError {
  return new OneclassError(
    'ERR_INVALID_ARGUMENT',
    `Expected ${expected} for ${path} but received ${describe(received)}`,
    {
      path,
    },
  );
}

/** Bad input that the house pattern cannot say well (a missing file, two sizes that disagree). */
export function invalidInput(path: string | undefined, message: string, cause?: unknown): OneclassError {
  return new OneclassError('ERR_INVALID_ARGUMENT', message, { path, cause });
}

/** A model file, encoder model or manifest that cannot be used as it is. */
export function modelFormat(path: string | undefined, message: string, cause?: unknown): OneclassError {
  return new OneclassError('ERR_MODEL_FORMAT', message, { path, cause });
}

/** "-3 of type number", "'abc' of type string", "Float64Array(12)", ... for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    return 'length' in value ? `${name}(${(value as unknown as { length: number }).length})` : name;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return `'${value.length > 80 ? value.slice(0, 77) + '...' : value}' of type string`;
  if (typeof value === 'object') {
    const name = (value as object).constructor?.name;
    return name && name !== 'Object' ? `an object (${name})` : 'an object';
  }
  return `${String(value)} of type ${typeof value}`;
}

const NATIVE_CODES = new Set<ErrorCode>([
  'ERR_INVALID_ARGUMENT',
  'ERR_BACKEND_UNAVAILABLE',
  'ERR_OUT_OF_MEMORY',
  'ERR_NUMERICAL',
  'ERR_CUDA',
  'ERR_ABORTED',
  'ERR_INTERNAL',
]);

/**
 * Runs a native call and turns its rejection into a OneclassError whose stack points at the
 * caller (the native stack says nothing useful), prefixing the message with `context`.
 */
export async function callNative<T>(context: string, call: () => Promise<T>): Promise<T> {
  // The caller's frames are captured now but formatted only if the call fails: reading `.stack`
  // here formatted a trace on every call (tens of us each, on the JS thread).
  const caller: { stack?: string } = {};
  Error.captureStackTrace(caller, callNative);
  try {
    return await call();
  } catch (cause) {
    const raw = cause as { code?: string; message?: string };
    const code = NATIVE_CODES.has(raw?.code as ErrorCode) ? (raw.code as ErrorCode) : 'ERR_INTERNAL';
    const error = new OneclassError(code, `${context}: ${raw?.message ?? String(cause)}`, { cause });
    const frames = caller.stack?.split('\n').slice(1).join('\n');
    if (frames) error.stack = `${error.name}: ${error.message}\n${frames}`;
    throw error;
  }
}
