#!/usr/bin/env node
/**
 * The encoder's inference workers, in one run: `Encoder.embed` of the same images with one worker
 * (ONNX Runtime's default intra-op threads, the default before `workers: 'auto'`) against the
 * default 'auto' (two CPU workers with half the cores each, two batches at once), alternating by
 * round. Embeddings must be identical.
 *
 *   npm run build:ts && node bench/encoder-workers.mjs [--rounds 3] [--images 4000] [--out FILE]
 *
 * Models and images: cifar10-airplane-rotation on CIFAR-10 test JPEGs (bytes, 32 x 32),
 * magnetic-tile-cutpaste3way and magnetic-tile-cutpaste-dense (image output) on all 1,344
 * magnetic-tile JPEG files.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

import { Encoder } from '../dist/index.js';
import { cifarTestJpegs, magneticTileJpegs, median, repoRoot as root } from './lib/data.mjs';
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    images: { type: 'string', default: '4000' },
    out: { type: 'string', default: path.join(root, 'bench', 'out', 'encoder-workers.json') },
  },
});
const rounds = Number(values.rounds);
const cifar = cifarTestJpegs().slice(0, Number(values.images));
const tiles = magneticTileJpegs();
const cases = [
  ['cifar10-airplane-rotation', cifar],
  ['magnetic-tile-cutpaste3way', tiles],
  ['magnetic-tile-cutpaste-dense', tiles],
];
const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
  results: {},
};
for (const [model, images] of cases) {
  const file = path.join(root, 'models', `${model}.onnx`);
  const configs = {
    'one worker': await Encoder.load(file, { device: 'cpu', workers: 1, inferenceNice: 0 }),
    auto: await Encoder.load(file, { device: 'cpu', inferenceNice: 0 }),
  };
  const times = { 'one worker': [], auto: [] };
  const outputs = {};
  for (const e of Object.values(configs)) await e.embed(images.slice(0, 128), { views: 'none' });
  for (let r = 0; r < rounds; r++) {
    for (const [name, e] of Object.entries(configs)) {
      const t = performance.now();
      outputs[name] = await e.embed(images, { views: 'none' });
      times[name].push(performance.now() - t);
    }
  }
  const same = outputs.auto.data.every((v, i) => v === outputs['one worker'].data[i]);
  if (!same) throw new Error(`${model}: embeddings differ between the configurations`);
  const row = { images: images.length, workers: configs.auto.workers };
  for (const name of Object.keys(configs)) {
    row[name] = { imagesPerSecond: images.length / (median(times[name]) / 1000), roundsMs: times[name] };
  }
  row.speedup = row.auto.imagesPerSecond / row['one worker'].imagesPerSecond;
  report.results[model] = row;
  for (const e of Object.values(configs)) await e.release();
  console.log(
    `${model} (${images.length} images): one worker ${row['one worker'].imagesPerSecond.toFixed(0)} img/s, ` +
      `auto (${row.workers} workers) ${row.auto.imagesPerSecond.toFixed(0)} img/s: ${row.speedup.toFixed(2)}x; embeddings identical`,
  );
}
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; wrote ${values.out}`,
);
