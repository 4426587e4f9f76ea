#!/usr/bin/env node
/**
 * One caller scoring one image per call, one call after another: the latency and CPU of a single
 * `Detector.score([jpeg])`, which is what a request costs without the dynamic batcher. Model: the
 * serve-batching benchmark's (CIFAR-10 airplane encoder, k-NN over 5,000 embeddings; run
 * bench/serve-batching.mjs once to fit it). Images: CIFAR-10 test JPEGs.
 *
 *   npm run build:ts && node bench/single-call.mjs [--calls 1000] [--root DIR] [--workers N]
 *
 * --root: a package root with dist/ and build/Release/oneclass.node, to measure another build
 * with the same script (alternate runs: single figures move by 10 % between runs here).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

import { cifarTestJpegs, repoRoot } from './lib/data.mjs';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    root: { type: 'string', default: repoRoot },
    workers: { type: 'string' },
  },
});
const model = path.join(repoRoot, 'bench', 'out', 'serve-cifar10-airplane-knn-5000.oneclass');
if (!existsSync(model)) {
  console.error(`single-call: ${model} is missing; run node bench/serve-batching.mjs once to fit it`);
  process.exit(1);
}
const root = path.resolve(values.root);
process.env.ONECLASS_ADDON ??= path.join(root, 'build', 'Release', 'oneclass.node');
const { Detector } = await import(pathToFileURL(path.join(root, 'dist', 'index.js')).href);
const encoderOptions = { device: 'cpu', ...(values.workers ? { workers: Number(values.workers) } : {}) };
const det = await Detector.load(model, { device: 'cpu', encoderOptions });
const calls = Number(values.calls);
const images = cifarTestJpegs().slice(0, calls + 100);
for (let i = 0; i < 100; i++) await det.score([images[i]]);
const latencies = [];
const cpu = process.cpuUsage();
const start = performance.now();
for (let i = 100; i < images.length; i++) {
  const t = performance.now();
  await det.score([images[i]]);
  latencies.push(performance.now() - t);
}
const wall = performance.now() - start;
const used = process.cpuUsage(cpu);
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(
  `${path.relative(process.cwd(), root) || '.'}: ${calls} calls, ${(wall / calls).toFixed(2)} ms each, ` +
    `p50 ${q(0.5).toFixed(2)} ms, p99 ${q(0.99).toFixed(2)} ms, CPU ${((used.user + used.system) / 1000 / calls).toFixed(2)} ms per call`,
);
await det.release();
