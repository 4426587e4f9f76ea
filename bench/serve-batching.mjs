#!/usr/bin/env node
/**
 * Dynamic batching against one image per call, in one run (issue 14's criterion): N concurrent
 * callers, each scoring one CIFAR-10 test JPEG at a time,
 *   direct:   Detector.score([image])   (every call its own batch of one)
 *   batched:  Batcher.score([image])    (calls coalesced, up to maxBatch images, maxDelayMs)
 * measured in alternating rounds (direct, batched, direct, batched, ...) with perf_analyzer-style
 * windows (src/serve/load.ts), so both see the same machine load. Also measured in the same run:
 * the time of one full batch (one request of maxBatch images on an idle batcher, median of 9),
 * for the latency bound p99 <= 2 x maxDelayMs + full batch.
 *
 *   npm run build:ts && node bench/serve-batching.mjs [--callers 64] [--max-batch 64] [--max-delay-ms 5]
 *       [--detector knn] [--fit-images 5000] [--rounds 4] [--window-ms 3000] [--threads N] [--encoder-batch N] [--model FILE]
 *       [--raw] [--workers N]
 *
 * --raw: the callers send decoded pixels (RawImage, decoded once by sharp before the run) instead of
 * the JPEG bytes, so neither path decodes: what batching gains when decoding costs nothing, the
 * upper bound of the speedup on this machine's encoder.
 * --workers N / --threads N: the encoder's inference workers and intra-op threads (Encoder.load
 * options; default one worker with ONNX Runtime's choice of threads), for both paths alike.
 * The model (CIFAR-10 airplane encoder, detector fitted on the first --fit-images airplane training
 * JPEGs) is cached in bench/out/. Prints a table, writes bench/out/serve-batching.json.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

import sharp from 'sharp';

import { Detector, readCifarJpeg } from '../dist/index.js';
import { Batcher } from '../dist/serve/batcher.js';
import { measureLoad } from '../dist/serve/load.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const data = path.resolve(root, '../shared/data/cifar10');
const { values } = parseArgs({
  options: {
    callers: { type: 'string', default: '64' },
    'max-batch': { type: 'string', default: '64' },
    'max-delay-ms': { type: 'string', default: '5' },
    'pipeline-depth': { type: 'string', default: '3' },
    detector: { type: 'string', default: 'knn' },
    'fit-images': { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '4' },
    'window-ms': { type: 'string', default: '3000' },
    threads: { type: 'string' },
    'encoder-batch': { type: 'string' },
    workers: { type: 'string' },
    model: { type: 'string' },
    raw: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'bench', 'out', 'serve-batching.json') },
  },
});
const callers = Number(values.callers);
const maxBatch = Number(values['max-batch']);
const maxDelayMs = Number(values['max-delay-ms']);
const pipelineDepth = Number(values['pipeline-depth']);
const threads = values.threads === undefined ? undefined : Number(values.threads);
const fitImages = Number(values['fit-images']);
const outDir = path.join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });

const train = readCifarJpeg(path.join(data, 'train_jpeg.bin'));
const test = readCifarJpeg(path.join(data, 'test_jpeg.bin'));
// Test images of every class (the server sees normal and anomalous parts alike).
const jpegs = test.filter((_, i) => i % 5 === 0).map((r) => r.item.image);
const images = values.raw
  ? await Promise.all(
      jpegs.map(async (jpeg) => {
        const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
        return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
      }),
    )
  : jpegs;

const modelFile = values.model ?? path.join(outDir, `serve-cifar10-airplane-${values.detector}-${fitImages}.oneclass`);
if (!existsSync(modelFile)) {
  const t = performance.now();
  const fitted = await Detector.fit({
    encoder: path.join(root, 'models', 'cifar10-airplane-rotation.onnx'),
    images: train
      .filter((r) => r.classIndex === 0)
      .slice(0, fitImages)
      .map((r) => r.item),
    detector: { kind: values.detector },
    // One forward pass per image, as in the runs recorded before test-time views existed.
    views: 'none',
  });
  await fitted.save(modelFile);
  await fitted.release();
  console.log(`fitted ${modelFile} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const compute = threads === undefined ? {} : { threads };
// --encoder-batch: images per ONNX Runtime call. onnxruntime-node 1.30 runs inference on the JS
// thread, so one call blocks the event loop (and with it the other stages) for its whole duration.
const encoderBatch = values['encoder-batch'] === undefined ? undefined : Number(values['encoder-batch']);
const det = await Detector.load(modelFile, {
  device: 'cpu',
  ...compute,
  encoderOptions: {
    device: 'cpu',
    ...compute,
    ...(encoderBatch ? { batchSize: encoderBatch } : {}),
    ...(values.workers ? { workers: Number(values.workers) } : {}),
  },
});
const batcher = new Batcher(det, { maxBatch, maxDelayMs, pipelineDepth, maxQueue: Math.max(callers, 8 * maxBatch) });

// Warm-up of both paths (ONNX Runtime allocates its arenas on the first runs of each size).
await det.score(images.slice(0, maxBatch));
await det.score(images.slice(0, 1));
await batcher.score(images.slice(0, maxBatch));

const fullBatch = [];
for (let i = 0; i < 9; i++) {
  const t = performance.now();
  await batcher.score(images.slice(i * maxBatch, (i + 1) * maxBatch));
  fullBatch.push(performance.now() - t);
}
fullBatch.sort((a, b) => a - b);
const fullBatchMs = fullBatch[4];

const windowMs = Number(values['window-ms']);
const load = { images, concurrency: callers, windowMs, warmupMs: 1000, maxWindows: 6 };
/**
 * measureLoad, plus this process's CPU time per scored image over the whole call: every thread
 * that scores (libuv's, ONNX Runtime's, the detectors') is in this process, so it is the cost of
 * an image whatever else the machine runs, a steadier figure than images/s on a shared machine.
 */
