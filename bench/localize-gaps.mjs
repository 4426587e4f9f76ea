#!/usr/bin/env node
/**
 * Event-loop gaps during one dense Detector.localize call, each explained: every gap of more than
 * 6 ms between ticks of a 1 ms setInterval, with how much of it the JS thread ran and how much it
 * waited for a CPU (Linux schedstat of the main thread) and the GC pauses inside it.
 *
 *   npm run build:ts && ROOT=<package root> N=256 node bench/localize-gaps.mjs [segmentation|padim|patchcore]
 *
 * ROOT (default: this repository) is a package root with dist/ and build/Release/oneclass.node, so
 * two builds can be compared by alternating runs; N test images of ../shared/data/magnetic_tile
 * (default 128); the dense encoder models/magnetic-tile-cutpaste-dense.onnx, a KDE image detector
 * and the method's localization fitted on 64 train/good images. Linux only (schedstat).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';

const ROOT = resolve(process.env.ROOT ?? resolve(fileURLToPath(new URL('..', import.meta.url))));
const { Detector } = await import(join(ROOT, 'dist/pipeline/detector.js'));
const { Encoder } = await import(join(ROOT, 'dist/encoder/index.js'));
const base = resolve(fileURLToPath(new URL('..', import.meta.url)), '..', 'shared', 'data', 'magnetic_tile');
const list = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => join(dir, f));
const train = list(join(base, 'train', 'good')).slice(0, 64);
const test = readdirSync(join(base, 'test'))
  .sort()
  .flatMap((d) => list(join(base, 'test', d)))
  .slice(0, Number(process.env.N ?? 128));
const method = process.argv[2] ?? 'segmentation';
const encoder = await Encoder.load(join(ROOT, 'models/magnetic-tile-cutpaste-dense.onnx'), {
  device: 'cpu',
  threads: 2,
});
const det = await Detector.fit({
  encoder,
  images: train,
  detector: { kind: 'kde' },
  localization: { method },
  threads: 2,
});
await det.localize(test.slice(0, 8), { allowResize: true });

const gcs = [];
const observer = new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcs.push({ t: e.startTime, d: e.duration, kind: e.detail?.kind });
});
observer.observe({ entryTypes: ['gc'] });
// run and wait times (ns) of the main thread so far.
const schedstat = () => readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number);
let lastStat = schedstat();
let last = performance.now();
const gaps = [];
const timer = setInterval(() => {
  const now = performance.now();
  const stat = schedstat();
  if (now - last - 1 > 6)
    gaps.push({ t: last, d: now - last - 1, run: (stat[0] - lastStat[0]) / 1e6, wait: (stat[1] - lastStat[1]) / 1e6 });
  last = now;
  lastStat = stat;
}, 1);
const t0 = performance.now();
await det.localize(test, { allowResize: true });
const t1 = performance.now();
clearInterval(timer);
await new Promise((r) => setTimeout(r, 50));
observer.disconnect();
console.log(`${method}: ${(test.length / ((t1 - t0) / 1000)).toFixed(1)} images/s, ${test.length} images`);
for (const g of gaps) {
  const inGap = gcs.filter((c) => c.t >= g.t - 1 && c.t <= g.t + g.d + 1);
  console.log(
    `gap at ${(g.t - t0).toFixed(0)} ms: ${g.d.toFixed(1)} ms (JS thread ran ${g.run.toFixed(1)}, waited for a CPU ` +
      `${g.wait.toFixed(1)}); GC in it: ${inGap.map((c) => `kind ${c.kind} ${c.d.toFixed(1)} ms`).join(', ') || 'none'}`,
  );
}
const max = Math.max(0, ...gaps.map((g) => g.d));
console.log(`${gaps.length} gaps > 6 ms, ${gaps.filter((g) => g.d > 15).length} > 15 ms, longest ${max.toFixed(1)} ms`);
await encoder.release();
