/**
 * ONNX inference in worker threads (src/encoder/inference-pool.ts, inference-worker.mjs): the
 * event loop turns while a model runs, results equal the ones before, every failure of a worker
 * comes back as a coded error (never a hang or an unhandled exception), and release() ends the
 * workers after the calls in flight and is harmless twice.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { InferencePool, type RunRequest, workerExecArgv } from '../src/encoder/inference-pool.js';
import { OneclassError } from '../src/errors.js';
import { CIFAR_ENCODER, exampleFiles, TILE_ENCODER } from './fixtures/eval/pipeline-helpers.js';

const FAULTY = new URL('./fixtures/inference/faulty-worker.mjs', import.meta.url);
const name = { label: 'test model', path: '/models/test.onnx' };

function request(mode: number, count = 2): RunRequest {
  const input = new Float32Array(count * 3);
  input[0] = mode;
  return {
    input,
    transfer: true,
    count,
    dims: [3, 1, 1],
    inputName: 'x',
    outputs: [{ name: 'pooled', cols: 4 }],
    batchSize: 8,
  };
}

async function faultyPool(device = 'cpu', workers = 1): Promise<InferencePool> {
  return InferencePool.create(new Uint8Array(4), { device: device as 'cpu', threads: undefined, workers }, name, {
    script: FAULTY,
    resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
  });
}

describe('Encoder in worker threads', () => {
  let encoder: Encoder;
  beforeAll(async () => {
    encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  });
  afterAll(async () => {
    await encoder.release();
  });

  it('timers fire while a model runs (inference is off the JS thread)', async () => {
    const [c, h, w] = encoder.inputShape;
    const rows = 256;
    const input = new Float32Array(rows * c * h * w).map((_, i) => Math.sin(i));
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    // One call: on the JS thread ONNX Runtime would hold it for the whole run (no tick at all).
    const m = await encoder.embedTensor(input, rows, { batchSize: rows });
    clearInterval(timer);
    expect(m.rows).toBe(rows);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });

  it('a caller-owned input is copied, a transferred one moves, shared memory is read in place', async () => {
    const [c, h, w] = encoder.inputShape;
    const per = c * h * w;
    const input = new Float32Array(4 * per).map((_, i) => Math.cos(i));
    const copied = await encoder.embedTensor(input, 4);
    expect(input.length).toBe(4 * per);
    const shared = new Float32Array(new SharedArrayBuffer(input.byteLength));
    shared.set(input);
    expect(Array.from((await encoder.embedTensor(shared, 4)).data)).toEqual(Array.from(copied.data));
    // With one worker a transferred input moves whole; with several it is copied in parts (below).
    const one = await Encoder.load(TILE_ENCODER, { device: 'cpu', workers: 1 });
    try {
      const moved = input.slice();
      expect(Array.from((await one.embedTensor(moved, 4, { transfer: true })).data)).toEqual(Array.from(copied.data));
      expect(moved.length).toBe(0);
    } finally {
      await one.release();
    }
  });

  it('several workers serve concurrent calls with the results of one', async () => {
    const two = await Encoder.load(TILE_ENCODER, { device: 'cpu', workers: 2, threads: 1 });
    try {
      const files = exampleFiles('train/good', 6);
      const [a, b] = await Promise.all([two.embed(files.slice(0, 3)), two.embed(files.slice(3))]);
      const one = await encoder.embed(files);
      expect(Array.from(a.data).concat(Array.from(b.data))).toEqual(Array.from(one.data));
    } finally {
      await two.release();
    }
  });

  it("workers 'auto': two CPU workers with half the cores each (one when threads are given), batches in order", async () => {
    const { availableParallelism } = await import('node:os');
    const auto = await Encoder.load(TILE_ENCODER, { device: 'cpu', batchSize: 4 });
    const single = await Encoder.load(TILE_ENCODER, { device: 'cpu', batchSize: 4, workers: 1 });
    const pinned = await Encoder.load(TILE_ENCODER, { device: 'cpu', threads: 1 });
    try {
      expect(auto.workers).toBe(availableParallelism() >= 2 ? 2 : 1);
      expect(single.workers).toBe(1);
      expect(pinned.workers).toBe(1);
      // 22 images in batches of 4: six runs, two at a time, written to their own rows.
      const files = exampleFiles('train/good', 22);
      const [a, b] = await Promise.all([auto.embed(files), single.embed(files)]);
      expect(a.rows).toBe(22);
      expect(Array.from(a.data)).toEqual(Array.from(b.data));
      // One call of 7 tensors: parts of 4 and 3 on the two workers, put back in order.
      const [c, h, w] = auto.inputShape;
      const tensor = new Float32Array(7 * c * h * w).map((_, i) => Math.sin(i) * 2);
      const split = await auto.embedTensor(tensor, 7);
      const whole = await single.embedTensor(tensor, 7);
      expect(Array.from(split.data)).toEqual(Array.from(whole.data));
    } finally {
      await Promise.all([auto.release(), single.release(), pinned.release()]);
    }
    await expect(Encoder.load(TILE_ENCODER, { device: 'cpu', workers: 'two' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringContaining("'auto' or an integer"),
    });
  });

  it('release() waits for calls in flight, is harmless twice, and later calls get ERR_RELEASED', async () => {
    const e = await Encoder.load(CIFAR_ENCODER, { device: 'cpu' });
    const [c, h, w] = e.inputShape;
    const pending = e.embedTensor(new Float32Array(64 * c * h * w), 64);
    const released = e.release();
    await expect(pending).resolves.toMatchObject({ rows: 64 });
    await released;
    await e.release();
    expect(e.released).toBe(true);
    await expect(e.embedTensor(new Float32Array(c * h * w), 1)).rejects.toMatchObject({ code: 'ERR_RELEASED' });
    await expect(e.embed(exampleFiles('train/good', 1))).rejects.toMatchObject({ code: 'ERR_RELEASED' });
  });

  it('a model ONNX Runtime cannot load is ERR_MODEL_FORMAT', async () => {
    const manifest = JSON.parse(readFileSync(TILE_ENCODER.replace(/\.onnx$/, '.json'), 'utf8'));
    const e = await Encoder.fromBytes(new Uint8Array(1000).fill(7), manifest, { device: 'cpu' }).catch((x) => x);
    expect(e).toBeInstanceOf(OneclassError);
    expect(e.code).toBe('ERR_MODEL_FORMAT');
  });

  it('an error inside the real worker (an input the graph does not have) comes back coded', async () => {
    const pool = await InferencePool.create(
      readFileSync(TILE_ENCODER),
      { device: 'cpu', threads: 1, workers: 1 },
      name,
    );
    try {
      const err = await pool
        .run({ ...request(0), dims: [1, 128, 128], input: new Float32Array(2 * 128 * 128), inputName: 'nope' })
        .catch((x) => x);
      expect(err).toBeInstanceOf(OneclassError);
      expect(err.code).toBe('ERR_MODEL_FORMAT');
      expect(err.message).toMatch(/Inference failed for model test model/);
      expect(err.path).toBe(name.path);
    } finally {
      await pool.release();
    }
  });
});

/** The nice value of each of this process's threads (Linux), by thread id. */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // Fields after the command name's closing parenthesis; nice is field 19 of stat(5).
      nices.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return nices;
}

