#!/usr/bin/env node
// OneClassSVM over a grid of problem shapes (issue 15): nu x data kind x M, oneclass against
// scikit-learn's OneClassSVM on the same data in the same run. Prints one ratio table (fit,
// decisionFunction, objective relative difference, support-vector counts) and writes
// bench/out/ocsvm-grid-<date>.json.
//
//   npm run build:ts && node bench/ocsvm-grid.mjs [--nu 0.05,0.1,0.5] [--data uniform,clustered,real]
//        [--m 2000,5000,20000] [--max-m 5000] [--cells uniform:5000:0.1,real:2000]
//        [--gamma scale] [--decision-rows 10000] [--reps 3] [--start subproblem,libsvm]
//
// Data (D = 512 for uniform and clustered, fixed seeds):
//  - uniform: [0, 1) float32;
//  - clustered: 10 Gaussian clusters (centres uniform in [0, 1), sd 0.05 per coordinate);
//  - real: CIFAR-10 embeddings of models/cifar10-airplane-rotation.onnx (training JPEGs for the
//    fit, test JPEGs for the decision function), computed once and kept in bench/out/.
// --max-m skips cells with a larger M entirely (scikit-learn needs minutes at M = 20,000: the full
// grid is for a quiet machine); --cells keeps only cells matching one of the comma-separated
// patterns KIND[:M[:NU]]. Our fit: best of --reps after one warm-up fit; scikit-learn: one fit;
// its decision_function is timed on up to 2,000 rows and scaled (bench/ocsvm_reference.py).
// --start: the solver's start points to fit with (OneClassSvmOptions.start), each a row of the
// table against the same scikit-learn fit; their fits alternate within each repetition.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Encoder, OneClassSVM } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataRoot = resolve(root, '../shared/data');
const { values } = parseArgs({
  options: {
    nu: { type: 'string', default: '0.05,0.1,0.5' },
    data: { type: 'string', default: 'uniform,clustered,real' },
    m: { type: 'string', default: '2000,5000,20000' },
    'max-m': { type: 'string', default: '20000' },
    cells: { type: 'string', default: '' },
    gamma: { type: 'string', default: 'scale' },
    'decision-rows': { type: 'string', default: '10000' },
    'cache-mb': { type: 'string', default: '1024' },
    reps: { type: 'string', default: '3' },
    start: { type: 'string', default: 'subproblem' },
    out: { type: 'string', default: join(root, 'bench', 'out') },
  },
});
const D = 512;
const nus = values.nu.split(',').map(Number);
const kinds = values.data.split(',');
const sizes = values.m.split(',').map(Number);
const maxM = Number(values['max-m']);
const nTest = Number(values['decision-rows']);
const reps = Number(values.reps);
const starts = values.start.split(',');
const patterns = values.cells ? values.cells.split(',').map((p) => p.split(':')) : [];

function selected(kind, m, nu) {
  if (m > maxM) return false;
  if (patterns.length === 0) return true;
  return patterns.some(([k, pm, pnu]) => k === kind && (!pm || Number(pm) === m) && (!pnu || Number(pnu) === nu));
}

/** A small fixed-seed generator (LCG for uniforms, Box-Muller for normals). */
function generator(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  return {
    uniform: next,
    normal: () => Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next()),
  };
}

function uniformRows(rows, seed) {
  const g = generator(seed);
  const a = new Float32Array(rows * D);
  for (let i = 0; i < a.length; i++) a[i] = g.uniform();
  return { data: a, rows, cols: D };
}

const clusterCentres = (() => {
  const g = generator(4242);
  return Array.from({ length: 10 }, () => Float64Array.from({ length: D }, () => g.uniform()));
})();

function clusteredRows(rows, seed) {
  const g = generator(seed);
  const a = new Float32Array(rows * D);
  for (let i = 0; i < rows; i++) {
    const c = clusterCentres[Math.floor(g.uniform() * clusterCentres.length)];
    for (let k = 0; k < D; k++) a[i * D + k] = c[k] + 0.05 * g.normal();
  }
  return { data: a, rows, cols: D };
}

function readJpegs(bin, csv, count) {
  const blob = readFileSync(join(dataRoot, 'cifar10', bin));
  const rows = readFileSync(join(dataRoot, 'cifar10', csv), 'utf8')
    .trim()
    .split('\n')
    .slice(1, count + 1);
  return rows.map((r) => {
    const [offset, length] = r.split(',').map(Number);
    return blob.subarray(offset, offset + length);
  });
}

