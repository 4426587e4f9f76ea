#!/usr/bin/env node
// Stage-2 benchmark: oneclass (CPU backend, and CUDA when usable) against scikit-learn, numpy
// and scipy on the same data in the same run. Prints ratios and writes bench/results/*.json.
//
//   npm run build:ts && node bench/stage2.mjs [--n 10000] [--m 5000] [--d 512] [--maps 1000]
//        [--results DIR]   (default bench/results)
//
// numpy runs with OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines, Haswell on AVX2-only ones (the
// fastest OpenBLAS kernel that runs there; Debian's OpenBLAS otherwise picks a slow one, and
// SkylakeX dies with SIGILL without AVX-512) unless BENCH_CORETYPE is set.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backendInfo, GaussianDensity, KernelDensity, NearestNeighbors, upsampleHeatmaps } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    m: { type: 'string', default: '5000' },
    d: { type: 'string', default: '512' },
    maps: { type: 'string', default: '1000' },
    'sklearn-kde-queries': { type: 'string', default: '500' },
    results: { type: 'string', default: join(root, 'bench', 'results') },
  },
});
const n = Number(values.n),
  m = Number(values.m),
  d = Number(values.d),
  maps = Number(values.maps);
const GRID = 57,
  OUT = 256;

function gaussian(count, seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return a;
}

async function best(reps, fn) {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, (performance.now() - t0) / 1000);
  }
  return t;
}

const train = { data: gaussian(m * d, 1), rows: m, cols: d };
const test = { data: gaussian(n * d, 2), rows: n, cols: d };
const grids = { data: gaussian(maps * GRID * GRID, 3), batch: maps, height: GRID, width: GRID };
const bandwidth = Math.sqrt(d) * 0.5;

const tmp = mkdtempSync(join(tmpdir(), 'oneclass-bench-'));
writeFileSync(join(tmp, 'train.f32'), train.data);
writeFileSync(join(tmp, 'test.f32'), test.data);
writeFileSync(join(tmp, 'grids.f32'), grids.data);

const info = backendInfo();
const devices = info.cuda.usable ? ['cpu', 'cuda'] : ['cpu'];
const ours = {};
const peakRss = { start: process.memoryUsage().rss };
for (const device of devices) {
  const r = (ours[device] = {});
  const kde = await KernelDensity.fit(train, { bandwidth, device });
  r.kde_s = await best(3, () => kde.scoreSamples(test));
  const nn = await NearestNeighbors.fit(train, { device });
  r.knn1_s = await best(3, () => nn.scoreSamples(test, 1));
  r.gde_fit_s = await best(2, () => GaussianDensity.fit(test, { device }));
  const gde = await GaussianDensity.fit(test, { device });
  r.gde_score_s = await best(3, () => gde.scoreSamples(test));
  r.heatmaps_s = await best(3, () => upsampleHeatmaps(grids, { height: OUT, width: OUT, sigma: 4, device }));
  // The same into a reused output array: no allocation and no first-touch page faults. Shared
  // memory, which the addon writes in place (an ArrayBuffer's values would be copied in when the
  // call settles).
  const out = new Float32Array(new SharedArrayBuffer(maps * OUT * OUT * 4));
  r.heatmaps_reused_out_s = await best(3, () =>
    upsampleHeatmaps(grids, { height: OUT, width: OUT, sigma: 4, device, out }),
  );
}
peakRss.afterOurs = process.memoryUsage().rss;

