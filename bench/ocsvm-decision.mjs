#!/usr/bin/env node
/**
 * OneClassSVM.decisionFunction (or, with --op fit, OneClassSVM.fit) alone, for comparing two builds
 * by alternating runs: fits one model (M = 5,000, or --m 20000 with --data real) and prints the
 * best, median and mean time of --reps calls on 10,000 query rows (--op fit: of --reps fits of the
 * M training rows, after one warm-up fit).
 *
 *   npm run build:ts && ROOT=<package root> node bench/ocsvm-decision.mjs [--op decision|fit]
 *        [--data uniform|real] [--m 5000|20000] [--nu 0.05] [--reps 20]
 *
 * ROOT (default: this repository) is a package root with dist/ and build/Release/oneclass.node.
 * Data as bench/ocsvm-grid.mjs: uniform [0, 1) at D = 512 (its generator and seeds), or the CIFAR-10
 * embeddings that bench/ocsvm-grid.mjs caches in bench/out/ (run it once with --cells real:5000 first).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ROOT = resolve(process.env.ROOT ?? here);
const { OneClassSVM } = await import(join(ROOT, 'dist', 'index.js'));
const { values } = parseArgs({
  options: {
    op: { type: 'string', default: 'decision' },
    data: { type: 'string', default: 'uniform' },
    m: { type: 'string', default: '5000' },
    nu: { type: 'string', default: '0.05' },
    reps: { type: 'string', default: '20' },
  },
});

function uniform(rows, cols, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(rows * cols);
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s + 0.5) / 4294967296;
  }
  return { data: a, rows, cols };
}

function cached(file, rows) {
  const b = readFileSync(join(here, 'bench', 'out', file));
  const data = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  return { data, rows, cols: data.length / rows };
}

const M = Number(values.m);
const [train, queries] =
  values.data === 'real'
    ? [cached(`ocsvm-grid-cifar10-train-${M}.f32`, M), cached('ocsvm-grid-cifar10-test-10000.f32', 10000)]
    : [uniform(M, 512, M), uniform(10000, 512, 99)];
const model = await OneClassSVM.fit(train, { nu: Number(values.nu) });
const op =
  values.op === 'fit' ? () => OneClassSVM.fit(train, { nu: Number(values.nu) }) : () => model.decisionFunction(queries);
await op();
const times = [];
const reps = Number(values.reps);
for (let r = 0; r < reps; r++) {
  const t0 = performance.now();
  await op();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
const what = values.op === 'fit' ? `fit of ${train.rows} rows` : `${queries.rows} queries`;
console.log(
  `${values.data} nu ${values.nu}: ${model.nSupport} support vectors, ${what}: best ${times[0].toFixed(2)} ms, ` +
    `median ${times[reps >> 1].toFixed(2)} ms, mean ${(times.reduce((a, b) => a + b, 0) / reps).toFixed(2)} ms ` +
    `over ${reps} calls (${ROOT})`,
);
