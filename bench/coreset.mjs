// Greedy k-center coreset selection (issue 12): oneclass's kCenterGreedy against numpy k-center
// greedy loops (bench/coreset_reference.py: the PatchCore loop, one vectorized distance update and
// an argmax per step) on the same rows, in one run. Only numpy variants that select the same rows
// count for the speed goal (>= 10x); the float32 one is shown for completeness.
//
// Rows: PatchCore-style patch features of the magnetic-tile training images from the shipped
// encoder (bench/patch_features.py: 32 x 32 positions x 96 dims per image at 256 px; 752 images
// give 770,048 rows), or Gaussian rows with --synthetic.
//
//   npm run build:ts && node bench/coreset.mjs [--images 752] [--ratio 0.01] [--projection none|N]
//        [--seed 0] [--max-seconds 120] [--variants difference_f64,gemv_f64,gemv_f32]
//        [--features FILE.f32 (reuse)] [--synthetic ROWSxCOLS]
//
// numpy runs with OPENBLAS_CORETYPE=SkylakeX on AVX-512 machines, Haswell on AVX2-only ones unless
// BENCH_CORETYPE is set.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { backendInfo, kCenterGreedy } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '752' },
    ratio: { type: 'string', default: '0.01' },
    projection: { type: 'string', default: 'none' },
    seed: { type: 'string', default: '0' },
    'max-seconds': { type: 'string', default: '120' },
    features: { type: 'string' },
    synthetic: { type: 'string' },
    device: { type: 'string', default: 'cpu' },
    variants: { type: 'string', default: 'difference_f64,gemv_f64,gemv_f32' },
  },
});
const tmp = mkdtempSync(join(tmpdir(), 'oneclass-coreset-'));
const python = (args, env = process.env) => {
  const r = spawnSync('/usr/bin/python3', args, { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    console.error(`${args[0]} failed (${r.signal ?? `exit ${r.status}`}):\n${r.stderr}`);
    process.exit(1);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
};

let file, rows, cols, source;
if (values.synthetic) {
  [rows, cols] = values.synthetic.split('x').map(Number);
  let s = 12345;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  file = join(tmp, 'rows.f32');
  writeFileSync(file, data);
  source = `Gaussian rows ${rows} x ${cols}`;
} else {
  cols = 96;
  if (values.features && existsSync(values.features)) {
    file = values.features;
  } else {
    file = values.features ?? join(tmp, 'features.f32');
    python([join(root, 'bench', 'patch_features.py'), file, '--images', values.images]);
  }
  rows = statSync(file).size / 4 / cols;
  source = `patch features of ${rows / 1024} magnetic-tile images (shipped encoder, stages 2+3, 96-d)`;
}
const data = new Float32Array(readFileSync(file).buffer.slice(0));
const x = { data, rows, cols };
const ratio = Number(values.ratio);
const projection = values.projection === 'none' ? 'none' : Number(values.projection);
const seed = Number(values.seed);

// Wall time, and CPU time of every thread (a busy machine stretches the first, hardly the second).
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const ours = await kCenterGreedy(x, { ratio, projection, seed, device: values.device });
const oursSeconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const oursCpuSeconds = (cpu.user + cpu.system) / 1e6;
const count = ours.indices.length;
writeFileSync(join(tmp, 'ours.i32'), ours.indices);

const avx512 = / avx512f( |$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
const env = { ...process.env, OPENBLAS_CORETYPE: process.env.BENCH_CORETYPE ?? (avx512 ? 'SkylakeX' : 'Haswell') };
const ref = python(
  [
    join(root, 'bench', 'coreset_reference.py'),
    JSON.stringify({
      rows,
      cols,
      count,
      start: 0,
      projection: ours.projection,
      seed,
      data: file,
      ours: join(tmp, 'ours.i32'),
      variants: values.variants.split(','),
      max_steps: count,
      max_seconds: Number(values['max-seconds']),
      dir: tmp,
    }),
  ],
  env,
);
rmSync(tmp, { recursive: true, force: true });

const info = backendInfo();
console.log(
  `k-center coreset: ${source}; ${rows} x ${cols} rows, ${count} selected (ratio ${ratio}), projection ${ours.projection || 'none'}; ` +
    `${info.cpu.threads} threads, ${info.cpu.simd}; numpy BLAS: ${JSON.stringify(ref.blas)}`,
);
console.log(
  `oneclass kCenterGreedy (${ours.backend}): ${oursSeconds.toFixed(2)} s (CPU ${oursCpuSeconds.toFixed(2)} s); ${ours.distanceEvaluations} row distances ` +
    `(${((100 * ours.distanceEvaluations) / (rows * count)).toFixed(2)}% of the plain loop's); covering radius ${ours.coveringRadius.toPrecision(6)}`,
);
console.log(
  'numpy variant | steps run | seconds for all steps | same rows selected | ratio (numpy / ours) | counts for >= 10x',
);
for (const [name, v] of Object.entries(ref.variants)) {
  const same = v.same_output ? 'yes' : `no (from step ${v.first_difference_step})`;
  console.log(
    `${name} | ${v.steps} of ${count} | ${v.seconds_for_count.toFixed(1)} (${v.cpu_seconds_for_count.toFixed(1)})` +
      `${v.extrapolated ? ', extrapolated' : ''} | ${same}${v.extrapolated && v.same_output ? ' (in the steps run)' : ''} | ` +
      `${(v.seconds_for_count / oursSeconds).toFixed(1)}x (${(v.cpu_seconds_for_count / oursCpuSeconds).toFixed(1)}x) | ` +
      `${v.same_output ? 'yes' : 'no'}`,
  );
}
console.log(
  JSON.stringify(
    { rows, cols, count, projection: ours.projection, seed, ours_s: oursSeconds, ours, numpy: ref },
    (k, v) => (k === 'indices' ? undefined : v),
  ),
);
