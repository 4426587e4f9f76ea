#!/usr/bin/env node
/**
 * End-to-end scoring throughput (images/s, CPU) of the Node pipeline (sharp decode + ONNX Runtime
 * encoder + native KDE) against the same pipeline in Python (Pillow + PyTorch + scikit-learn,
 * bench/pipeline_torch.py), on the same images, in the same run.
 *
 *   npm run build:ts && node bench/pipeline.mjs [--train 200] [--test 300] [--repeat 3] [--threads 2]
 *
 * Images: magnetic-tile train/good and test/* from ../shared/data (or the bundled examples/ when
 * absent). Encoder: models/magnetic-tile-cutpaste3way.onnx (and its PyTorch checkpoint for Python).
 * Both sides fit a Gaussian KDE (bandwidth rule 'droc') on L2-normalized pooled embeddings of the
 * same training images; the Node side holds 20 % out for its threshold and then refits on all.
 * Prints both throughputs, their ratio, and how closely the two sides' scores agree.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { Detector } = await import(join(ROOT, 'dist/pipeline/detector.js'));
const { Encoder } = await import(join(ROOT, 'dist/encoder/index.js'));

const { values } = parseArgs({
  options: {
    train: { type: 'string', default: '200' },
    test: { type: 'string', default: '300' },
    repeat: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    'batch-size': { type: 'string', default: '32' },
  },
});
const shared = resolve(ROOT, '..', 'shared', 'data', 'magnetic_tile');
const base = existsSync(shared) ? shared : join(ROOT, 'examples', 'magnetic_tile');
const list = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => join(dir, f));
const train = list(join(base, 'train', 'good')).slice(0, Number(values.train));
const test = readdirSync(join(base, 'test'))
  .sort()
  .flatMap((d) => list(join(base, 'test', d)))
  .slice(0, Number(values.test));
const threads = Number(values.threads);
const batchSize = Number(values['batch-size']);
const repeat = Number(values.repeat);
const name = 'magnetic-tile-cutpaste3way';

const encoder = await Encoder.load(join(ROOT, 'models', `${name}.onnx`), { device: 'cpu', threads, batchSize });
let t = performance.now();
const det = await Detector.fit({ encoder, images: train, detector: { kind: 'kde' }, threads });
const nodeFit = (performance.now() - t) / 1000;
await det.score(test.slice(0, batchSize), { batchSize }); // warm-up
let best = Infinity;
let nodeScores;
for (let r = 0; r < repeat; r++) {
  t = performance.now();
  nodeScores = (await det.score(test, { batchSize })).items.map((i) => i.raw);
  best = Math.min(best, (performance.now() - t) / 1000);
}
const node = { imagesPerSecond: test.length / best, fitSeconds: nodeFit };

const py = spawnSync('/usr/bin/python3', [join(ROOT, 'bench', 'pipeline_torch.py')], {
  input: JSON.stringify({ model: name, train, test, threads, repeat, batchSize }),
  encoding: 'utf8',
  maxBuffer: 64 << 20,
});
let python = null;
if (py.status === 0) python = JSON.parse(py.stdout);
else console.error(`python side failed (${py.status}): ${py.stderr.slice(-2000)}`);

function ranks(a) {
  const order = a.map((v, i) => [v, i]).sort((x, y) => x[0] - y[0]);
  const r = new Array(a.length);
  order.forEach(([, i], k) => (r[i] = k));
  return r;
}
function pearson(a, b) {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let num = 0,
    da = 0,
    db = 0;
  for (let i = 0; i < n; i++) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) ** 2;
    db += (b[i] - mb) ** 2;
  }
  return num / Math.sqrt(da * db);
}

const report = {
  images: { train: train.length, test: test.length, source: base },
  threads,
  batchSize,
  node,
  python: python && {
    imagesPerSecond: python.imagesPerSecond,
    fitSeconds: python.fitSeconds,
    torch: python.torch,
    threads: python.threads,
  },
  speedup: python ? node.imagesPerSecond / python.imagesPerSecond : null,
  // Same images, same encoder weights, same detector definition: the scores should agree closely
  // (Node's KDE is fitted on the same images after its calibration hold-out and refit).
  scoreAgreement: python
    ? { spearman: pearson(ranks(nodeScores), ranks(python.scores)), pearson: pearson(nodeScores, python.scores) }
    : null,
};
console.log(JSON.stringify(report, null, 2));
console.log(
  `\nend-to-end scoring: Node ${node.imagesPerSecond.toFixed(1)} images/s` +
    (python
      ? `, Python (PyTorch + scikit-learn) ${python.imagesPerSecond.toFixed(1)} images/s, ratio ${report.speedup.toFixed(2)}x`
      : ''),
);
await encoder.release();
