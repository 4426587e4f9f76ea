#!/usr/bin/env node
/**
 * Heatmaps per second of dense localization (one forward pass of a dense encoder at 256 px, then
 * the method's grid, then native upsampling to each image's size) against the crop grid of the
 * image-level encoder (25 crops of 128 px per image, each a forward pass), in the same run, with
 * the largest event-loop delay seen while each localizes (a 1 ms setInterval).
 *
 *   npm run build:ts && nice node bench/dense-heatmaps.mjs [--dense models/magnetic-tile-cutpaste-dense.onnx]
 *       [--methods segmentation,patchcore,padim] [--train 64] [--test 128] [--repeat 2] [--threads 2]
 *
 * Images: magnetic-tile train/good and test/* from ../shared/data (or the bundled examples/).
 * Timed: Detector.localize over the test files (decode + encode + grid + heatmaps at the images'
 * own sizes), best of --repeat, after one warm-up batch; fitting is not timed. Indicative only on
 * a shared machine: the ratio of the two, measured in one run, is the figure to quote.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { Detector } = await import(join(ROOT, 'dist/pipeline/detector.js'));
const { Encoder } = await import(join(ROOT, 'dist/encoder/index.js'));

const { values } = parseArgs({
  options: {
    dense: { type: 'string', default: join(ROOT, 'models', 'magnetic-tile-cutpaste-dense.onnx') },
    crops: { type: 'string', default: join(ROOT, 'models', 'magnetic-tile-cutpaste3way.onnx') },
    methods: { type: 'string', default: 'segmentation' },
    train: { type: 'string', default: '64' },
    test: { type: 'string', default: '128' },
    repeat: { type: 'string', default: '2' },
    threads: { type: 'string', default: '2' },
  },
});
const shared = resolve(ROOT, '..', 'shared', 'data', 'magnetic_tile');
const base = existsSync(shared) ? shared : join(ROOT, 'examples', 'magnetic_tile');
const list = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jpg'))
    .sort()
    .map((f) => join(dir, f));
const train = list(join(base, 'train', 'good')).slice(0, Number(values.train));
const test = readdirSync(join(base, 'test'))
  .sort()
  .flatMap((d) => list(join(base, 'test', d)))
  .slice(0, Number(values.test));
const threads = Number(values.threads);
const repeat = Number(values.repeat);

/** Best images/s of localize over `test`, and the largest event-loop delay while it ran. */
async function measure(label, encoderPath, localization) {
  const encoder = await Encoder.load(encoderPath, { device: 'cpu', threads });
  try {
    const det = await Detector.fit({ encoder, images: train, detector: { kind: 'kde' }, localization, threads });
    await det.localize(test.slice(0, 8), { allowResize: true }); // warm-up
    let best = Infinity;
    let lag = 0;
    for (let r = 0; r < repeat; r++) {
      let last = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        lag = Math.max(lag, now - last - 1);
        last = now;
      }, 1);
      const t = performance.now();
      const out = await det.localize(test, { allowResize: true });
      best = Math.min(best, (performance.now() - t) / 1000);
      clearInterval(timer);
      if (out.items.length !== test.length) throw new Error(`${label}: ${out.items.length} heatmaps`);
    }
    const rate = test.length / best;
    console.log(
      `${label.padEnd(36)} ${rate.toFixed(1).padStart(7)} heatmaps/s  (${best.toFixed(2)} s for ${test.length}; event-loop delay max ${lag.toFixed(1)} ms)`,
    );
    return rate;
  } finally {
    await encoder.release();
  }
}

console.log(`${train.length} training images, ${test.length} test images from ${base}; threads ${threads}`);
const rates = {};
for (const method of values.methods.split(',')) {
  rates[method] = await measure(`dense ${method}`, values.dense, { method });
}
const crops = await measure('crops (image-level encoder, 5x5)', values.crops, true);
for (const [method, rate] of Object.entries(rates))
  console.log(`ratio dense ${method} / crops: ${(rate / crops).toFixed(2)}x`);
