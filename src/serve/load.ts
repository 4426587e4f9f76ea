/**
 * Load generation and measurement in the manner of Triton's perf_analyzer: a closed loop of N
 * concurrent callers (`concurrency`) or an open loop of R requests per second (`rate`), measured
 * in windows that are repeated until three in a row agree (throughput and mean latency within
 * `stabilityPct` of their average), then reported over those three: throughput, p50/p90/p95/p99
 * latency, and the mean time per stage (queue, decode, encode, detect) when the target says.
 *
 * The target is any function that scores one image: the in-process batcher, Detector.score on a
 * single image (the unbatched reference), or an HTTP server (httpTarget). Used by `oneclass bench`
 * and bench/serve-*.mjs.
 */
import { performance } from 'node:perf_hooks';

import { invalidInput } from '../errors.js';

/** Stage times a target reports for one request (milliseconds). */
export interface StageTimes {
  queueMs?: number;
  decodeMs?: number;
  encodeMs?: number;
  detectMs?: number;
}

/** Scores one image; resolves with its stage times when the target reports them. */
export type LoadTarget = (image: Uint8Array, index: number) => Promise<StageTimes | void>;

export interface LoadOptions {
  /** The images sent, in turn. */
  images: readonly Uint8Array[];
  /** Closed loop: this many callers, each sending its next request when the last one returns. */
  concurrency?: number;
  /** Open loop: this many requests per second, whatever the answers (overrides concurrency). */
  rate?: number;
  /** Length of one measurement window (default 3000 ms). */
  windowMs?: number;
  /** Load before the first window, not measured (default 1000 ms). */
  warmupMs?: number;
  /** Windows agree when throughput and mean latency are within this % of their mean (default 10). */
  stabilityPct?: number;
  /** Give up on stability after this many windows and report the last three (default 10). */
  maxWindows?: number;
  /** Open loop: most requests outstanding; beyond it a send is counted as dropped (default 10000). */
  maxOutstanding?: number;
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface WindowResult {
  ms: number;
  completed: number;
  errors: number;
  imagesPerSecond: number;
  meanLatencyMs: number;
}

export interface LoadReport {
  mode: 'concurrency' | 'rate';
  concurrency: number | null;
  rate: number | null;
  /** Whether three consecutive windows agreed within stabilityPct. */
  stable: boolean;
  windows: WindowResult[];
  /** Over the last three windows. */
  imagesPerSecond: number;
  latency: LatencySummary;
  /** Mean per-request stage times over the last three windows (only the stages the target reports). */
  stages: StageTimes;
  /** Failed requests over the last three windows, by error code (or HTTP status). */
  errors: Record<string, number>;
  /** Open loop: sends skipped because maxOutstanding requests were pending. */
  dropped: number;
}

interface Sample {
  latency: number;
  stages: StageTimes | void;
}

interface Window {
  start: number;
  end: number;
  samples: Sample[];
  errors: Record<string, number>;
}

export function summarize(latencies: readonly number[]): LatencySummary {
  const s = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => (s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]);
  return {
    count: s.length,
    meanMs: s.length === 0 ? NaN : s.reduce((a, b) => a + b, 0) / s.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    maxMs: s.length === 0 ? NaN : s[s.length - 1],
  };
}

function errorKey(error: unknown): string {
  const e = error as { code?: string; status?: number };
  return e?.code ?? (e?.status ? `HTTP ${e.status}` : 'error');
}

function check(name: string, v: number | undefined, min: number, integer: boolean): void {
  if (v === undefined) return;
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v)))
    throw invalidInput(name, `Expected ${integer ? 'an integer' : 'a number'} >= ${min} for ${name} but received ${v}`);
}