async function measured(score) {
  let completed = 0;
  const cpu = process.cpuUsage();
  const report = await measureLoad(async (img) => {
    const r = await score(img);
    completed++;
    return r;
  }, load);
  const used = process.cpuUsage(cpu);
  return { ...report, cpuMsPerImage: (used.user + used.system) / 1000 / completed };
}
const direct = [];
const batched = [];
for (let r = 0; r < Number(values.rounds); r++) {
  direct.push(await measured((img) => det.score([img]).then(() => undefined)));
  batched.push(await measured(async (img) => (await batcher.score([img])).timings));
  const d = direct.at(-1);
  const b = batched.at(-1);
  console.log(
    `round ${r + 1}: direct ${d.imagesPerSecond.toFixed(0)} img/s (p99 ${d.latency.p99Ms.toFixed(1)} ms, ${d.cpuMsPerImage.toFixed(2)} CPU ms/image), ` +
      `batched ${b.imagesPerSecond.toFixed(0)} img/s (p99 ${b.latency.p99Ms.toFixed(1)} ms, ${b.cpuMsPerImage.toFixed(2)} CPU ms/image)`,
  );
}
await batcher.close();
await det.release();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const directIps = median(direct.map((d) => d.imagesPerSecond));
const batchedIps = median(batched.map((d) => d.imagesPerSecond));
const batchedP99 = median(batched.map((d) => d.latency.p99Ms));
const bound = 2 * maxDelayMs + fullBatchMs;
const result = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg() },
  config: {
    callers,
    raw: values.raw,
    maxBatch,
    maxDelayMs,
    pipelineDepth,
    detector: values.detector,
    fitImages,
    threads,
    encoderBatch,
    modelFile,
  },
  fullBatchMs,
  direct: { imagesPerSecond: directIps, p99Ms: median(direct.map((d) => d.latency.p99Ms)), rounds: direct },
  batched: { imagesPerSecond: batchedIps, p99Ms: batchedP99, rounds: batched },
  speedup: batchedIps / directIps,
  cpuMsPerImage: {
    direct: median(direct.map((d) => d.cpuMsPerImage)),
    batched: median(batched.map((d) => d.cpuMsPerImage)),
  },
  latencyBoundMs: bound,
  meetsThroughput: batchedIps / directIps >= 3,
  meetsLatency: batchedP99 <= bound,
};
writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
const stages = batched.at(-1).stages;
console.log(
  [
    '',
    `${callers} callers, one ${values.raw ? 'decoded (raw) image' : 'JPEG'} each; maxBatch ${maxBatch}, maxDelayMs ${maxDelayMs}, ${path.basename(modelFile)}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    `                     images/s    p50 ms    p99 ms`,
    `direct (1 per call)  ${directIps.toFixed(0).padStart(8)}  ${median(direct.map((d) => d.latency.p50Ms))
      .toFixed(1)
      .padStart(8)}  ${result.direct.p99Ms.toFixed(1).padStart(8)}`,
    `batched              ${batchedIps.toFixed(0).padStart(8)}  ${median(batched.map((d) => d.latency.p50Ms))
      .toFixed(1)
      .padStart(8)}  ${batchedP99.toFixed(1).padStart(8)}`,
    `speedup ${result.speedup.toFixed(2)}x (criterion >= 3x: ${result.meetsThroughput ? 'met' : 'NOT met'})`,
    `CPU time per image: direct ${result.cpuMsPerImage.direct.toFixed(2)} ms, batched ${result.cpuMsPerImage.batched.toFixed(2)} ms (${(result.cpuMsPerImage.direct / result.cpuMsPerImage.batched).toFixed(2)}x)`,
    `full batch of ${maxBatch}: ${fullBatchMs.toFixed(1)} ms; p99 ${batchedP99.toFixed(1)} ms vs bound 2 x ${maxDelayMs} + ${fullBatchMs.toFixed(1)} = ${bound.toFixed(1)} ms (${result.meetsLatency ? 'met' : 'NOT met'})`,
    `batched, mean per request: queue ${stages.queueMs?.toFixed(1)} ms, decode ${stages.decodeMs?.toFixed(1)}, encode ${stages.encodeMs?.toFixed(1)}, detect ${stages.detectMs?.toFixed(1)}`,
    `wrote ${values.out}`,
  ].join('\n'),
);
