// @ts-check
/**
 * One ONNX Runtime session on its own thread (a worker of inference-pool.ts).
 *
 * onnxruntime-node runs a session synchronously on the thread that calls `run` (inside a
 * setImmediate): on the main thread, a batch of 256 images held the event loop for 289 ms. Here
 * that thread is this worker's, so the application's event loop keeps turning.
 *
 * Plain JavaScript, not TypeScript: a worker thread is started from a file, and Node 20 runs no
 * TypeScript (the test runner's transform does not reach worker threads). tsc checks it (@ts-check
 * with allowJs) and copies it to dist/ beside the pool.
 *
 * Protocol (inference-pool.ts is the other end):
 *   workerData  { model: Uint8Array, device, threads, spinning, nice }
 *   out         { type: 'ready', graph }  or  { type: 'failed', message }  (then it waits to be ended)
 *   in          { type: 'run', id, input, count, dims, inputName, outputs: [{ name, cols, transpose? }], batchSize }
 *               (transpose [c, p]: each image's c x p values returned as p x c)
 *   out         { type: 'result', id, outputs: { [name]: Float32Array } }  (buffers transferred)
 *            or { type: 'error', id, code, message }
 *   in          { type: 'close' }: after the runs already received, release the session
 *   out         { type: 'closed' }: idle for good; the pool terminates the thread
 *
 * The thread is never terminated from outside while `run` is in native code: worker.terminate()
 * (or process.exit) during a run aborts the whole process in onnxruntime-node 1.30 ("terminate
 * called after throwing an instance of 'Napi::Error'"). So the pool terminates a worker only once
 * it said 'failed' or 'closed'; and since those come through the same port as the results, every
 * result arrives before them (a worker that ended by itself could lose results still in the port).
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

import ort from 'onnxruntime-node';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);

/**
 * @param {'cpu' | 'cuda'} provider
 * @returns {import('onnxruntime-node').InferenceSession.SessionOptions}
 */
