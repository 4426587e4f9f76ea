#!/usr/bin/env node
/**
 * Speed of the CPU levels against a build for one machine: the stage-2 operations (KDE, 1-NN,
 * Gaussian fit and scoring, heatmaps, OC-SVM fit and decision function) through two or more
 * addon files loaded into one process, alternating round by round so that every build sees the
 * same machine load; medians per operation and their ratios to the first build, and numpy's
 * float32 GEMM of the KDE's shapes in the same run (issue 18's "AVX2 path against numpy SGEMM").
 *
 *   # today's -march=native build, beside this checkout:
 *   npx cmake-js compile --out build-march-native --CDONECLASS_NATIVE_ARCH=ON
 *   npx cmake-js compile --out build            # the default build: CPU levels, chosen at load
 *   node bench/cpu-dispatch.mjs --build native=build-march-native/Release/oneclass.node \
 *     --build dispatch=build/Release/oneclass.node --build baseline=build/Release/oneclass.node@baseline
 *
 * `path@level` loads a private copy of the file with ONECLASS_CPU_LEVEL=level (each copy of an
 * addon chooses its level once, when first called). Options: --rounds 7, --n 10000 --m 5000
 * --d 512 --maps 1000, --ocsvm-m 5000, --no-numpy, --threads N (0: all). Besides wall time it
 * reports the process's CPU time per call (user + system): on a shared machine, where other jobs
 * take the cores away for a while, CPU time at --threads 1 is the steadier figure. numpy runs with OPENBLAS_CORETYPE=SkylakeX on
 * AVX-512 machines, Haswell otherwise (BENCH_CORETYPE overrides), as in bench/stage2.mjs.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    build: { type: 'string', multiple: true },
    rounds: { type: 'string', default: '7' },
    n: { type: 'string', default: '10000' },
    m: { type: 'string', default: '5000' },
    d: { type: 'string', default: '512' },
    maps: { type: 'string', default: '1000' },
    'ocsvm-m': { type: 'string', default: '5000' },
    'no-numpy': { type: 'boolean', default: false },
    threads: { type: 'string', default: '0' },
  },
});
if (!values.build || values.build.length < 1) throw new Error('--build name=path[@level] (one or more) is required');
const n = Number(values.n),
  m = Number(values.m),
  d = Number(values.d),
  maps = Number(values.maps),
  ocsvmM = Number(values['ocsvm-m']),
  rounds = Number(values.rounds),
  threads = Number(values.threads);

const tmp = mkdtempSync(join(tmpdir(), 'oneclass-dispatch-'));
const require = createRequire(import.meta.url);
const builds = values.build.map((spec, i) => {
  const [name, rest] = spec.split('=');
  const [path, level] = rest.split('@');
  let file = resolve(path);
  if (level) {
    file = join(tmp, `copy-${i}.node`);
    copyFileSync(resolve(path), file);
  }
  const saved = process.env.ONECLASS_CPU_LEVEL;
  if (level) process.env.ONECLASS_CPU_LEVEL = level;
  const addon = require(file);
  const info = addon.backendInfo(); // the level is chosen now, under this environment
  if (level) {
    if (saved === undefined) delete process.env.ONECLASS_CPU_LEVEL;
    else process.env.ONECLASS_CPU_LEVEL = saved;
  }
  const label = info.cpu.level ?? info.cpu.simd;
  return { name, addon, label };
});

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
function uniform(count, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296;
  }
  return a;
}

const train = { data: gaussian(m * d, 1), rows: m, cols: d };
const test = { data: gaussian(n * d, 2), rows: n, cols: d };
const grids = { data: gaussian(maps * 57 * 57, 3), batch: maps, height: 57, width: 57 };
const svmData = { data: uniform(ocsvmM * d, 4), rows: ocsvmM, cols: d };
const gamma = 1 / (2 * 0.25 * d); // bandwidth sqrt(d) / 2, as bench/stage2.mjs

// Per build: the prepared sets and fits the timed operations use.
for (const b of builds) {
  const a = b.addon;
  b.kdeSet = await a.prepare(train, { device: 'cpu', l2normalize: false });
  const fit = await a.fitGaussian(test, {
    shrinkageKind: 'ledoit-wolf',
    shrinkage: 0,
    regCovar: 1e-6,
    l2normalize: false,
  });
  b.gdeSet = await a.prepare(
    { data: Float32Array.from(fit.choleskyInverse), rows: d, cols: d },
    { device: 'cpu', l2normalize: false, center: Float32Array.from(fit.mean), transformRows: false },
  );
  const stats = await a.columnStats(svmData, { l2normalize: false });
  b.svmOptions = {
    device: 'cpu',
    l2normalize: false,
    center: Float32Array.from(stats.mean),
    gamma: 1 / (d * stats.variance),
    nu: 0.5,
    tol: 1e-3,
    maxIter: -1,
    cacheMb: 1024,
    shrinking: true,
  };
  const svm = await a.fitOneClassSvm(svmData, b.svmOptions);
  const support = [];
  svm.alpha.forEach((v, i) => v > 0 && support.push(i));
  const sv = new Float32Array(support.length * d);
  support.forEach((row, k) => sv.set(svmData.data.subarray(row * d, (row + 1) * d), k * d));
  b.svmSet = await a.prepare(
    { data: sv, rows: support.length, cols: d },
    { device: 'cpu', l2normalize: false, center: b.svmOptions.center },
  );
  b.svmWeights = Float64Array.from(support, (i) => svm.alpha[i]);
}

const OPS = {
  'KDE score': (b) => b.addon.kernelLogSum(b.kdeSet, test, { gamma, threads }),
  '1-NN score': (b) => b.addon.nearest(b.kdeSet, test, { k: 1, threads }),
  'Gaussian fit': (b) =>
    b.addon.fitGaussian(test, {
      shrinkageKind: 'ledoit-wolf',
      shrinkage: 0,
      regCovar: 1e-6,
      l2normalize: false,
      threads,
    }),
  'Gaussian score': (b) => b.addon.projectedSquaredNorm(b.gdeSet, test, { threads }),
  [`heatmaps ${maps} x 57->256`]: (b) =>
    b.addon.upsample(grids, { mode: 'bilinear', height: 256, width: 256, sigma: 4, device: 'cpu', threads }),
  [`OC-SVM fit M=${ocsvmM}`]: (b) => b.addon.fitOneClassSvm(svmData, { ...b.svmOptions, threads }),
  'OC-SVM decision': (b) =>
    b.addon.kernelWeightedSum(b.svmSet, test, { gamma: b.svmOptions.gamma, weights: b.svmWeights, threads }),
};

const times = Object.fromEntries(Object.keys(OPS).map((op) => [op, builds.map(() => [])]));
const cpuTimes = Object.fromEntries(Object.keys(OPS).map((op) => [op, builds.map(() => [])]));
for (let r = 0; r < rounds; r++) {
  for (const op of Object.keys(OPS)) {
    // Rotate which build goes first, so none always runs right after another's cache footprint.
    for (let k = 0; k < builds.length; k++) {
      const i = (k + r) % builds.length;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await OPS[op](builds[i]);
      times[op][i].push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpuTimes[op][i].push((c.user + c.system) / 1e6);
    }
  }
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let numpy = null;
if (!values['no-numpy']) {
  writeFileSync(join(tmp, 'train.f32'), train.data);
  writeFileSync(join(tmp, 'test.f32'), test.data);
  const avx512 = / avx512f( |$)/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  const env = { ...process.env, OPENBLAS_CORETYPE: process.env.BENCH_CORETYPE ?? (avx512 ? 'SkylakeX' : 'Haswell') };
  const py = `
import numpy as np, time, json
x = np.fromfile(${JSON.stringify(join(tmp, 'train.f32'))}, dtype=np.float32).reshape(${m}, ${d})
y = np.fromfile(${JSON.stringify(join(tmp, 'test.f32'))}, dtype=np.float32).reshape(${n}, ${d})
t = []
for _ in range(${rounds}):
    t0 = time.perf_counter(); y @ x.T; t.append(time.perf_counter() - t0)
t.sort()
print(json.dumps({"median": t[len(t) // 2], "best": t[0], "coretype": ${JSON.stringify(env.OPENBLAS_CORETYPE)}}))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py], { env, encoding: 'utf8' });
  if (r.status === 0) numpy = JSON.parse(r.stdout.trim().split('\n').pop());
  else console.error(`numpy reference failed: ${r.stderr}`);
}

const flops = 2 * n * m * d;
console.log(
  `CPU levels benchmark: N=${n} M=${m} D=${d}, ${rounds} rounds alternating, medians (s); ` +
    `load average ${(await import('node:os'))
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(' ')}`,
);
console.log(
  [
    'op',
    ...builds.map((b) => `${b.name} (${b.label}) wall / CPU`),
    ...builds.slice(1).map((b) => `${b.name} / ${builds[0].name} wall, CPU`),
  ].join(' | '),
);
const result = {
  n,
  m,
  d,
  maps,
  ocsvmM,
  rounds,
  threads,
  builds: builds.map((b) => ({ name: b.name, level: b.label })),
  ops: {},
};
for (const op of Object.keys(OPS)) {
  const med = times[op].map(median),
    cpu = cpuTimes[op].map(median);
  result.ops[op] = { wall: med, cpu, allWall: times[op], allCpu: cpuTimes[op] };
  console.log(
    [
      op,
      ...med.map((t, i) => `${t.toFixed(4)} / ${cpu[i].toFixed(4)}`),
      ...med.slice(1).map((t, i) => `${(t / med[0]).toFixed(3)}x, ${(cpu[i + 1] / cpu[0]).toFixed(3)}x`),
    ].join(' | '),
  );
}
if (numpy) {
  result.numpy = numpy;
  console.log(
    `numpy float32 GEMM ${n}x${d} @ ${d}x${m} (OPENBLAS_CORETYPE=${numpy.coretype}): median ${numpy.median.toFixed(4)} s, ` +
      `${(flops / numpy.median / 1e9).toFixed(1)} GFLOP/s`,
  );
  for (const [i, b] of builds.entries()) {
    const kde = median(times['KDE score'][i]),
      knn = median(times['1-NN score'][i]);
    console.log(
      `${b.name} (${b.label}): KDE ${(flops / kde / 1e9).toFixed(1)} GFLOP/s = ${(numpy.median / kde).toFixed(2)}x numpy's ` +
        `SGEMM speed; 1-NN ${(flops / knn / 1e9).toFixed(1)} GFLOP/s = ${(numpy.median / knn).toFixed(2)}x`,
    );
  }
}
console.log(JSON.stringify(result));
