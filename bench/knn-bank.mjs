// k-NN against a large memory bank (issue 12): a bank of 100,000 x 384, the 1,024 x 384 patch
// features of one image's grid as queries, k = 1 (PatchCore's scoring), against numpy's SGEMM of
// the same shapes (queries @ bank.T) on the same data. Rounds alternate between the two so a busy
// machine slows both alike; each side reports its best time.
//
//   npm run build:ts && node bench/knn-bank.mjs [--m 100000] [--n 1024] [--d 384] [--rounds 3] [--reps 3]
//
// numpy runs with OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines, Haswell on AVX2-only ones (the
// fastest OpenBLAS kernel that runs there; SkylakeX dies with SIGILL without AVX-512) unless
// BENCH_CORETYPE is set; the JSON line says which kernel numpy ran.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backendInfo, NearestNeighbors } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    m: { type: 'string', default: '100000' },
    n: { type: 'string', default: '1024' },
    d: { type: 'string', default: '384' },
    rounds: { type: 'string', default: '3' },
    reps: { type: 'string', default: '3' },
  },
});
const [m, n, d, rounds, reps] = ['m', 'n', 'd', 'rounds', 'reps'].map((k) => Number(values[k]));

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

const bank = { data: gaussian(m * d, 1), rows: m, cols: d };
const queries = { data: gaussian(n * d, 2), rows: n, cols: d };
const tmp = mkdtempSync(join(tmpdir(), 'oneclass-knn-bank-'));
writeFileSync(join(tmp, 'bank.f32'), bank.data);
writeFileSync(join(tmp, 'queries.f32'), queries.data);

const avx512 = / avx512f( |$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
const env = { ...process.env, OPENBLAS_CORETYPE: process.env.BENCH_CORETYPE ?? (avx512 ? 'SkylakeX' : 'Haswell') };
const cfg = { m, n, d, reps, bank: join(tmp, 'bank.f32'), queries: join(tmp, 'queries.f32') };

const info = backendInfo();
const nn = await NearestNeighbors.fit(bank, { device: 'cpu' });
await nn.kneighbors(queries, 1); // warm-up: first-touch of the packed bank
let ours = Infinity;
let sgemm = Infinity;
let preallocated = Infinity;
let blas;
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await nn.kneighbors(queries, 1);
    ours = Math.min(ours, (performance.now() - t0) / 1000);
  }
  const py = spawnSync('/usr/bin/python3', [join(root, 'bench', 'knn_bank_reference.py'), JSON.stringify(cfg)], {
    env,
    encoding: 'utf8',
  });
  if (py.status !== 0) {
    console.error(`bench/knn_bank_reference.py failed (${py.signal ?? `exit ${py.status}`}):\n${py.stderr}`);
    process.exit(1);
  }
  const ref = JSON.parse(py.stdout.trim().split('\n').pop());
  sgemm = Math.min(sgemm, ref.sgemm_s);
  preallocated = Math.min(preallocated, ref.sgemm_preallocated_s);
  blas = ref.blas;
}
rmSync(tmp, { recursive: true, force: true });
const flops = 2 * m * n * d;
console.log(
  `k-NN (k = 1) of ${n} x ${d} queries against a ${m} x ${d} bank; ${info.cpu.threads} threads, ${info.cpu.simd}; ` +
    `numpy BLAS: ${JSON.stringify(blas)}`,
);
console.log('what | best (s) | GFLOP/s | ours vs it (>= 0.7x wanted)');
console.log(`oneclass NearestNeighbors.kneighbors | ${ours.toFixed(4)} | ${(flops / ours / 1e9).toFixed(1)} | -`);
console.log(
  `numpy q @ bank.T | ${sgemm.toFixed(4)} | ${(flops / sgemm / 1e9).toFixed(1)} | ${(sgemm / ours).toFixed(2)}x`,
);
console.log(
  `numpy matmul into a preallocated output | ${preallocated.toFixed(4)} | ${(flops / preallocated / 1e9).toFixed(1)} | ${(preallocated / ours).toFixed(2)}x`,
);
console.log(
  JSON.stringify({
    m,
    n,
    d,
    rounds,
    reps,
    ours_s: ours,
    numpy_sgemm_s: sgemm,
    numpy_sgemm_preallocated_s: preallocated,
    blas,
  }),
);
