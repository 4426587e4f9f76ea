#!/usr/bin/env node
/**
 * Encoder throughput from Node (decode + preprocess + inference, images/s) against PyTorch running
 * the same model on the same images in the same run, for batch sizes 1 to 256.
 *
 *   npm run build:ts && node bench/encoder-throughput.mjs [--threads 1] [--repeat 2] [--count 256]
 *
 * Needs ../shared/data and the PyTorch checkpoints written by python-export/make_models.sh
 * (python-export/runs/*.pt). Prints a table and writes bench/out/encoder-throughput.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Encoder } from '../dist/encoder/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataRoot = path.resolve(repoRoot, '../shared/data');
const { values } = parseArgs({
  options: {
    threads: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '2' },
    count: { type: 'string', default: '256' },
    'batch-sizes': { type: 'string', default: '1,8,32,64,128,256' },
  },
});
const threads = Number(values.threads);
const repeat = Number(values.repeat);
const count = Number(values.count);
const batchSizes = values['batch-sizes'].split(',').map(Number);

/** The two workloads: CIFAR-10 JPEGs held in memory (32x32 RGB model) and magnetic-tile files (128x128 gray). */
function workloads() {
  const jpegBin = path.join(dataRoot, 'cifar10/test_jpeg.bin');
  const rows = readFileSync(path.join(dataRoot, 'cifar10/test_jpeg.csv'), 'utf8').trim().split('\n').slice(1);
  const blob = readFileSync(jpegBin);
  const cifarItems = rows.slice(0, count).map((r) => {
    const [offset, length] = r.split(',').map(Number);
    return { bin: jpegBin, offset, length };
  });
  const tileDir = path.join(dataRoot, 'magnetic_tile/train/good');
  const tileItems = readdirSync(tileDir)
    .sort()
    .slice(0, count)
    .map((f) => ({ path: path.join(tileDir, f) }));
  return [
    {
      name: 'cifar10-airplane-rotation (32x32 RGB, JPEG bytes in memory)',
      model: 'models/cifar10-airplane-rotation.onnx',
      items: cifarItems,
      inputs: cifarItems.map((it) => blob.subarray(it.offset, it.offset + it.length)),
    },
    {
      name: 'magnetic-tile-cutpaste3way (128x128 gray, JPEG files ~250x400)',
      model: 'models/magnetic-tile-cutpaste3way.onnx',
      items: tileItems,
      inputs: tileItems.map((it) => it.path),
    },
  ];
}

async function nodeThroughput(modelPath, inputs) {
  const encoder = await Encoder.load(path.join(repoRoot, modelPath), { device: 'cpu', threads });
  const out = {};
  try {
    await encoder.embed(inputs.slice(0, 8)); // warm-up: session initialisation, sharp's first decode
    for (const bs of batchSizes) {
      let best = Infinity;
      for (let r = 0; r < repeat; r++) {
        const t0 = process.hrtime.bigint();
        await encoder.embed(inputs, { batchSize: bs });
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      }
      out[bs] = inputs.length / best;
    }
  } finally {
    await encoder.release();
  }
  return out;
}

function torchThroughput(modelPath, items) {
  const job = JSON.stringify({ model: modelPath, items, batchSizes, threads, repeat });
  const res = spawnSync('/usr/bin/python3', ['python-export/bench_encoder.py'], {
    cwd: repoRoot,
    input: job,
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
    maxBuffer: 1 << 24,
  });
  if (res.status !== 0) throw new Error(`python-export/bench_encoder.py failed (${res.status}): ${res.stderr}`);
  return JSON.parse(res.stdout);
}

const results = [];
for (const w of workloads()) {
  const node = await nodeThroughput(w.model, w.inputs);
  const torch = torchThroughput(w.model, w.items);
  const rows = batchSizes.map((bs) => ({
    batchSize: bs,
    nodeImagesPerSecond: Math.round(node[bs] * 10) / 10,
    torchImagesPerSecond: Math.round(torch.imagesPerSecond[bs] * 10) / 10,
    ratio: Math.round((node[bs] / torch.imagesPerSecond[bs]) * 100) / 100,
  }));
  console.log(`\n${w.name}: ${w.items.length} images, ${threads} thread(s), best of ${repeat}`);
  console.log('batch  node img/s  torch img/s  node/torch');
  for (const r of rows) {
    console.log(
      `${String(r.batchSize).padStart(5)}  ${r.nodeImagesPerSecond.toFixed(1).padStart(10)}  ${r.torchImagesPerSecond.toFixed(1).padStart(11)}  ${r.ratio.toFixed(2).padStart(10)}`,
    );
  }
  results.push({ workload: w.name, model: w.model, images: w.items.length, torch: torch.torch, rows });
}

const report = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  threads,
  repeat,
  note: 'images/s for decode + preprocess + inference; Node: sharp + onnxruntime-node (CPU); torch: Pillow + numpy resize + PyTorch eager',
  results,
};
mkdirSync(path.join(repoRoot, 'bench/out'), { recursive: true });
writeFileSync(path.join(repoRoot, 'bench/out/encoder-throughput.json'), JSON.stringify(report, null, 2) + '\n');
console.log('\nwrote bench/out/encoder-throughput.json');
