/**
 * ONNX Runtime session creation with "CUDA when it loads, else CPU, and say why".
 *
 * onnxruntime-node does not fall back by itself: without the CUDA provider library,
 * executionProviders ['cuda', 'cpu'] rejects with "Failed to load shared library" (TOOLCHAIN.md).
 * So CUDA is tried alone first and the CPU session is created on failure, keeping the reason.
 * Sessions are created from the model's bytes: nothing is written to or read from disk here.
 */
import { env, InferenceSession } from 'onnxruntime-node';

import type { Backend, Device } from '../validate.js';

export interface SessionResult {
  readonly session: InferenceSession;
  readonly backend: Backend;
  /** Why CUDA was not used although it was asked for ('auto' or 'cuda'); null otherwise. */
  readonly fallbackReason: string | null;
}

function sessionOptions(provider: Backend, threads: number | undefined): InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    // 4 = fatal only: keeps provider-load failures (which we report ourselves) off stderr.
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
    ...(threads === undefined ? {} : { intraOpNumThreads: threads, interOpNumThreads: 1 }),
  };
}

/** Creates the session; throws the CPU attempt's error if even CPU fails (e.g. a corrupt model). */
export async function createSession(
  model: Uint8Array,
  device: Device,
  threads: number | undefined,
): Promise<SessionResult> {
  // A failed CUDA provider load is also logged by ORT's process-wide logger, which ignores the
  // per-session logSeverityLevel and is configured once, when the first session of the process is
  // created. We report the reason ourselves (fallbackReason), so lower the global level before our
  // first session, but only if the application left it at ORT's default.
  if (env.logLevel === 'warning') env.logLevel = 'fatal';
  let fallbackReason: string | null = null;
  if (device !== 'cpu') {
    try {
      const session = await InferenceSession.create(model, sessionOptions('cuda', threads));
      return { session, backend: 'cuda', fallbackReason: null };
    } catch (err) {
      fallbackReason = `CUDA execution provider unavailable: ${String((err as Error).message ?? err).trim()}`;
    }
  }
  const session = await InferenceSession.create(model, sessionOptions('cpu', threads));
  return { session, backend: 'cpu', fallbackReason };
}