/** CIFAR-10 embeddings, cached in bench/out (an encoder run takes a minute or more here). */
async function realRows(split, rows) {
  const file = join(values.out, `ocsvm-grid-cifar10-${split}-${rows}.f32`);
  if (existsSync(file)) {
    const buf = readFileSync(file);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    return { data, rows, cols: data.length / rows };
  }
  const encoder = await Encoder.load(join(root, 'models', 'cifar10-airplane-rotation.onnx'), { device: 'cpu' });
  try {
    const t0 = performance.now();
    const images = readJpegs(`${split}_jpeg.bin`, `${split}_jpeg.csv`, rows);
    const m = await encoder.embed(images, { batchSize: 256 });
    console.log(`embedded ${rows} CIFAR-10 ${split} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    mkdirSync(values.out, { recursive: true });
    writeFileSync(file, m.data);
    return m;
  } finally {
    await encoder.release();
  }
}

async function dataset(kind, m) {
  if (kind === 'uniform') return { train: uniformRows(m, m), test: uniformRows(nTest, 99) };
  if (kind === 'clustered') return { train: clusteredRows(m, m + 1), test: clusteredRows(nTest, 98) };
  if (kind === 'real') return { train: await realRows('train', m), test: await realRows('test', nTest) };
  throw new Error(`unknown data kind ${kind} (expected uniform, clustered or real)`);
}

function sklearn(cfg) {
  const py = spawnSync('/usr/bin/python3', [join(root, 'bench', 'ocsvm_reference.py'), JSON.stringify(cfg)], {
    encoding: 'utf8',
  });
  if (py.status !== 0) throw new Error(py.stderr);
  return JSON.parse(py.stdout.trim().split('\n').pop());
}

const tmp = mkdtempSync(join(tmpdir(), 'oneclass-ocsvm-grid-'));
const gamma = values.gamma === 'scale' ? 'scale' : Number(values.gamma);
// One unmeasured fit first: the process's first large allocations and thread start-ups.
await OneClassSVM.fit(uniformRows(2000, 7));
const results = [];
const header =
  'data       M      nu    | fit ours (s)  sklearn (s)  ratio | decision ours (s)  sklearn (s)  ratio | nSV ours/sk   | obj rel diff | start: layout';
console.log(header);
for (const kind of kinds) {
  for (const m of sizes) {
    if (!nus.some((nu) => selected(kind, m, nu))) continue;
    const { train, test } = await dataset(kind, m);
    const trainFile = join(tmp, 'train.f32');
    const testFile = join(tmp, 'test.f32');
    writeFileSync(trainFile, train.data);
    writeFileSync(testFile, test.data);
    for (const nu of nus) {
      if (!selected(kind, m, nu)) continue;
      const fits = starts.map(() => ({ model: undefined, fitS: Infinity, decisionS: Infinity }));
      for (let rep = 0; rep < reps; rep++) {
        for (const [k, start] of starts.entries()) {
          const t0 = performance.now();
          fits[k].model = await OneClassSVM.fit(train, { nu, gamma, cacheMb: Number(values['cache-mb']), start });
          fits[k].fitS = Math.min(fits[k].fitS, (performance.now() - t0) / 1000);
        }
      }
      for (let rep = 0; rep < reps; rep++) {
        for (const fit of fits) {
          const t1 = performance.now();
          await fit.model.decisionFunction(test);
          fit.decisionS = Math.min(fit.decisionS, (performance.now() - t1) / 1000);
        }
      }
      const sk = sklearn({
        m,
        d: train.cols,
        nu,
        gamma,
        train: trainFile,
        test: testFile,
        decision_rows: Math.min(test.rows, 2000),
      });
      for (const [k, start] of starts.entries()) {
        const { model, fitS, decisionS } = fits[k];
        const objDiff = Math.abs(model.objective - sk.objective) / Math.abs(sk.objective);
        const row = {
          data: kind,
          m,
          d: train.cols,
          nu,
          gamma: values.gamma,
          start,
          ours: {
            fit_s: fitS,
            decision_s: decisionS,
            n_support: model.nSupport,
            objective: model.objective,
            rho: model.rho,
            iterations: model.iterations,
            stats: model.fitStats,
          },
          sklearn: sk,
          fit_ratio: sk.fit_s / fitS,
          decision_ratio: sk.decision_s / decisionS,
          objective_rel_diff: objDiff,
        };
        results.push(row);
        const s = model.fitStats;
        const layout = s.fullMatrix ? 'full matrix' : `${s.kernelRowsComputed} rows`;
        console.log(
          `${kind.padEnd(10)} ${String(m).padEnd(6)} ${String(nu).padEnd(5)} | ` +
            `${fitS.toFixed(3).padStart(12)}  ${sk.fit_s.toFixed(2).padStart(11)}  ${(sk.fit_s / fitS).toFixed(1).padStart(5)}x | ` +
            `${decisionS.toFixed(3).padStart(17)}  ${sk.decision_s.toFixed(2).padStart(11)}  ${(sk.decision_s / decisionS).toFixed(1).padStart(5)}x | ` +
            `${`${model.nSupport}/${sk.n_support}`.padEnd(13)} | ${objDiff.toExponential(1).padStart(12)} | ` +
            `${start}: ${layout}, ${model.iterations} it (sk ${sk.n_iter}), kernel ${s.kernelSeconds.toFixed(3)} s`,
        );
      }
    }
  }
}
rmSync(tmp, { recursive: true, force: true });
mkdirSync(values.out, { recursive: true });
const file = join(values.out, `ocsvm-grid-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
console.log(`wrote ${file}`);
