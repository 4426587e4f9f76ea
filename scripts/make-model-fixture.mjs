#!/usr/bin/env node
// Writes test/fixtures/model/v1-ocsvm-knn.oneclass and the scores it gave when it was written.
// Run once at commit 2720982 (before the Detector refactor), with the model file layout v1:
// the refactored code must keep reading this file and give the same scores and heatmaps
// (test/model-fixture.test.ts). Rerunning it replaces the fixture: do that only on purpose.
//
//   npm run build:ts && node scripts/make-model-fixture.mjs
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { Detector, encodeSafetensors, tensor, writeFileAtomic } from '../dist/index.js';

const root = resolve(import.meta.dirname, '..');
const tiles = join(root, 'examples', 'magnetic_tile');
const out = join(root, 'test', 'fixtures', 'model');
const list = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => join(dir, f));

const train = list(join(tiles, 'train', 'good'));
const test = readdirSync(join(tiles, 'test'))
  .sort()
  .flatMap((d) => list(join(tiles, 'test', d)));

const det = await Detector.fit({
  encoder: join(root, 'models', 'magnetic-tile-cutpaste3way.onnx'),
  images: train,
  detector: { kind: 'ocsvm' },
  localization: { detector: { kind: 'knn' } },
  device: 'cpu',
  seed: 7,
});
await mkdir(out, { recursive: true });
await det.save(join(out, 'v1-ocsvm-knn.oneclass'));
const scored = await det.localize(test);
const heat = scored.items.slice(0, 3);
const tensors = {
  raw: tensor(Float64Array.from(scored.items.map((s) => s.raw))),
  score: tensor(Float64Array.from(scored.items.map((s) => s.score))),
};
heat.forEach((s, i) => (tensors[`heatmap.${i}`] = tensor(s.heatmap.data, [s.heatmap.height, s.heatmap.width])));
const files = scored.items.map((s) => s.id.slice(root.length + 1));
await writeFileAtomic(
  join(out, 'v1-ocsvm-knn.expected.safetensors'),
  encodeSafetensors(tensors, { files: JSON.stringify(files), commit: '2720982' }),
);
await det.release();
console.log(`wrote ${files.length} scores and ${heat.length} heatmaps`);
