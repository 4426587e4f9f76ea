#!/usr/bin/env node
// OneClassSVM benchmark: oneclass (the addon's solver on GEMM kernel rows) against
// scikit-learn's OneClassSVM (libsvm) on the same data in the same run. Prints ratios and
// writes bench/results/ocsvm-<date>.json.
//
//   npm run build:ts && node bench/ocsvm.mjs [--configs 5000:scale,5000:1/D,20000:scale]
//        [--sklearn-max-m 5000] [--nu 0.5] [--cache-mb 1024] [--results DIR]
//
// Data: uniform [0, 1) float32, D=512, fixed seed. scikit-learn is skipped above
// --sklearn-max-m (it needs minutes at M=20,000); the table then says so.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { OneClassSVM } from '../dist/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: '5000:scale,5000:1/D,20000:scale' },
    'sklearn-max-m': { type: 'string', default: '5000' },
    nu: { type: 'string', default: '0.5' },
    'cache-mb': { type: 'string', default: '1024' },
    'decision-rows': { type: 'string', default: '10000' },
    results: { type: 'string', default: join(root, 'bench', 'results') },
  },
});
const D = 512;
const nu = Number(values.nu);
const sklearnMax = Number(values['sklearn-max-m']);

function uniform(count, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296;
  }
  return a;
}

const tmp = mkdtempSync(join(tmpdir(), 'oneclass-ocsvm-'));
const nTest = Number(values['decision-rows']);
const test = { data: uniform(nTest * D, 99), rows: nTest, cols: D };
writeFileSync(join(tmp, 'test.f32'), test.data);
// One unmeasured fit first: the process's first large allocations and thread start-ups are
// slower than a long-running server's.
await OneClassSVM.fit({ data: uniform(2000 * D, 7), rows: 2000, cols: D });
const results = [];
for (const config of values.configs.split(',')) {
  const [mText, gammaText] = config.split(':');
  const m = Number(mText);
  const gamma = gammaText === 'scale' ? 'scale' : 1 / D;
  const train = { data: uniform(m * D, m), rows: m, cols: D };
  writeFileSync(join(tmp, `train-${m}.f32`), train.data);
  const rssBefore = process.memoryUsage().rss;
  // Best of three fits (the first pays for page faults and thread start-up); scikit-learn is
  // run once, as a fit of it takes seconds to minutes.
  let model;
  let fitS = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    model = await OneClassSVM.fit(train, { nu, gamma, cacheMb: Number(values['cache-mb']) });
    fitS = Math.min(fitS, (performance.now() - t0) / 1000);
  }
  const rssAfter = process.resourceUsage().maxRSS * 1024;
  const t1 = performance.now();
  await model.decisionFunction(test);
  const decisionS = (performance.now() - t1) / 1000;
  const ours = {
    fit_s: fitS,
    decision_s: decisionS,
    n_support: model.nSupport,
    rho: model.rho,
    objective: model.objective,
    iterations: model.iterations,
    converged: model.converged,
    stats: model.fitStats,
    max_rss_mb: rssAfter / 2 ** 20,
    rss_before_mb: rssBefore / 2 ** 20,
  };
  let reference = null;
  if (m <= sklearnMax) {
    const cfg = {
      m,
      d: D,
      nu,
      gamma: gamma === 'scale' ? 'scale' : gamma,
      train: join(tmp, `train-${m}.f32`),
      test: join(tmp, 'test.f32'),
      decision_rows: Math.min(nTest, 2000),
    };
    const py = spawnSync('/usr/bin/python3', [join(root, 'bench', 'ocsvm_reference.py'), JSON.stringify(cfg)], {
      encoding: 'utf8',
    });
    if (py.status !== 0) throw new Error(py.stderr);
    reference = JSON.parse(py.stdout.trim().split('\n').pop());
  }
  results.push({ m, gamma: gammaText, ours, sklearn: reference });
  const r = reference;
  console.log(
    `M=${m} gamma=${gammaText} nu=${nu}: fit ours ${fitS.toFixed(3)} s (kernel ${ours.stats.kernelSeconds.toFixed(3)} s, full matrix ${ours.stats.fullMatrix})` +
      (r
        ? `, sklearn ${r.fit_s.toFixed(2)} s -> ${(r.fit_s / fitS).toFixed(1)}x`
        : ', sklearn not run (above --sklearn-max-m)') +
      `; nSV ${model.nSupport}${r ? ` vs ${r.n_support}` : ''}; objective rel. diff ${r ? (Math.abs(model.objective - r.objective) / r.objective).toExponential(2) : '-'}; ` +
      `decisionFunction(${nTest}) ours ${decisionS.toFixed(3)} s` +
      (r
        ? `, sklearn ${r.decision_s.toFixed(2)} s (timed on ${r.decision_measured_rows} rows, scaled) -> ${(r.decision_s / decisionS).toFixed(1)}x`
        : '') +
      `; max RSS ${ours.max_rss_mb.toFixed(0)} MiB (cache budget ${values['cache-mb']} MiB)`,
  );
}
mkdirSync(values.results, { recursive: true });
const tag = values.configs.replace(/[^0-9a-zA-Z]+/g, '_');
const file = join(values.results, `ocsvm-${new Date().toISOString().slice(0, 10)}-${tag}.json`);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), nu, d: D, results }, null, 2));
console.log(`wrote ${file}`);
