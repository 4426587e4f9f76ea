#!/usr/bin/env node
/**
 * End-to-end throughput of two builds of oneclass in one process, alternating round by round, so
 * both see the same machine load: fit time, images/s of Detector.score and Detector.localize,
 * CPU milliseconds per scored image, and whether both give the same raw scores.
 *
 *   # the build before the change, beside this checkout (node_modules and the addon shared):
 *   git worktree add /tmp/oneclass-before <commit> && ln -s "$PWD/node_modules" "$PWD/build" /tmp/oneclass-before/
 *   (cd /tmp/oneclass-before && npx tsc -p tsconfig.build.json)
 *   npm run build:ts && node bench/pipeline-before-after.mjs --before /tmp/oneclass-before/dist [--rounds 16] [--threads 1]
 *
 * Images: magnetic-tile train/good (200) and test (300; 48 for heatmaps) from ../shared/data, or
 * the bundled examples/. A shared or busy machine moves single rounds by 2x: compare medians.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: join(ROOT, 'dist') },
    rounds: { type: 'string', default: '16' },
    threads: { type: 'string', default: '1' },
  },
});
if (!values.before) throw new Error('--before DIR (the dist/ folder of the build to compare with) is required');
const threads = Number(values.threads);
const shared = resolve(ROOT, '..', 'shared', 'data', 'magnetic_tile');
const base = existsSync(shared) ? shared : join(ROOT, 'examples', 'magnetic_tile');
const list = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => join(dir, f));
const train = list(join(base, 'train', 'good')).slice(0, 200);
const test = readdirSync(join(base, 'test'))
  .sort()
  .flatMap((d) => list(join(base, 'test', d)))
  .slice(0, 300);
const heatmapImages = test.slice(0, 48);
const encoder = join(ROOT, 'models', 'magnetic-tile-cutpaste3way.onnx');

const sides = { before: values.before, after: values.after };
const runs = {};
for (const [name, dist] of Object.entries(sides)) {
  const { Detector } = await import(join(resolve(dist), 'index.js'));
  const t = performance.now();
  const det = await Detector.fit({
    encoder,
    encoderOptions: { device: 'cpu', threads },
    images: train,
    detector: { kind: 'kde' },
    localization: { resize: 256, patchSize: 128, stride: 32 },
    device: 'cpu',
    threads,
  });
  runs[name] = { det, fitSeconds: (performance.now() - t) / 1000, score: [], localize: [], cpuMs: [] };
  await det.score(test.slice(0, 32)); // warm-up
}
for (let round = 0; round < Number(values.rounds); round++) {
  for (const name of round % 2 ? ['after', 'before'] : ['before', 'after']) {
    const r = runs[name];
    let t = performance.now();
    const cpu = process.cpuUsage();
    const scored = await r.det.score(test);
    r.score.push(test.length / ((performance.now() - t) / 1000));
    const used = process.cpuUsage(cpu);
    r.cpuMs.push((used.user + used.system) / 1000 / test.length);
    r.raw ??= scored.items.map((i) => i.raw);
    t = performance.now();
    await r.det.localize(heatmapImages);
    r.localize.push(heatmapImages.length / ((performance.now() - t) / 1000));
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const summary = Object.fromEntries(
  Object.entries(runs).map(([name, r]) => [
    name,
    {
      fitSeconds: r.fitSeconds,
      scoreImagesPerSecond: median(r.score),
      localizeImagesPerSecond: median(r.localize),
      cpuMsPerScoredImage: median(r.cpuMs),
    },
  ]),
);
const { before, after } = runs;
const sameScores = before.raw.every((v, i) => Math.abs(v - after.raw[i]) <= 1e-9 * Math.max(1, Math.abs(v)));
console.log(
  JSON.stringify(
    {
      images: { train: train.length, test: test.length, heatmaps: heatmapImages.length, source: base },
      threads,
      rounds: Number(values.rounds),
      summary,
      sameScores,
    },
    null,
    2,
  ),
);
console.log(
  `after / before (medians of ${values.rounds} alternating rounds): score ${(median(after.score) / median(before.score)).toFixed(3)}, ` +
    `localize ${(median(after.localize) / median(before.localize)).toFixed(3)}, CPU per scored image ${(median(after.cpuMs) / median(before.cpuMs)).toFixed(3)}; ` +
    `raw scores equal within 1e-9: ${sameScores}`,
);
for (const r of Object.values(runs)) await r.det.release();
