/**
 * A running `oneclass serve` as a load target (`oneclass bench --url`): each call POSTs one image
 * and reads the stage split from the Server-Timing header. Errors carry the answer's status and
 * error code, so the load report counts them by code (ERR_QUEUE_FULL, ...).
 */
import { OneclassError } from '../errors.js';
import type { LoadTarget, StageTimes } from './load.js';

/**
 * A non-2xx answer, counted by measureLoad under the server's own error code (ERR_QUEUE_FULL,
 * ...); it never leaves the load report.
 */
class AnswerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** `http://host:port` posts to /v1/score; a URL with a path is used as it is. */
export function scoreEndpoint(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new OneclassError('ERR_INVALID_ARGUMENT', `Expected an http:// URL for --url but received '${url}'`, {
      path: '--url',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new OneclassError('ERR_INVALID_ARGUMENT', `Expected an http:// URL for --url but received '${url}'`, {
      path: '--url',
    });
  }
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/v1/score';
  return u.toString();
}

/** Parses `queue;dur=1.2, decode;dur=3.4, ...` into stage times. */
export function parseServerTiming(header: string | null): StageTimes {
  const out: StageTimes = {};
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.trim().split(';');
    const dur = params.map((p) => /^dur=([\d.]+)$/.exec(p.trim())).find(Boolean);
    if (!dur) continue;
    const key = `${name}Ms` as keyof StageTimes;
    if (key === 'queueMs' || key === 'decodeMs' || key === 'encodeMs' || key === 'detectMs') out[key] = Number(dur[1]);
  }
  return out;
}

export function httpTarget(url: string): LoadTarget {
  const endpoint = scoreEndpoint(url);
  return async (image) => {
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        body: image,
        headers: { 'content-type': 'application/octet-stream' },
      });
    } catch (cause) {
      throw new OneclassError('ERR_UNAVAILABLE', `Cannot reach ${endpoint}: ${(cause as Error).message}`, { cause });
    }
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      throw new AnswerError(
        res.status,
        body?.error?.code ?? `HTTP ${res.status}`,
        `${endpoint} answered ${res.status}: ${body?.error?.message ?? res.statusText}`,
      );
    }
    return parseServerTiming(res.headers.get('server-timing'));
  };
}