/** Runs the load until the windows are stable (or maxWindows) and reports the last three. */
export async function measureLoad(target: LoadTarget, options: LoadOptions): Promise<LoadReport> {
  const { images } = options;
  if (!Array.isArray(images) || images.length === 0) throw invalidInput('images', 'No images to send');
  check('concurrency', options.concurrency, 1, true);
  check('rate', options.rate, Number.MIN_VALUE, false);
  check('windowMs', options.windowMs, 1, false);
  check('warmupMs', options.warmupMs, 0, false);
  check('stabilityPct', options.stabilityPct, 0, false);
  check('maxWindows', options.maxWindows, 3, true);
  const rate = options.rate ?? null;
  const concurrency = rate === null ? (options.concurrency ?? 1) : null;
  const windowMs = options.windowMs ?? 3000;
  const warmupMs = options.warmupMs ?? 1000;
  const stability = (options.stabilityPct ?? 10) / 100;
  const maxWindows = options.maxWindows ?? 10;
  const maxOutstanding = options.maxOutstanding ?? 10_000;

  const windows: Window[] = [];
  let current: Window | null = null;
  let stop = false;
  let sent = 0;
  let dropped = 0;
  let outstanding = 0;
  const send = async () => {
    const index = sent++;
    const image = images[index % images.length];
    const t = performance.now();
    outstanding++;
    try {
      const stages = await target(image, index);
      current?.samples.push({ latency: performance.now() - t, stages });
    } catch (error) {
      if (current) current.errors[errorKey(error)] = (current.errors[errorKey(error)] ?? 0) + 1;
    } finally {
      outstanding--;
    }
  };

  let load: Promise<unknown>;
  if (concurrency !== null) {
    load = Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (!stop) await send();
      }),
    );
  } else {
    // Open loop: at every tick, send what the rate says is due by now.
    load = (async () => {
      const inFlight = new Set<Promise<void>>();
      const start = performance.now();
      let due = 0;
      while (!stop) {
        const target = Math.floor(((performance.now() - start) * rate!) / 1000);
        for (; due < target; due++) {
          if (outstanding >= maxOutstanding) {
            dropped++;
            continue;
          }
          const p = send();
          inFlight.add(p);
          void p.then(() => inFlight.delete(p));
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      await Promise.all(inFlight);
    })();
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(warmupMs);
  let stable = false;
  while (windows.length < maxWindows) {
    current = { start: performance.now(), end: 0, samples: [], errors: {} };
    windows.push(current);
    await sleep(windowMs);
    current.end = performance.now();
    current = null;
    if (windows.length >= 3 && agree(windows.slice(-3), stability)) {
      stable = true;
      break;
    }
  }
  stop = true;
  await load;

  const last = windows.slice(-3);
  const samples = last.flatMap((w) => w.samples);
  const ms = last.reduce((s, w) => s + (w.end - w.start), 0);
  const errors: Record<string, number> = {};
  for (const w of last) for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
  const stages: StageTimes = {};
  for (const key of ['queueMs', 'decodeMs', 'encodeMs', 'detectMs'] as const) {
    const values = samples.map((s) => s.stages?.[key]).filter((v): v is number => typeof v === 'number');
    if (values.length > 0) stages[key] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return {
    mode: concurrency !== null ? 'concurrency' : 'rate',
    concurrency,
    rate,
    stable,
    windows: windows.map(windowResult),
    imagesPerSecond: samples.length / (ms / 1000),
    latency: summarize(samples.map((s) => s.latency)),
    stages,
    errors,
    dropped,
  };
}

function windowResult(w: Window): WindowResult {
  const ms = w.end - w.start;
  const lat = w.samples.map((s) => s.latency);
  return {
    ms,
    completed: w.samples.length,
    errors: Object.values(w.errors).reduce((a, b) => a + b, 0),
    imagesPerSecond: w.samples.length / (ms / 1000),
    meanLatencyMs: lat.length === 0 ? NaN : lat.reduce((a, b) => a + b, 0) / lat.length,
  };
}

function agree(ws: readonly Window[], tolerance: number): boolean {
  const results = ws.map(windowResult);
  const within = (values: number[]) => {
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return mean > 0 && values.every((v) => Math.abs(v - mean) <= tolerance * mean);
  };
  return within(results.map((r) => r.imagesPerSecond)) && within(results.map((r) => r.meanLatencyMs));
}
