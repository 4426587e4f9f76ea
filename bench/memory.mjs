#!/usr/bin/env node
// Peak memory per op: each (op, N) runs in a fresh child process that reports its peak RSS
// (getrusage maxrss). With M fixed, an implementation that materialized the N x M matrix
// would grow by 8 * M bytes per query row; ours grows only with the N x D input and the
// N-sized output.
//
//   npm run build:ts && node bench/memory.mjs [--m 5000] [--d 128]
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
  const [op, nText, mText, dText] = process.argv.slice(3);
  const n = Number(nText),
    m = Number(mText),
    d = Number(dText);
  const { KernelDensity, NearestNeighbors, GaussianDensity, OneClassSVM } = await import('../dist/index.js');
  const fill = (count, seed) => {
    let s = seed;
    return Float32Array.from({ length: count }, () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  };
  const train = { data: fill(m * d, 1), rows: m, cols: d };
  const test = { data: fill(n * d, 2), rows: n, cols: d };
  const before = process.resourceUsage().maxRSS;
  if (op === 'kde') await (await KernelDensity.fit(train, { bandwidth: 1 })).scoreSamples(test);
  if (op === 'knn5') await (await NearestNeighbors.fit(train)).kneighbors(test, 5);
  if (op === 'gde') await (await GaussianDensity.fit(train)).scoreSamples(test);
  if (op === 'ocsvm-decision') await (await OneClassSVM.fit(train, { nu: 0.5 })).decisionFunction(test);
  console.log(JSON.stringify({ op, n, m, d, inputsKiB: before, peakKiB: process.resourceUsage().maxRSS }));
  process.exit(0);
}

const { values } = parseArgs({
  options: { m: { type: 'string', default: '5000' }, d: { type: 'string', default: '128' } },
});
const m = Number(values.m),
  d = Number(values.d);
console.log(`peak RSS by op and N (M=${m}, D=${d}); N x M float64 would add ${(8 * m) / 1024} KiB per query row`);
console.log('op | N | peak RSS MiB | growth over the previous N, KiB per added query row');
for (const op of ['kde', 'knn5', 'gde', 'ocsvm-decision']) {
  let previous = null;
  for (const n of [2500, 10000, 40000]) {
    const r = spawnSync(process.execPath, [self, '--child', op, String(n), String(m), String(d)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const row = JSON.parse(r.stdout.trim());
    const growth = previous ? ((row.peakKiB - previous.peakKiB) / (n - previous.n)).toFixed(2) : '-';
    console.log(`${op} | ${n} | ${(row.peakKiB / 1024).toFixed(0)} | ${growth}`);
    previous = { n, peakKiB: row.peakKiB };
  }
}
