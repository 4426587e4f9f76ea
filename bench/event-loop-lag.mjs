/**
 * Event-loop lag while oneclass works: the longest gap between two ticks of a 1 ms setInterval
 * during Encoder.embed, Detector.score and Detector.localize of real images (and, on Linux, the
 * most CPU time the JS thread spent between two ticks: see measure()), and the images/s of each
 * call (timed again without the probe), for one or two builds of the package measured in the same
 * run (alternating rounds, one fresh child process per measurement, medians reported).
 *
 *   npm run build:ts && node bench/event-loop-lag.mjs [--before DIR] [--after DIR] [--images 256] [--rounds 3]
 *       [--ops embed,score,localize,dense]
 *
 * DIR is a package root with dist/ (npm run build:ts) and build/Release/oneclass.node; --after
 * defaults to this repository. The "before" of issue 11 is the main commit this branch started
 * from, built in a folder of its own:
 *
 *   git archive <commit> | tar -x -C /tmp/oneclass-before && ln -s $PWD/node_modules /tmp/oneclass-before/
 *   (cd /tmp/oneclass-before && npx cmake-js compile --out build && npx tsc -p tsconfig.build.json)
 *
 * Images: the first N of ../shared/data/magnetic_tile (test folders, then train/good; grayscale
 * JPEGs of about 100 x 300 to 600 x 300 px), or examples/ repeated when the shared data is absent.
 * The model: the magnetic-tile encoder, k-NN, localization on a 128 px square cut into 64 px
 * patches at stride 32 (9 patches per image), fitted once by the --after build. `dense` is
 * Detector.localize with the dense encoder (models/magnetic-tile-cutpaste-dense.onnx) and its
 * default localization method, a second model fitted the same way.
 * Figures on a shared machine are indicative; compare builds within one run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = resolve(fileURLToPath(import.meta.url), '..', '..');
const ENCODER = join(REPO, 'models', 'magnetic-tile-cutpaste3way.onnx');
const DENSE_ENCODER = join(REPO, 'models', 'magnetic-tile-cutpaste-dense.onnx');
const ALL_OPS = ['embed', 'score', 'localize', 'dense'];
/** The machine's own noise: the same measurement while the process does nothing. */
const IDLE_MS = 3000;

const { values } = parseArgs({
  options: {
    before: { type: 'string' },
    after: { type: 'string', default: REPO },
    images: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    ops: { type: 'string', default: ALL_OPS.join(',') },
    // Child mode: one measurement in a fresh process.
    child: { type: 'string' },
    op: { type: 'string' },
    model: { type: 'string' },
    list: { type: 'string' },
  },
});

const OPS = values.ops.split(',');
for (const op of OPS) if (!ALL_OPS.includes(op)) throw new Error(`--ops: unknown call '${op}' (${ALL_OPS.join(', ')})`);

async function load(root) {
  return import(pathToFileURL(join(resolve(root), 'dist', 'index.js')).href);
}

/** The JS thread's time on a CPU so far (ms), from Linux's per-thread scheduler statistics; null elsewhere. */
function threadCpuMs() {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return null;
  }
}

/**
 * Longest gap between ticks of a 1 ms interval, minus the interval, while `work` runs; and the
 * most CPU time the JS thread spent between two ticks (`maxBusy`). On a loaded machine a gap also
 * holds time the thread waited for a CPU (other processes, or the process's own worker threads);
 * `maxBusy` counts only the time it ran, which is what the code itself held the event loop for.
 */
async function measure(work) {
  let last = performance.now();
  let lastCpu = threadCpuMs();
  let maxLag = 0;
  let maxBusy = lastCpu === null ? null : 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 1);
    last = now;
    if (lastCpu !== null) {
      const cpu = threadCpuMs();
      maxBusy = Math.max(maxBusy, cpu - lastCpu);
      lastCpu = cpu;
    }
  }, 1);
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  clearInterval(timer);
  return { ms, maxLag, maxBusy };
}

async function child() {
  const lib = await load(values.child);
  const files = JSON.parse(readFileSync(values.list, 'utf8'));
  const warm = files.slice(0, 16);
  let result;
  // images/s comes from a second call without the 1 ms probe: the probe's ticks (a /proc read
  // each) cost the JS thread about a tenth of a core, which only the build whose event loop
  // turns pays (it made the worker-thread build look 10% slower than it is).
  let ms = null;
  const timed = async (work) => {
    const started = performance.now();
    await work();
    ms = performance.now() - started;
  };
  if (values.op === 'idle') {
    result = await measure(() => new Promise((r) => setTimeout(r, IDLE_MS)));
    ms = result.ms;
  } else if (values.op === 'embed') {
    const encoder = await lib.Encoder.load(ENCODER, { device: 'cpu' });
    await encoder.embed(warm);
    result = await measure(() => encoder.embed(files));
    await timed(() => encoder.embed(files));
    await encoder.release();
  } else {
    const det = await lib.Detector.load(values.model, { device: 'cpu' });
    const call = values.op === 'score' ? (f) => det.score(f) : (f) => det.localize(f); // localize, dense
    await call(warm);
    result = await measure(() => call(files));
    await timed(() => call(files));
    await det.release();
  }
  process.stdout.write(JSON.stringify({ ...result, imagesPerSecond: (files.length / ms) * 1000 }) + '\n');
}

