/**
 * ONNX Runtime sessions in worker threads, so that inference never runs on the application's
 * event loop (onnxruntime-node's `run` is synchronous on its calling thread; the worker's side:
 * inference-worker.mjs).
 *
 * A pool is created from the model's bytes; each worker holds one session. A call goes to the
 * worker with the fewest calls in flight, so several workers serve concurrent callers (a server),
 * while one call always runs on one worker: on a small machine one worker with every intra-op
 * thread is the fastest (docs/pipeline.md, "Where inference runs").
 *
 * What can go wrong and what the caller gets, always a OneclassError and never a hang:
 * - the model cannot be loaded: the creation rejects with ERR_MODEL_FORMAT;
 * - a run fails (bad graph, wrong output shape): ERR_MODEL_FORMAT; ONNX Runtime out of memory:
 *   ERR_OUT_OF_MEMORY;
 * - a worker dies (uncaught exception, its heap exhausted, exit): its calls in flight reject with
 *   ERR_OUT_OF_MEMORY or ERR_INTERNAL, and the next call starts a fresh worker (at most
 *   MAX_RESTARTS times in the pool's life);
 * - a call after release(): ERR_RELEASED. release() waits for the calls in flight, then lets each
 *   worker release its session and end; calling it again is harmless.
 *
 * A worker is never terminated while it may be inside `run` (that aborts the process in
 * onnxruntime-node 1.30), and it keeps the process alive only while it has calls in flight (an
 * idle pool that the application forgot to release does not hold the process open).
 */
import { availableParallelism } from 'node:os';
import { type ResourceLimits, Worker } from 'node:worker_threads';

import { type ErrorCode, OneclassError } from '../errors.js';
import type { Backend, Device } from '../validate.js';

export interface ValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: (number | string)[];
}

/** What the session reports about the graph, and where it runs. */
export interface GraphInfo {
  backend: Backend;
  /** Why CUDA is not used although 'auto' or 'cuda' asked for it; null otherwise. */
  fallbackReason: string | null;
  inputNames: string[];
  outputNames: string[];
  inputMetadata: ValueMetadata[];
  outputMetadata: ValueMetadata[];
}

export interface PoolOptions {
  device: Device;
  /** Intra-op threads per worker; undefined: ONNX Runtime's choice with one worker, cores / workers with more. */
  threads: number | undefined;
  /**
   * Workers, or 'auto': on the CPU, two (each with half the cores) when the machine has at least
   * two and `threads` is not given, else one; one when the first worker's session runs on CUDA.
   */
  workers: number | 'auto';
  /** Let ONNX Runtime's intra-op threads spin between operators (default false). */
  spinning?: boolean;
  /** Raise of the workers' nice value, inherited by ONNX Runtime's threads (Linux; default 0). */
  nice?: number;
}

export interface RunRequest {
  /** count x dims images, float32. */
  input: Float32Array;
  /** The caller gives up `input` (its whole buffer moves to the worker, no copy). */
  transfer: boolean;
  count: number;
  /** One input's [channels, height, width]. */
  dims: [number, number, number];
  inputName: string;
  outputs: RunOutput[];
  /** Images per ONNX Runtime call inside the worker. */
  batchSize: number;
}

/** One output to fetch: `cols` values per image. */
export interface RunOutput {
  name: string;
  cols: number;
  /**
   * A [channels, positions] output per image returned as [positions, channels] (feature grids are
   * channel-major in the graph, position-major for the detectors); transposed in the worker, off the
   * caller's thread.
   */
  transpose?: [number, number];
  /**
   * Return the output in a SharedArrayBuffer the worker fills: native calls read shared memory in
   * place, so a large output (a dense encoder's feature grids) is never copied on the caller's
   * thread on its way to the detectors.
   */
  shared?: boolean;
}

/** How the pool names the model in messages. */
export interface ModelName {
  label: string;
  path?: string;
}

