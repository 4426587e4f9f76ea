#!/usr/bin/env node
/**
 * The native JPEG decoder (src/encoder/jpeg.ts) against sharp, in one run, on the same images:
 *   decode:  decodeImage over a whole set, 16 calls in flight (as the encoder's batches run them),
 *            CPU time of this process per image and images/s, alternating the decoders by round;
 *   embed:   Encoder.embed of the same images end to end (decode, preprocess, inference), both
 *            decoders, to show what the decode is worth in the pipeline.
 * Sets: all 10,000 CIFAR-10 test JPEGs (32 x 32 RGB, bytes in memory) and all 1,344 magnetic-tile
 * JPEG files (gray, about 250 x 350, read from disk by each decode). Pixels are compared as well:
 * any difference fails the run.
 *
 *   npm run build:ts && node bench/jpeg-decode.mjs [--rounds 3] [--embed 2000] [--out FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

import { decodeImage, Encoder, jpegDecoder, setJpegDecoder } from '../dist/index.js';
import { cifarTestJpegs, magneticTileJpegs, median, repoRoot as root } from './lib/data.mjs';
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    embed: { type: 'string', default: '2000' },
    out: { type: 'string', default: path.join(root, 'bench', 'out', 'jpeg-decode.json') },
  },
});
const rounds = Number(values.rounds);
const native = jpegDecoder();
if (native.decoder !== 'native') {
  console.error('jpeg-decode: the addon has no native JPEG decoder (built without a static libjpeg)');
  process.exit(1);
}

const sets = {
  'cifar10-test (10,000 x 32x32 RGB, bytes)': cifarTestJpegs(),
  'magnetic-tile (1,344 gray files)': magneticTileJpegs(),
};

async function decodeAll(images) {
  const out = new Array(images.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < images.length) {
        const i = next++;
        out[i] = await decodeImage(images[i]);
      }
    }),
  );
  return out;
}

async function timed(work) {
  const cpu = process.cpuUsage();
  const t = performance.now();
  const result = await work();
  const wallMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { result, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
  native,
  decode: {},
  embed: {},
};
for (const [name, images] of Object.entries(sets)) {
  const runs = { sharp: [], native: [] };
  let reference;
  for (let r = 0; r < rounds; r++) {
    for (const which of ['sharp', 'native']) {
      setJpegDecoder(which === 'sharp' ? 'sharp' : 'auto');
      const { result, wallMs, cpuMs } = await timed(() => decodeAll(images));
      runs[which].push({ wallMs, cpuMs });
      if (which === 'sharp') reference ??= result;
      else {
        for (let i = 0; i < result.length; i++) {
          const a = result[i];
          const b = reference[i];
          if (a.width !== b.width || a.height !== b.height || Buffer.compare(a.data, b.data) !== 0)
            throw new Error(`${name}: image ${i} decodes differently`);
        }
      }
    }
  }
  const row = {};
  for (const which of ['sharp', 'native']) {
    row[which] = {
      imagesPerSecond: images.length / (median(runs[which].map((x) => x.wallMs)) / 1000),
      cpuMsPerImage: median(runs[which].map((x) => x.cpuMs)) / images.length,
      rounds: runs[which],
    };
  }
  row.speedup = row.native.imagesPerSecond / row.sharp.imagesPerSecond;
  row.cpuRatio = row.sharp.cpuMsPerImage / row.native.cpuMsPerImage;
  report.decode[name] = row;
  console.log(
    `${name}: sharp ${row.sharp.imagesPerSecond.toFixed(0)} img/s (${row.sharp.cpuMsPerImage.toFixed(3)} CPU ms/image), ` +
      `native ${row.native.imagesPerSecond.toFixed(0)} img/s (${row.native.cpuMsPerImage.toFixed(3)} CPU ms/image): ` +
      `${row.speedup.toFixed(1)}x images/s, ${row.cpuRatio.toFixed(1)}x less CPU; pixels identical`,
  );
}

// End to end: the encoders of those images, both decoders, alternating.
const embedN = Number(values.embed);
const encoders = [
  ['cifar10-airplane-rotation', sets['cifar10-test (10,000 x 32x32 RGB, bytes)'].slice(0, embedN)],
  ['magnetic-tile-cutpaste3way', sets['magnetic-tile (1,344 gray files)']],
];
for (const [model, images] of encoders) {
  const enc = await Encoder.load(path.join(root, 'models', `${model}.onnx`), { device: 'cpu', inferenceNice: 0 });
  await enc.embed(images.slice(0, 64), { views: 'none' });
  const runs = { sharp: [], native: [] };
  for (let r = 0; r < rounds; r++) {
    for (const which of ['sharp', 'native']) {
      setJpegDecoder(which === 'sharp' ? 'sharp' : 'auto');
      const { wallMs, cpuMs } = await timed(() => enc.embed(images, { views: 'none' }));
      runs[which].push({ wallMs, cpuMs });
    }
  }
  await enc.release();
  const row = {};
  for (const which of ['sharp', 'native']) {
    row[which] = {
      imagesPerSecond: images.length / (median(runs[which].map((x) => x.wallMs)) / 1000),
      cpuMsPerImage: median(runs[which].map((x) => x.cpuMs)) / images.length,
    };
  }
  row.speedup = row.native.imagesPerSecond / row.sharp.imagesPerSecond;
  report.embed[model] = { images: images.length, ...row };
  console.log(
    `embed ${model} (${images.length} images): sharp ${row.sharp.imagesPerSecond.toFixed(0)} img/s, native ${row.native.imagesPerSecond.toFixed(0)} img/s: ${row.speedup.toFixed(2)}x`,
  );
}
setJpegDecoder('auto');
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}; wrote ${values.out}`,
);