describe.runIf(process.platform === 'linux')('inference threads yield the CPU to the JS thread (inferenceNice)', () => {
  it.each([
    [7, 7],
    [undefined, 10],
    [0, 0],
  ])(
    'inferenceNice %s: the worker and ONNX Runtime threads run at nice +%s, the JS thread keeps its own',
    async (given, raise) => {
      const own = getPriority(0);
      const before = threadNices();
      const enc = await Encoder.load(TILE_ENCODER, { device: 'cpu', threads: 2, inferenceNice: given });
      try {
        const [c, h, w] = enc.inputShape;
        await enc.embedTensor(new Float32Array(4 * c * h * w).fill(0.5), 4);
        const started = [...threadNices()].filter(([tid]) => !before.has(tid));
        const lowered = started.filter(([, nice]) => nice === Math.min(19, own + raise));
        // The worker thread, and the intra-op thread ONNX Runtime starts beside it for threads: 2.
        expect(lowered.length).toBeGreaterThanOrEqual(raise === 0 ? started.length : 2);
        expect(getPriority(0)).toBe(own);
        // Threads that were there before (the JS thread, libuv's, V8's) keep their nice value.
        const after = threadNices();
        for (const [tid, nice] of before) if (after.has(tid)) expect(after.get(tid)).toBe(nice);
      } finally {
        await enc.release();
      }
    },
  );

  it('an inferenceNice outside 0..19 is refused by name', async () => {
    for (const bad of [-1, 20, 1.5, '5'])
      await expect(Encoder.load(TILE_ENCODER, { device: 'cpu', inferenceNice: bad as number })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringContaining('inferenceNice'),
      });
  });
});