const WORKER_SCRIPT = new URL('./inference-worker.mjs', import.meta.url);
/**
 * Workers of `workers: 'auto'` on a CPU with two or more cores (Encoder asks for 'auto' only for
 * small inputs: encoder.ts, AUTO_SPLIT_BYTES). Two sessions, each with half the cores, run two
 * batches (or two halves of one) at once: a session with one intra-op thread per core spends
 * much of a small model's time handing each operator to its threads and waiting for them (ONNX
 * Runtime's threads do not spin here), which two independent sessions do not. On the 2-core
 * machine, CIFAR-10 encoder, 64-image batches: 0.76 ms per image with one 2-thread session, 0.52
 * with two 1-thread sessions (docs/pipeline.md, "Where inference runs"). Two, not one per core:
 * each session holds its own weights and activation memory.
 */
const AUTO_CPU_WORKERS = 2;
/** Fresh workers started after crashes before the pool gives up. */
const MAX_RESTARTS = 3;

interface Pending {
  resolve(outputs: Record<string, Float32Array>): void;
  reject(error: OneclassError): void;
}

interface WorkerData {
  model: Uint8Array;
  device: Device;
  threads: number | undefined;
  spinning: boolean;
  nice: number;
}

/** Pools not yet released, and worker starts in progress, for closeAllPools (the CLI's signal handler). */
const live = new Set<InferencePool>();
const starting = new Set<Promise<unknown>>();
let stopping = false;

/** Tracks a start so closeAllPools can wait for it: a worker inside session creation must not be ended either. */
function tracked<T>(start: Promise<T>): Promise<T> {
  starting.add(start);
  void start.then(
    () => starting.delete(start),
    () => starting.delete(start),
  );
  return start;
}

/** One worker thread and its calls in flight. */
class PoolWorker {
  readonly pending = new Map<number, Pending>();
  /** Set once it died or was closed: no call is sent to it any more. */
  gone = false;
  private readonly exited: Promise<void>;
  private readonly closed: Promise<void>;
  private onClosed: () => void = () => undefined;

  constructor(
    private readonly worker: Worker,
    private readonly name: ModelName,
    private readonly onDeath: () => void,
  ) {
    worker.unref();
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    this.closed = new Promise((resolve) => (this.onClosed = resolve));
    worker.on('message', (m: WorkerReply) => this.settle(m));
    worker.on('error', (err: Error & { code?: string }) => {
      const oom = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.die(
        oom ? 'ERR_OUT_OF_MEMORY' : 'ERR_INTERNAL',
        `the inference worker thread of ${this.name.label} ${oom ? 'ran out of memory' : `failed: ${err.message}`}`,
      );
    });
    worker.once('exit', (code) => {
      if (!this.gone || this.pending.size > 0)
        this.die('ERR_INTERNAL', `the inference worker thread of ${this.name.label} exited with code ${code}`);
    });
  }

  send(id: number, request: RunRequest, pending: Pending): void {
    const { input, transfer, ...rest } = request;
    // A view of part of a buffer, or an array the caller keeps, goes as a copy of exactly its
    // values (posting a view would clone its whole buffer); shared memory is read in place.
    const shared = input.buffer instanceof SharedArrayBuffer;
    const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength;
    const data = shared || (transfer && whole) ? input : input.slice();
    this.pending.set(id, pending);
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ type: 'run', id, input: data, ...rest }, shared ? [] : [data.buffer as ArrayBuffer]);
  }

  /**
   * Runs already sent finish first (the worker takes messages in order and answers 'closed' after
   * their results); then the thread, idle for good, is ended.
   */
  async close(): Promise<void> {
    if (!this.gone) {
      this.gone = true;
      this.worker.ref();
      this.worker.postMessage({ type: 'close' });
      await Promise.race([this.closed, this.exited]);
      await this.worker.terminate();
    }
    await this.exited;
  }

  private settle(m: WorkerReply): void {
    if (m.type === 'closed') {
      this.onClosed();
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0 && !this.gone) this.worker.unref();
    if (m.type === 'result') p.resolve(m.outputs);
    else
      p.reject(
        new OneclassError(m.code, `Inference failed for model ${this.name.label}: ${m.message}`, {
          path: this.name.path,
        }),
      );
  }

  private die(code: ErrorCode, message: string): void {
    const wasGone = this.gone;
    this.gone = true;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new OneclassError(code, message, { path: this.name.path }));
    if (!wasGone) this.onDeath();
  }
}

