/**
 * The memory limit of the patch detectors (memory banks, coreset selection, per-position
 * statistics): work that would need more is refused with ERR_OUT_OF_MEMORY before anything is
 * allocated, instead of the process dying in the allocator. Default: half the machine's memory.
 */
import { totalmem } from 'node:os';

import { OneclassError } from '../errors.js';
import { expectInteger } from '../validate.js';

export function defaultMaxMemory(): number {
  return Math.floor(totalmem() / 2);
}

/** options.maxMemory (bytes), or the default. */
export function expectMaxMemory(path: string, value: unknown): number {
  return value === undefined ? defaultMaxMemory() : expectInteger(path, value, 1);
}

/** Throws ERR_OUT_OF_MEMORY naming `path` when `bytes` exceeds `limit`. */
export function requireMemory(path: string, what: string, bytes: number, limit: number): void {
  if (bytes > limit) throw overLimit(path, `${what} would need ${mib(bytes)} MiB, over the limit of ${mib(limit)} MiB`);
}

/** A native ERR_OUT_OF_MEMORY refusal, with the option that sets the limit named. */
export function overLimit(path: string, message: string, cause?: unknown): OneclassError {
  return new OneclassError(
    'ERR_OUT_OF_MEMORY',
    `${message.replace(/; nothing was allocated$/, '')}; nothing was allocated (raise ${path} to allow it, or use fewer rows)`,
    { path, cause },
  );
}

/** Rethrows a native memory-limit refusal as overLimit(path). */
export function rethrowOverLimit(path: string, error: unknown): never {
  if (error instanceof OneclassError && error.code === 'ERR_OUT_OF_MEMORY' && /over the limit/.test(error.message))
    throw overLimit(path, error.message, error);
  throw error;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}