describe('worker options', () => {
  it('the workers get the Node options that do not describe the main script', () => {
    expect(
      workerExecArgv([
        '--input-type=module',
        '-e',
        'code',
        '--stack-size=2000',
        '--eval=x',
        '-p',
        'y',
        '--input-type',
        'commonjs',
      ]),
    ).toEqual(['--stack-size=2000']);
    expect(workerExecArgv(['--max-old-space-size=512', '--enable-source-maps'])).toEqual([
      '--max-old-space-size=512',
      '--enable-source-maps',
    ]);
  });

  it('an encoder loads and runs in `node --input-type=module -e` (the workers do not inherit --input-type)', () => {
    const code =
      `const { Encoder } = await import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)});` +
      `const e = await Encoder.load(${JSON.stringify(TILE_ENCODER)}, { device: 'cpu' });` +
      `const m = await e.embed(${JSON.stringify(exampleFiles('train/good', 2))});` +
      'await e.release(); console.log(m.rows, m.cols);';
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      encoding: 'utf8',
      env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' },
    });
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toMatch(/^2 \d+$/);
  });
});

describe('worker failures come back as coded errors', () => {
  it('a worker that fails to load its session, or ends before it is ready, rejects the creation', async () => {
    await expect(faultyPool('fail')).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/Cannot load encoder model test model: Load model from memory failed/),
    });
    await expect(faultyPool('exit')).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/exited with code 7 before its session was ready/),
    });
  });

  it('a worker that exits, throws or runs out of memory rejects its calls; the next call gets a fresh worker', async () => {
    const pool = await faultyPool();
    try {
      expect((await pool.run(request(0))).pooled).toHaveLength(8);
      await expect(pool.run(request(1))).rejects.toMatchObject({
        code: 'ERR_INTERNAL',
        message: expect.stringMatching(/inference worker thread of test model exited with code 3/),
      });
      expect((await pool.run(request(0))).pooled).toHaveLength(8);
      await expect(pool.run(request(2))).rejects.toMatchObject({
        code: 'ERR_INTERNAL',
        message: expect.stringMatching(/failed: something broke in the worker/),
      });
      await expect(pool.run(request(3))).rejects.toMatchObject({
        code: 'ERR_OUT_OF_MEMORY',
        message: expect.stringMatching(/ran out of memory/),
      });
      // Three restarts used: the fourth crash leaves the pool without workers, and it says so.
      expect((await pool.run(request(0))).pooled).toHaveLength(8);
      await expect(pool.run(request(1))).rejects.toMatchObject({ code: 'ERR_INTERNAL' });
      await expect(pool.run(request(0))).rejects.toMatchObject({
        code: 'ERR_INTERNAL',
        message: expect.stringMatching(/failed 4 times; not starting another/),
      });
    } finally {
      await pool.release();
    }
  });

  it('calls in flight on a worker that dies are all rejected, those on other workers are not', async () => {
    const pool = await faultyPool('cpu', 2);
    try {
      const results = await Promise.allSettled([pool.run(request(0)), pool.run(request(1)), pool.run(request(0))]);
      expect(results.map((r) => r.status)).toContain('rejected');
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
      for (const r of results)
        if (r.status === 'rejected') expect((r.reason as OneclassError).code).toBe('ERR_INTERNAL');
    } finally {
      await pool.release();
    }
  });
});
