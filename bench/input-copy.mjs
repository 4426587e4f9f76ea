#!/usr/bin/env node
// What the addon's input copy costs (native calls copy their inputs on the JS thread before the
// call is queued, so a caller that detaches or shrinks a buffer meanwhile cannot crash it): the
// synchronous part of a kernelLogSum call with a 10,000 x 512 query matrix, against a plain
// copy of the same bytes in JavaScript, against the whole call (M = 5,000 training rows), and
// against the same queries in a SharedArrayBuffer (read in place, not copied).
//
//   node bench/input-copy.mjs [--n 10000] [--d 512] [--m 5000] [--reps 20]
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const native = createRequire(import.meta.url)(
  process.env.ONECLASS_ADDON ?? join(root, 'build', 'Release', 'oneclass.node'),
);
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '10000' },
    d: { type: 'string', default: '512' },
    m: { type: 'string', default: '5000' },
    reps: { type: 'string', default: '20' },
  },
});
const [n, d, m, reps] = [values.n, values.d, values.m, values.reps].map(Number);

function filled(count, seed) {
  const a = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) a[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  return a;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const set = await native.prepare({ data: filled(m * d, 1), rows: m, cols: d }, { device: 'cpu', l2normalize: false });
const queries = { data: filled(n * d, 2), rows: n, cols: d };
const shared = new Float32Array(new SharedArrayBuffer(n * d * 4));
shared.set(queries.data);
const sharedQueries = { data: shared, rows: n, cols: d };
const sync = [],
  whole = [],
  slice = [],
  sharedSync = [];
for (let r = 0; r < reps; r++) {
  let t0 = performance.now();
  queries.data.slice();
  slice.push(performance.now() - t0);
  t0 = performance.now();
  const pending = native.kernelLogSum(set, queries, { gamma: 0.01 });
  sync.push(performance.now() - t0);
  await pending;
  whole.push(performance.now() - t0);
  t0 = performance.now();
  const inPlace = native.kernelLogSum(set, sharedQueries, { gamma: 0.01 });
  sharedSync.push(performance.now() - t0);
  await inPlace;
}
const mb = (n * d * 4) / 2 ** 20;
console.log(
  JSON.stringify({
    queries: `${n} x ${d} (${mb.toFixed(1)} MiB)`,
    training: m,
    syncCallMs: { median: +median(sync).toFixed(2), min: +Math.min(...sync).toFixed(2) },
    jsSliceMs: { median: +median(slice).toFixed(2), min: +Math.min(...slice).toFixed(2) },
    sharedSyncCallMs: { median: +median(sharedSync).toFixed(3), min: +Math.min(...sharedSync).toFixed(3) },
    wholeCallMs: +median(whole).toFixed(1),
    copyShareOfCall: +(median(sync) / median(whole)).toFixed(4),
  }),
);