function hasAvx512() {
  try {
    return / avx512f( |$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}
const env = { ...process.env, OPENBLAS_CORETYPE: process.env.BENCH_CORETYPE ?? (hasAvx512() ? 'SkylakeX' : 'Haswell') };
delete env.OPENBLAS_L2_SIZE;
const cfg = {
  n,
  m,
  d,
  bandwidth,
  maps,
  grid: GRID,
  out: OUT,
  train: join(tmp, 'train.f32'),
  test: join(tmp, 'test.f32'),
  grids: join(tmp, 'grids.f32'),
  sklearn_kde_queries: Number(values['sklearn-kde-queries']),
};
const py = spawnSync('/usr/bin/python3', [join(root, 'bench', 'stage2_reference.py'), JSON.stringify(cfg)], {
  env,
  encoding: 'utf8',
});
if (py.status !== 0) {
  console.error(`bench/stage2_reference.py failed (${py.signal ?? `exit ${py.status}`}):\n${py.stderr}`);
  process.exit(1);
}
const ref = JSON.parse(py.stdout.trim().split('\n').pop());

const flops = 2 * n * m * d;
const cpu = ours.cpu;
const rows = [
  ['KDE score (N x M x D)', cpu.kde_s, 'sklearn KernelDensity', ref.sklearn_kde_s, 50],
  ['KDE score', cpu.kde_s, 'numpy float32 GEMM alone', ref.numpy_gemm_s, 0.7],
  ['KDE score', cpu.kde_s, 'numpy GEMM + logsumexp', ref.numpy_kde_s, null],
  ['1-NN score', cpu.knn1_s, 'numpy float32 GEMM alone', ref.numpy_gemm_s, 0.7],
  ['1-NN score', cpu.knn1_s, 'numpy GEMM + min', ref.numpy_knn1_s, null],
  ['Gaussian fit (N x D)', cpu.gde_fit_s, 'sklearn LedoitWolf.fit', ref.sklearn_ledoitwolf_fit_s, 1],
  ['Gaussian score (N x D)', cpu.gde_score_s, 'numpy float32 whitening', ref.numpy_gde_score_s, 1],
  ['Gaussian score', cpu.gde_score_s, 'sklearn mahalanobis', ref.sklearn_mahalanobis_s, null],
  [`Heatmaps ${maps} x ${GRID}->${OUT}`, cpu.heatmaps_s, 'scipy zoom + gaussian_filter', ref.scipy_heatmaps_s, 20],
  [
    `Heatmaps, reused output array`,
    cpu.heatmaps_reused_out_s,
    'scipy zoom + gaussian_filter',
    ref.scipy_heatmaps_s,
    20,
  ],
];
console.log(
  `oneclass stage-2 benchmark: N=${n} M=${m} D=${d}, ${info.cpu.threads} threads, ${info.cpu.simd}; numpy BLAS: ${JSON.stringify(ref.blas)}`,
);
console.log('op | ours (s) | reference | ref (s) | speed ratio (ref/ours) | goal');
for (const [op, a, name, b, goal] of rows) {
  const ratio = b / a;
  console.log(
    `${op} | ${a.toFixed(4)} | ${name} | ${b.toFixed(4)} | ${ratio.toFixed(2)}x | ${goal === null ? '-' : `>= ${goal}x ${ratio >= goal ? 'met' : 'NOT met'}`}`,
  );
}
console.log(
  `KDE: ${(flops / cpu.kde_s / 1e9).toFixed(1)} GFLOP/s; 1-NN: ${(flops / cpu.knn1_s / 1e9).toFixed(1)} GFLOP/s; numpy GEMM: ${(flops / ref.numpy_gemm_s / 1e9).toFixed(1)} GFLOP/s`,
);
console.log(`sklearn KernelDensity timed on ${ref.sklearn_kde_measured_queries} of ${n} queries and scaled linearly`);
console.log(
  `RSS: start ${(peakRss.start / 2 ** 20).toFixed(0)} MiB, after our runs ${(peakRss.afterOurs / 2 ** 20).toFixed(0)} MiB (an N x M float64 matrix would be ${((n * m * 8) / 2 ** 20).toFixed(0)} MiB)`,
);
if (ours.cuda) console.log('CUDA:', JSON.stringify(ours.cuda));
mkdirSync(values.results, { recursive: true });
const file = join(values.results, `stage2-${new Date().toISOString().slice(0, 10)}.json`);
writeFileSync(
  file,
  JSON.stringify(
    { date: new Date().toISOString(), n, m, d, maps, backendInfo: info, ours, reference: ref, rss: peakRss },
    null,
    2,
  ),
);
console.log(`wrote ${file}`);
