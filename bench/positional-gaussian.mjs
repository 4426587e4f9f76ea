// Per-position Gaussian (PaDiM) fit and scoring: oneclass's PositionalGaussian against PaDiM's numpy
// procedure (bench/positional_gaussian_reference.py) on the same features, in one run. The scores'
// agreement is reported as the largest ratio to the tolerance of test/tolerances.ts (<= 1: within).
//
//   npm run build:ts && node bench/positional-gaussian.mjs [--images 200] [--queries 100]
//        [--positions 1024] [--dim 100]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backendInfo, PositionalGaussian } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    queries: { type: 'string', default: '100' },
    positions: { type: 'string', default: '1024' },
    dim: { type: 'string', default: '100' },
    device: { type: 'string', default: 'cpu' },
  },
});
const [images, queries, positions, dim] = ['images', 'queries', 'positions', 'dim'].map((k) => Number(values[k]));

// Correlated features with a mean and a mixing of their own per position.
function features(count, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const g = () => Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  const data = new Float32Array(count * positions * dim);
  const z = new Float64Array(dim);
  for (let i = 0; i < count; i++)
    for (let p = 0; p < positions; p++) {
      for (let k = 0; k < dim; k++) z[k] = g();
      for (let k = 0; k < dim; k++) {
        const prev = k > 0 ? z[k - 1] : 0;
        data[(i * positions + p) * dim + k] = 0.01 * p + z[k] + 0.5 * prev;
      }
    }
  return { data, images: count, positions, dim };
}

const train = features(images, 1);
const test = features(queries, 2);
const tmp = mkdtempSync(join(tmpdir(), 'oneclass-padim-'));
writeFileSync(join(tmp, 'train.f32'), train.data);
writeFileSync(join(tmp, 'test.f32'), test.data);

let t0 = performance.now();
const model = await PositionalGaussian.fit(train, { device: values.device });
const fitSeconds = (performance.now() - t0) / 1000;
t0 = performance.now();
const scores = await model.mahalanobis(test);
const scoreSeconds = (performance.now() - t0) / 1000;
writeFileSync(join(tmp, 'ours.f64'), scores);

const avx512 = / avx512f( |$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
const env = { ...process.env, OPENBLAS_CORETYPE: process.env.BENCH_CORETYPE ?? (avx512 ? 'SkylakeX' : 'Haswell') };
const cfg = {
  images,
  queries,
  positions,
  dim,
  regularization: 0.01,
  train: join(tmp, 'train.f32'),
  test: join(tmp, 'test.f32'),
  ours: join(tmp, 'ours.f64'),
};
const py = spawnSync(
  '/usr/bin/python3',
  [join(root, 'bench', 'positional_gaussian_reference.py'), JSON.stringify(cfg)],
  {
    env,
    encoding: 'utf8',
  },
);
rmSync(tmp, { recursive: true, force: true });
if (py.status !== 0) {
  console.error(`bench/positional_gaussian_reference.py failed (${py.signal ?? `exit ${py.status}`}):\n${py.stderr}`);
  process.exit(1);
}
const ref = JSON.parse(py.stdout.trim().split('\n').pop());
const info = backendInfo();
console.log(
  `PaDiM: ${images} training images, ${queries} scored, ${positions} positions x ${dim} dims; ${info.cpu.threads} threads, ${info.cpu.simd}`,
);
console.log('step | oneclass (s) | numpy PaDiM (s) | ratio');
console.log(`fit | ${fitSeconds.toFixed(3)} | ${ref.fit_s.toFixed(3)} | ${(ref.fit_s / fitSeconds).toFixed(1)}x`);
console.log(
  `score | ${scoreSeconds.toFixed(3)} | ${ref.score_s.toFixed(3)} | ${(ref.score_s / scoreSeconds).toFixed(1)}x`,
);
console.log(`scores vs numpy: largest tolerance ratio ${ref.max_tolerance_ratio.toPrecision(3)} (<= 1: within)`);
