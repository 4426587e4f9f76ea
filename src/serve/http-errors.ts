/**
 * HTTP statuses of errors, and the JSON body every error answer has:
 * `{ "error": { "code": "ERR_...", "message": "..." } }`. Refusals under load carry Retry-After.
 */
import { type ErrorCode, OneclassError } from '../errors.js';

/** An error of the request itself (bad body, limits): a OneclassError with its HTTP status. */
export class RequestError extends OneclassError {
  readonly statusCode: number;
  constructor(statusCode: number, code: ErrorCode, message: string, path?: string) {
    super(code, message, { path });
    this.statusCode = statusCode;
  }
}

const BY_CODE: Partial<Record<string, number>> = {
  ERR_QUEUE_FULL: 429,
  ERR_CLOSED: 503,
  ERR_TIMEOUT: 503,
  ERR_UNAVAILABLE: 503,
  // The client went away; nobody reads it, but logs and metrics show it (nginx's convention).
  ERR_ABORTED: 499,
  ERR_IMAGE_DECODE: 400,
  ERR_USAGE: 400,
  // Readable images that this model cannot take (channels, size), or bad request options.
  ERR_INVALID_ARGUMENT: 422,
};

export function statusOf(error: unknown): number {
  const e = error as { statusCode?: number; code?: string };
  if (error instanceof RequestError) return error.statusCode;
  if (e?.code && BY_CODE[e.code]) return BY_CODE[e.code]!;
  // fastify's and @fastify/multipart's own errors (413 body too large, 415 media type, 400 ...).
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600) return e.statusCode;
  return 500;
}

export function errorBody(error: unknown, status: number): { error: { code: string; message: string } } {
  const e = error as { code?: string; message?: string };
  const code = typeof e?.code === 'string' ? e.code : status >= 500 ? 'ERR_INTERNAL' : 'ERR_BAD_REQUEST';
  // Internal errors keep their detail in the log, not in the answer.
  const message = status >= 500 && code === 'ERR_INTERNAL' ? 'Internal server error' : String(e?.message ?? error);
  return { error: { code, message } };
}

/** Whether the answer should tell the client when to come back. */
export function retryable(status: number): boolean {
  return status === 429 || status === 503;
}