type WorkerReply =
  | { type: 'result'; id: number; outputs: Record<string, Float32Array> }
  | { type: 'error'; id: number; code: ErrorCode; message: string }
  | { type: 'closed'; id?: undefined };

type StartReply = { type: 'ready'; graph: GraphInfo } | { type: 'failed'; message: string };

/** What tests replace: the worker's script, and the limits of its JS heap. */
export interface PoolInternals {
  script?: URL;
  resourceLimits?: ResourceLimits;
}

/**
 * The process's Node options for a worker, without those that describe the main script: a worker
 * inherits them, and `--input-type` (from `node --input-type=module -e ...`) makes Node refuse
 * to load the worker's file.
 */
export function workerExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i];
    if (/^--(input-type|eval|print)=/.test(a)) continue;
    if (['--input-type', '-e', '--eval', '-p', '--print'].includes(a)) {
      i++; // and its value
      continue;
    }
    kept.push(a);
  }
  return kept;
}

/** Starts one worker and waits for its session (or its failure). */
function startWorker(internals: PoolInternals, data: WorkerData): Promise<{ worker: Worker; graph: GraphInfo }> {
  const worker = new Worker(internals.script ?? WORKER_SCRIPT, {
    workerData: data,
    execArgv: workerExecArgv(),
    ...(internals.resourceLimits ? { resourceLimits: internals.resourceLimits } : {}),
  });
  return new Promise((resolve, reject) => {
    const done = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (m: StartReply) => {
      done();
      if (m.type === 'ready') resolve({ worker, graph: m.graph });
      // It has no session and runs nothing: ending it is safe.
      else void worker.terminate().finally(() => reject(new Error(m.message)));
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`the inference worker thread exited with code ${code} before its session was ready`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}

export class InferencePool {
  /** The first worker's report (every worker runs the same model with the same options). */
  readonly graph: GraphInfo;
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private restarts = 0;
  private released: Promise<void> | null = null;

  private constructor(
    private readonly data: WorkerData,
    private readonly size: number,
    private readonly name: ModelName,
    private readonly internals: PoolInternals,
    graph: GraphInfo,
  ) {
    this.graph = graph;
  }

  /**
   * Starts the workers, each with a session of `model` (copied to each). Rejects with
   * ERR_MODEL_FORMAT when ONNX Runtime cannot load the model; every worker started is closed then.
   */
  static async create(
    model: Uint8Array,
    options: PoolOptions,
    name: ModelName,
    internals: PoolInternals = {},
  ): Promise<InferencePool> {
    const auto = options.workers === 'auto';
    const cores = availableParallelism();
    // With threads given, 'auto' is one worker with those threads: the caller sized the CPU use.
    let size =
      options.workers === 'auto'
        ? cores >= 2 && options.threads === undefined
          ? AUTO_CPU_WORKERS
          : 1
        : options.workers;
    const threads = options.threads ?? (size > 1 ? Math.max(1, Math.floor(cores / size)) : undefined);
    const data: WorkerData = {
      model,
      device: options.device,
      threads,
      spinning: options.spinning ?? false,
      nice: options.nice ?? 0,
    };
    if (stopping) throw releasedError(name);
    // 'auto': the first worker says where its session runs; more CPU workers only if on the CPU.
    let started = await tracked(
      Promise.allSettled(Array.from({ length: auto ? 1 : size }, () => startWorker(internals, data))),
    );
    if (auto && size > 1) {
      const first = started[0];
      if (first?.status === 'fulfilled' && first.value.graph.backend === 'cpu' && !stopping) {
        const more = await tracked(
          Promise.allSettled(Array.from({ length: size - 1 }, () => startWorker(internals, data))),
        );
        started = [...started, ...more];
      } else {
        size = 1;
      }
    }
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    const ok = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
    if (stopping) {
      // The process is exiting: these workers are closed before it does (closeAllPools waits).
      await tracked(Promise.all(ok.map(({ worker }) => closeIdle(worker))));
      throw releasedError(name);
    }
    if (failed) {
      // Idle and session-ready: closing them cannot interrupt a run.
      await Promise.all(ok.map(({ worker }) => closeIdle(worker)));
      throw new OneclassError(
        'ERR_MODEL_FORMAT',
        `Cannot load encoder model ${name.label}: ${String((failed.reason as Error)?.message ?? failed.reason).trim()}`,
        { path: name.path, cause: failed.reason },
      );
    }
    const pool = new InferencePool(data, size, name, internals, ok[0].graph);
    for (const { worker } of ok) pool.adopt(worker);
    live.add(pool);
    return pool;
  }

  /** Runs the model on `request.input`; outputs by name, count x cols each. */
  async run(request: RunRequest): Promise<Record<string, Float32Array>> {
    if (this.released) throw releasedError(this.name);
    // Sent before this function first yields when a worker is alive: a release() called right
    // after run() then finds the call already in the worker's queue.
    const worker = this.liveWorker() ?? (await this.restartWorker());
    return new Promise((resolve, reject) => worker.send(this.nextId++, request, { resolve, reject }));
  }

  /** Waits for the calls in flight, then ends every worker. Harmless when called again. */
  release(): Promise<void> {
    if (!this.released) {
      live.delete(this);
      this.released = Promise.all(this.workers.map((w) => w.close())).then(() => undefined);
    }
    return this.released;
  }

  /** How many workers run the model (calls in flight beyond that wait in a worker's queue). */
  get workerCount(): number {
    return this.size;
  }

  get isReleased(): boolean {
    return this.released !== null;
  }

  private adopt(worker: Worker): PoolWorker {
    const w = new PoolWorker(worker, this.name, () => {
      this.workers.splice(this.workers.indexOf(w), 1);
    });
    this.workers.push(w);
    return w;
  }

  /** The least busy live worker (the first among equals), or null when all died. */
  private liveWorker(): PoolWorker | null {
    const alive = this.workers.filter((w) => !w.gone);
    if (alive.length === 0 || (alive.length < this.size && this.restarts < MAX_RESTARTS)) return null;
    return alive.reduce((best, w) => (w.pending.size < best.pending.size ? w : best));
  }

  /** A fresh worker from the same bytes, in place of one that died. */
  private async restartWorker(): Promise<PoolWorker> {
    if (this.restarts >= MAX_RESTARTS) {
      throw new OneclassError(
        'ERR_INTERNAL',
        `The inference worker of ${this.name.label} failed ${MAX_RESTARTS + 1} times; not starting another`,
        { path: this.name.path },
      );
    }
    this.restarts++;
    let started;
    try {
      started = await tracked(startWorker(this.internals, this.data));
    } catch (cause) {
      throw new OneclassError(
        'ERR_INTERNAL',
        `Cannot restart the inference worker of ${this.name.label}: ${(cause as Error).message}`,
        { path: this.name.path, cause },
      );
    }
    if (this.released) {
      await tracked(closeIdle(started.worker));
      throw releasedError(this.name);
    }
    return this.adopt(started.worker);
  }
}

function releasedError(name: ModelName): OneclassError {
  return new OneclassError('ERR_RELEASED', `The encoder ${name.label} was released; load it again to use it`, {
    path: name.path,
  });
}

/** Closes a worker that was never given a run (its session released first, then the thread ended). */
async function closeIdle(worker: Worker): Promise<void> {
  const closed = new Promise((resolve) => {
    worker.on('message', (m: { type?: string }) => m?.type === 'closed' && resolve(undefined));
    worker.once('exit', resolve);
  });
  worker.postMessage({ type: 'close' });
  await closed;
  await worker.terminate();
}

/**
 * Releases every pool not yet released, after its calls in flight, and closes workers still
 * starting; no pool can be created afterwards (for a process about to exit: ending the process
 * while a worker is inside ONNX Runtime, session creation included, aborts it).
 */
export async function closeAllPools(): Promise<void> {
  stopping = true;
  while (starting.size > 0) await Promise.allSettled([...starting]);
  await Promise.all([...live].map((p) => p.release()));
  while (starting.size > 0) await Promise.allSettled([...starting]);
}