function dataRoot() {
  const shared = resolve(REPO, '..', 'shared', 'data', 'magnetic_tile');
  return existsSync(shared) ? shared : join(REPO, 'examples', 'magnetic_tile');
}

function jpegs(dir) {
  return readdirSync(dir)
    .sort()
    .filter((f) => f.endsWith('.jpg'))
    .map((f) => join(dir, f));
}

/** `count` images of the test folders (all kinds), then train/good, repeated if there are fewer. */
function realImages(count) {
  const root = dataRoot();
  const found = [];
  for (const kind of readdirSync(join(root, 'test')).sort()) found.push(...jpegs(join(root, 'test', kind)));
  found.push(...jpegs(join(root, 'train', 'good')));
  return Array.from({ length: count }, (_, i) => found[i % found.length]);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (v) => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(1));

async function main() {
  const count = Number(values.images);
  const rounds = Number(values.rounds);
  const builds = [...(values.before ? [['before', values.before]] : []), ['after', values.after]];
  const work = mkdtempSync(join(tmpdir(), 'oneclass-lag-'));
  try {
    const files = realImages(count);
    const list = join(work, 'images.json');
    writeFileSync(list, JSON.stringify(files));
    const lib = await load(values.after);
    const det = await lib.Detector.fit({
      encoder: ENCODER,
      images: jpegs(join(dataRoot(), 'train', 'good')).slice(-48),
      detector: { kind: 'knn' },
      localization: { resize: 128, patchSize: 64, stride: 32 },
      device: 'cpu',
    });
    const model = join(work, 'lag.oneclass');
    await det.save(model);
    await det.release();
    const denseModel = join(work, 'lag-dense.oneclass');
    if (OPS.includes('dense')) {
      const dense = await lib.Detector.fit({
        encoder: DENSE_ENCODER,
        images: jpegs(join(dataRoot(), 'train', 'good')).slice(-48),
        detector: { kind: 'knn' },
        localization: true,
        device: 'cpu',
      });
      await dense.save(denseModel);
      await dense.release();
    }
    console.log(
      `${count} images (${files[0]} ...), ${rounds} rounds, builds: ${builds.map((b) => b.join(' = ')).join(', ')}`,
    );
    const results = {};
    const run = (root, op) => {
      const out = spawnSync(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          ...['--child', root, '--op', op, '--model', op === 'dense' ? denseModel : model, '--list', list],
        ],
        { encoding: 'utf8', env: { ...process.env, ORT_DISABLE_TELEMETRY: '1' } },
      );
      if (out.status !== 0) throw new Error(`${root} ${op} failed: ${out.stderr}`);
      return JSON.parse(out.stdout.trim().split('\n').pop());
    };
    for (let r = 0; r < rounds; r++) {
      const idle = run(values.after, 'idle');
      (results.idle ??= []).push(idle);
      console.log(
        `round ${r + 1} idle ${IDLE_MS} ms: max lag ${idle.maxLag.toFixed(1)} ms (the machine's noise floor)`,
      );
      for (const [name, root] of builds) {
        for (const op of OPS) {
          const m = run(root, op);
          (results[`${op} ${name}`] ??= []).push(m);
          console.log(
            `round ${r + 1} ${op.padEnd(8)} ${name.padEnd(6)} ${m.imagesPerSecond.toFixed(0).padStart(5)} images/s  max lag ${m.maxLag.toFixed(1)} ms`,
          );
        }
      }
    }
    console.log('\nmedians over rounds (max lag and max busy: median, and worst round)');
    console.log('call       build   images/s   max lag ms   worst   max busy ms   worst');
    const row = (op, name, ms) =>
      console.log(
        `${op.padEnd(10)} ${name.padEnd(7)} ${(name ? median(ms.map((m) => m.imagesPerSecond)).toFixed(0) : '').padStart(8)}   ` +
          `${median(ms.map((m) => m.maxLag))
            .toFixed(1)
            .padStart(10)}   ${Math.max(...ms.map((m) => m.maxLag))
            .toFixed(1)
            .padStart(5)}   ` +
          `${fmt(median(ms.map((m) => m.maxBusy))).padStart(11)}   ${fmt(Math.max(...ms.map((m) => m.maxBusy))).padStart(5)}`,
      );
    row('idle', '', results.idle);
    for (const op of OPS) {
      for (const [name] of builds) row(op, name, results[`${op} ${name}`]);
      if (builds.length === 2) {
        const speed = (n) => median(results[`${op} ${n}`].map((m) => m.imagesPerSecond));
        console.log(`${''.padEnd(10)} after/before images/s: ${(speed('after') / speed('before')).toFixed(2)}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await (values.child ? child() : main());
