#!/usr/bin/env node
/**
 * Distributed scoring throughput, one worker against two (issue 14's criterion: two workers with
 * one thread each reach >= 1.6x the images/s of one). Each worker is a `oneclass jobs worker`
 * process with --threads 1 (ONNX Runtime, detectors and sharp on one thread) and
 * UV_THREADPOOL_SIZE=1, pinned to its own CPU with taskset (--no-pin: not pinned), on a private
 * redis-server; rounds alternate (1 worker, 2 workers, ...) so both see the same machine load. A round's time runs from submit to the run's completion; the
 * images are fresh copies each round (results are keyed by path and content, so reused ones
 * would not be scored again), and each worker has scored a warm-up run first.
 *
 *   npm run build:ts && node bench/jobs-scaling.mjs [--images 3000] [--shard-size 100] [--rounds 4]
 *       [--no-pin]
 *
 * Needs redis-server (apt-get install -y redis-server) and ../shared/data. Writes
 * bench/out/jobs-scaling.json.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

import { Detector, readCifarJpeg } from '../dist/index.js';
import { runStatus, submitRun } from '../dist/jobs/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '3000' },
    'shard-size': { type: 'string', default: '100' },
    rounds: { type: 'string', default: '4' },
    threads: { type: 'string', default: '1' },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'bench', 'out', 'jobs-scaling.json') },
  },
});
const count = Number(values.images);
values.pin = !values['no-pin'];
const shardSize = Number(values['shard-size']);
const main = path.join(root, 'dist', 'cli', 'main.js');
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
await new Promise((resolve, reject) => {
  let out = '';
  redis.stdout.on('data', (d) => {
    out += d;
    if (out.includes('Ready to accept connections')) resolve();
  });
  redis.once('exit', (c) => reject(new Error(`redis-server exited with ${c} (is it installed?)`)));
});
const url = `redis://127.0.0.1:${port}`;
const dir = mkdtempSync(path.join(os.tmpdir(), 'oneclass-jobs-scaling-'));

try {
  const all = readCifarJpeg(path.resolve(root, '../shared/data/cifar10/train_jpeg.bin'));
  const modelFile = path.join(dir, 'airplane-knn.oneclass');
  const det = await Detector.fit({
    encoder: path.join(root, 'models', 'cifar10-airplane-rotation.onnx'),
    images: all
      .filter((r) => r.classIndex === 0)
      .slice(0, 1000)
      .map((r) => r.item),
    detector: { kind: 'knn' },
    // One forward pass per image, as in the runs recorded before test-time views existed.
    views: 'none',
  });
  await det.save(modelFile);
  await det.release();

  let copy = 0;
  /** A fresh folder of the same `n` real JPEGs (all classes). */
  const imagesCopy = (n) => {
    const sub = path.join(dir, `copy-${copy++}`);
    mkdirSync(sub);
    return Array.from({ length: n }, (_, i) => {
      const f = path.join(sub, `${i}.jpg`);
      writeFileSync(f, all[(i * 7) % all.length].item.image);
      return f;
    });
  };

  // Worker k runs on CPU k (taskset): "one thread each" then means one core each, although a
  // worker's inference (on the JS thread) and decoding (on libuv's thread) could otherwise overlap.
  const pinned = values.pin && spawnSync('taskset', ['-V']).status === 0;
  const startWorker = (cpu) =>
    new Promise((resolve, reject) => {
      const args = [main, 'jobs', 'worker', '--redis', url, '--threads', values.threads, '--device', 'cpu'];
      const child = spawn(
        pinned ? 'taskset' : process.execPath,
        pinned ? ['-c', String(cpu), process.execPath, ...args] : args,
        {
          stdio: ['ignore', 'pipe', 'inherit'],
          env: { ...process.env, UV_THREADPOOL_SIZE: values.threads },
        },
      );
      child.stdout.on('data', (d) => {
        if (String(d).includes('"worker-ready"')) resolve(child);
      });
      child.once('exit', (c) => reject(new Error(`worker exited with ${c}`)));
    });

  // CPU seconds a process has used (utime + stime of /proc/PID/stat, in clock ticks of 1/100 s).
  const cpuSeconds = (pid) => {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return 0;
    }
  };
  const workerCpu = () => pool.filter((w) => w.exitCode === null).reduce((s, w) => s + cpuSeconds(w.pid), 0);
  const cpuPerImage = { one: [], two: [] };

  const runOnce = async (images, label, cpuInto) => {
    const cpu0 = workerCpu();
    const t = performance.now();
    const meta = await submitRun({ redisUrl: url, model: modelFile, images, shardSize, runId: label });
    for (;;) {
      const s = await runStatus(url, meta.runId);
      if (s.state !== 'running') {
        if (s.state !== 'completed') throw new Error(`run ${label} ${s.state}: ${JSON.stringify(s.shardsFailed)}`);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (performance.now() - t) / 1000;
    // Workers' CPU per image: if two cost what one does, they scale with the cores they get.
    cpuInto?.push(((workerCpu() - cpu0) * 1000) / images.length);
    return images.length / seconds;
  };

  const pool = [];
  pool.push(await startWorker(0), await startWorker(1 % os.cpus().length));
  const stop = async (w) => {
    w.kill('SIGTERM');
    await new Promise((r) => (w.exitCode !== null ? r() : w.once('exit', r)));
  };
  // Warm-up: both workers load the model and run a few shards.
  await runOnce(imagesCopy(4 * shardSize), 'warmup');

  const results = { one: [], two: [] };
  for (let r = 0; r < Number(values.rounds); r++) {
    // One worker: the second is stopped for the round and restarted (and warmed) after it.
    await stop(pool[1]);
    results.one.push(await runOnce(imagesCopy(count), `one-${r}`, cpuPerImage.one));
    pool[1] = await startWorker(1 % os.cpus().length);
    await runOnce(imagesCopy(4 * shardSize), `warm-${r}`);
    results.two.push(await runOnce(imagesCopy(count), `two-${r}`, cpuPerImage.two));
    console.log(
      `round ${r + 1}: 1 worker ${results.one.at(-1).toFixed(0)} images/s, 2 workers ${results.two.at(-1).toFixed(0)} images/s`,
    );
  }
  await Promise.all(pool.map(stop));

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const one = median(results.one);
  const two = median(results.two);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
    config: { images: count, shardSize, threads: Number(values.threads), rounds: Number(values.rounds), pinned },
    oneWorker: { imagesPerSecond: one, rounds: results.one },
    twoWorkers: { imagesPerSecond: two, rounds: results.two },
    speedup: two / one,
    workerCpuMsPerImage: { one: median(cpuPerImage.one), two: median(cpuPerImage.two) },
    meetsCriterion: two / one >= 1.6,
  };
  writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
  console.log(
    `\n${count} CIFAR-10 JPEGs, shards of ${shardSize}, ${values.threads} thread(s) per worker${pinned ? ', one CPU each' : ''}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n` +
      `1 worker  ${one.toFixed(0)} images/s\n2 workers ${two.toFixed(0)} images/s\n` +
      `speedup ${result.speedup.toFixed(2)}x (criterion >= 1.6x: ${result.meetsCriterion ? 'met' : 'NOT met'})\n` +
      `workers' CPU per image: 1 worker ${result.workerCpuMsPerImage.one.toFixed(2)} ms, 2 workers ${result.workerCpuMsPerImage.two.toFixed(2)} ms\n` +
      `wrote ${values.out}`,
  );
} finally {
  redis.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