function sessionOptions(provider) {
  const { threads, spinning } = workerData;
  return {
    executionProviders: [provider],
    // 4 = fatal only: keeps provider-load failures (which the pool reports itself) off stderr.
    logSeverityLevel: 4,
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    // Spinning intra-op threads busy-wait between operators; on a machine whose cores the
    // application shares (decoding, stage-2 detectors) that steals the cores they need.
    ...(spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
  };
}

/**
 * CUDA when it loads, else the CPU, and why: onnxruntime-node does not fall back by itself
 * (['cuda', 'cpu'] rejects without the CUDA provider library; TOOLCHAIN.md).
 */
async function createSession() {
  // A failed CUDA provider load is also logged by ONNX Runtime's process-wide logger, configured
  // by the first session of the process; lower it unless the application chose a level.
  if (ort.env.logLevel === 'warning') ort.env.logLevel = 'fatal';
  let fallbackReason = null;
  if (workerData.device !== 'cpu') {
    try {
      const session = await ort.InferenceSession.create(workerData.model, sessionOptions('cuda'));
      return { session, backend: 'cuda', fallbackReason };
    } catch (err) {
      fallbackReason = `CUDA execution provider unavailable: ${messageOf(err)}`;
    }
  }
  const session = await ort.InferenceSession.create(workerData.model, sessionOptions('cpu'));
  return { session, backend: 'cpu', fallbackReason };
}

/** @param {unknown} err */
function messageOf(err) {
  return String(/** @type {Error} */ (err)?.message ?? err).trim();
}

/** ONNX Runtime reports allocation failures in words only. */
const OUT_OF_MEMORY = /bad_alloc|out of memory|failed to allocate|allocation fail/i;

/** @param {Float32Array} input ONNX Runtime refuses shared memory: copied here, off the caller's thread. */
function ownMemory(input) {
  return input.buffer instanceof SharedArrayBuffer ? input.slice() : input;
}

/**
 * @param {import('onnxruntime-node').InferenceSession} session
 * @param {{ id: number, input: Float32Array, count: number, dims: number[], inputName: string,
 *           outputs: { name: string, cols: number, transpose?: number[], shared?: boolean }[],
 *           batchSize: number }} m
 */
async function run(session, m) {
  const per = m.dims[0] * m.dims[1] * m.dims[2];
  /** @type {Record<string, Float32Array>} */
  const outputs = {};
  for (const o of m.outputs) {
    const values = m.count * o.cols;
    outputs[o.name] = o.shared ? new Float32Array(new SharedArrayBuffer(values * 4)) : new Float32Array(values);
  }
  const names = m.outputs.map((o) => o.name);
  const data = ownMemory(m.input);
  for (let start = 0; start < m.count; start += m.batchSize) {
    const n = Math.min(m.batchSize, m.count - start);
    const input = new ort.Tensor('float32', data.subarray(start * per, (start + n) * per), [n, ...m.dims]);
    const res = await session.run({ [m.inputName]: input }, names);
    for (const o of m.outputs) {
      const t = res[o.name];
      if (!t || !(t.data instanceof Float32Array) || t.data.length !== n * o.cols) {
        const got = t ? `${t.type} [${t.dims.join(', ')}]` : 'nothing';
        throw Object.assign(
          new Error(`returned ${got} for output '${o.name}', the manifest says float32 [${n}, ${o.cols}]`),
          { code: 'ERR_MODEL_FORMAT' },
        );
      }
      if (o.transpose) transposeInto(t.data, n, o.transpose[0], o.transpose[1], outputs[o.name], start * o.cols);
      else outputs[o.name].set(t.data, start * o.cols);
    }
  }
  return outputs;
}

/**
 * n images of c x p values (channel-major) written as p x c (position-major) into out at offset.
 * @param {Float32Array} src @param {number} n @param {number} c @param {number} p
 * @param {Float32Array} out @param {number} offset
 */
function transposeInto(src, n, c, p, out, offset) {
  for (let i = 0; i < n; i++) {
    const base = i * c * p;
    for (let ch = 0; ch < c; ch++) {
      const row = base + ch * p;
      for (let q = 0; q < p; q++) out[offset + base + q * c + ch] = src[row + q];
    }
  }
}

/**
 * Raises this thread's nice value by `nice` before the session exists: ONNX Runtime's intra-op
 * threads, created by the session, inherit it. On Linux the nice value is per thread, so the
 * application's JS thread, libuv's threads (decoding, detectors) and other workers keep theirs and
 * get a CPU first when they wait for one (the event loop's lag during embed fell from 30 to 9 ms
 * on 2 cores, bench/event-loop-lag.mjs). Elsewhere it would apply to the whole process: skipped.
 * @param {number} nice
 */
function lowerPriority(nice) {
  if (!(nice > 0) || process.platform !== 'linux') return;
  try {
    setPriority(0, Math.min(19, getPriority(0) + nice));
  } catch {
    // not allowed: the threads keep the process's priority
  }
}

/** @param {unknown} err */
function codeOf(err) {
  const code = /** @type {{ code?: unknown }} */ (err)?.code;
  if (code !== 'ERR_MODEL_FORMAT' && OUT_OF_MEMORY.test(messageOf(err))) return 'ERR_OUT_OF_MEMORY';
  // A graph that fails on an input of the shape its manifest declares is the model's fault.
  return 'ERR_MODEL_FORMAT';
}

lowerPriority(workerData.nice);

let created;
try {
  created = await createSession();
} catch (err) {
  port.postMessage({ type: 'failed', message: messageOf(err) });
}

if (created) {
  const { session, backend, fallbackReason } = created;
  port.postMessage({
    type: 'ready',
    graph: {
      backend,
      fallbackReason,
      inputNames: session.inputNames,
      outputNames: session.outputNames,
      // Plain objects: they cross the thread boundary by structured clone.
      inputMetadata: JSON.parse(JSON.stringify(session.inputMetadata)),
      outputMetadata: JSON.parse(JSON.stringify(session.outputMetadata)),
    },
  });
  // Runs are taken one at a time, in order: a session is not run concurrently with itself.
  let queue = Promise.resolve();
  port.on('message', (m) => {
    queue = queue.then(async () => {
      if (m.type === 'close') {
        await session.release();
        port.postMessage({ type: 'closed' });
        return;
      }
      try {
        const outputs = await run(session, m);
        port.postMessage(
          { type: 'result', id: m.id, outputs },
          // Shared outputs are shared, not moved.
          Object.values(outputs)
            .filter((a) => !(a.buffer instanceof SharedArrayBuffer))
            .map((a) => /** @type {ArrayBuffer} */ (a.buffer)),
        );
      } catch (err) {
        port.postMessage({ type: 'error', id: m.id, code: codeOf(err), message: messageOf(err) });
      }
    });
  });
}
