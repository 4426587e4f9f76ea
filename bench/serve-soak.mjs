#!/usr/bin/env node
/**
 * Memory of `oneclass serve` under a long overload (issue 14: memory bounded under a 60-second
 * load): the real executable on loopback, flooded with single-image requests at several times
 * what it can score (open loop, --rate per second) for --seconds, with the resident memory of the
 * server process sampled every 250 ms. A bounded queue answers the excess 429 at once; an
 * unbounded one would hold every body and its decoded pixels. The test suite runs a 6-second
 * version (test/serve-process.test.ts).
 *
 *   npm run build:ts && node bench/serve-soak.mjs [--seconds 60] [--rate 300] [--max-queue 32]
 *
 * Prints RSS per 10-second window and the status counts; writes bench/out/serve-soak.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Detector } from '../dist/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '300' },
    'max-queue': { type: 'string', default: '32' },
    out: { type: 'string', default: path.join(root, 'bench', 'out', 'serve-soak.json') },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
mkdirSync(path.join(root, 'bench', 'out'), { recursive: true });

const examples = path.join(root, 'examples', 'magnetic_tile');
const jpgs = (sub) =>
  readdirSync(path.join(examples, sub))
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => path.join(examples, sub, f));
const dir = mkdtempSync(path.join(os.tmpdir(), 'oneclass-soak-'));
const modelFile = path.join(dir, 'tile.oneclass');
const det = await Detector.fit({
  encoder: path.join(root, 'models', 'magnetic-tile-cutpaste3way.onnx'),
  images: jpgs('train/good'),
  detector: { kind: 'knn' },
});
await det.save(modelFile);
await det.release();
const bodies = ['test/good', 'test/crack', 'test/uneven', 'test/blowhole', 'test/fray', 'test/break']
  .flatMap(jpgs)
  .map((f) => readFileSync(f));

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn(
  process.execPath,
  [
    path.join(root, 'dist', 'cli', 'main.js'),
    'serve',
    '--model',
    modelFile,
    '--port',
    String(port),
    '--max-batch',
    '8',
    '--max-queue',
    values['max-queue'],
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const url = `http://127.0.0.1:${port}`;
for (;;) {
  const ok = await fetch(url + '/healthz').then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  await new Promise((r) => setTimeout(r, 100));
}
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) * 1024;

const statuses = {};
let failures = 0;
let sent = 0;
let skipped = 0;
const samples = [];
const t0 = Date.now();
const sampler = setInterval(() => samples.push({ s: (Date.now() - t0) / 1000, rss: rss() }), 250);
const pending = new Set();
const start = performance.now();
let due = 0;
while ((Date.now() - t0) / 1000 < seconds) {
  const target = Math.floor(((performance.now() - start) * rate) / 1000);
  for (; due < target; due++) {
    // The client itself stays bounded: beyond this many unanswered requests, sends are skipped.
    if (pending.size >= 1000) {
      skipped++;
      continue;
    }
    const body = bodies[sent++ % bodies.length];
    const p = fetch(url + '/v1/score', { method: 'POST', body, headers: { 'content-type': 'image/jpeg' } }).then(
      async (r) => {
        await r.arrayBuffer();
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      },
      () => void failures++,
    );
    pending.add(p);
    void p.then(() => pending.delete(p));
  }
  await new Promise((r) => setTimeout(r, 2));
}
await Promise.all(pending);
clearInterval(sampler);
server.kill('SIGTERM');
const exitCode = await new Promise((r) => server.once('exit', r));

const windows = [];
for (let w = 0; w < Math.ceil(seconds / 10); w++) {
  const inWindow = samples.filter((x) => x.s >= w * 10 && x.s < (w + 1) * 10).map((x) => x.rss);
  if (inWindow.length) windows.push({ from: w * 10, maxRssMiB: Math.max(...inWindow) / 2 ** 20 });
}
const result = {
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, loadavg: os.loadavg() },
  config: { seconds, rate, maxQueue: Number(values['max-queue']), maxBatch: 8 },
  sent,
  skippedByClient: skipped,
  statuses,
  failures,
  windows,
  firstWindowMaxRssMiB: windows[0]?.maxRssMiB,
  lastWindowMaxRssMiB: windows.at(-1)?.maxRssMiB,
  exitCode,
};
writeFileSync(values.out, JSON.stringify(result, null, 2) + '\n');
console.log(
  [
    `${seconds} s at ${rate} requests/s (${sent} sent, ${skipped} not sent: 1000 unanswered): ${Object.entries(statuses)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}, ${failures} connection failures; drain exit code ${exitCode}`,
    'window   max RSS MiB',
    ...windows.map((w) => `${String(w.from).padStart(4)} s   ${w.maxRssMiB.toFixed(1)}`),
    `wrote ${values.out}`,
  ].join('\n'),
);
