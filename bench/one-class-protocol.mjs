#!/usr/bin/env node
/**
 * The papers' one-class protocol (CIFAR-10 or Fashion-MNIST, one encoder per normal class) with
 * every detector, the images of a class embedded once instead of once per detector.
 *
 *   npm run build:ts && node bench/one-class-protocol.mjs --dataset cifar10|fashion-mnist
 *       [--classes 0,1,...,9] [--detectors kde,gde,knn,ocsvm] [--views auto|none|rotations]
 *       [--cifar-train auto|complete|subset] [--tag NAME] [--check-cli]
 *
 * Per class and detector this is `oneclass eval --encoder E --dataset D --data ../shared/data/D
 * --normal-class c --detector K --views V`: the same split (openDataset), the same fit
 * (Detector.fitFromTraining runs every step of Detector.fit after the embedding: hold-out split,
 * calibration, refit on all rows) and the same raw scores (the image detector on the test
 * embeddings). --check-cli also runs that command for the first class and detector and fails when
 * its AUROC differs.
 *
 * Encoders: python-export/runs/<tag>/<tag>-c<c>-rotation.onnx, trained by
 * `bash scripts/one-class-protocol.sh <dataset> train`; CIFAR-10 class 0 is the committed
 * models/cifar10-airplane-rotation.onnx. One JSON per class and detector goes to
 * bench/pipeline-results/<tag>-own-encoder-<views>-c<c>-<detector>.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { Detector, Encoder, openDataset, rocAuc } from '../dist/index.js';
import { resolveViews } from '../dist/pipeline/fit.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'cifar10' },
    classes: { type: 'string', default: '0,1,2,3,4,5,6,7,8,9' },
    detectors: { type: 'string', default: 'kde,gde,knn,ocsvm' },
    views: { type: 'string', default: 'auto' },
    'cifar-train': { type: 'string', default: 'auto' },
    tag: { type: 'string' },
    'check-cli': { type: 'boolean', default: false },
  },
});
const dataset = values.dataset;
if (dataset !== 'cifar10' && dataset !== 'fashion-mnist')
  throw new Error(`--dataset cifar10|fashion-mnist, got ${dataset}`);
const tag = values.tag ?? (dataset === 'cifar10' ? 'cifar10' : 'fmnist');
const data = path.resolve(root, '..', 'shared', 'data', dataset);
const detectors = values.detectors.split(',');
const classes = values.classes.split(',').map(Number);
const outDir = path.join(root, 'bench', 'pipeline-results');
mkdirSync(outDir, { recursive: true });

const encoderOf = (c) =>
  dataset === 'cifar10' && c === 0
    ? path.join(root, 'models', 'cifar10-airplane-rotation.onnx')
    : path.join(root, 'python-export', 'runs', tag, `${tag}-c${c}-rotation.onnx`);

const table = {};
for (const c of classes) {
  const file = encoderOf(c);
  if (!existsSync(file)) {
    console.error(`class ${c}: no encoder ${path.relative(root, file)} (train it first), skipped`);
    continue;
  }
  const t0 = Date.now();
  // Fashion-MNIST images are gray; the encoder's manifest converts them as the CLI does.
  const split = await openDataset({ kind: dataset, root: data, normalClass: c, cifarTrain: values['cifar-train'] });
  // Not deprioritized (the default inferenceNice is for servers sharing the machine).
  const encoder = await Encoder.load(file, { device: 'cpu', inferenceNice: 0 });
  try {
    const views = resolveViews(encoder, { views: values.views === 'auto' ? undefined : values.views });
    const train = await encoder.embed(
      split.train.map((i) => i.image),
      { views },
    );
    const test = await encoder.embed(
      split.test.map((i) => i.image),
      { views },
    );
    const labels = Uint8Array.from(split.test, (i) => i.label);
    const embedSeconds = (Date.now() - t0) / 1000;
    for (const kind of detectors) {
      const t1 = Date.now();
      const det = await Detector.fitFromTraining(
        { encoder, images: split.train, detector: { kind }, views, device: 'cpu' },
        { image: train, patches: null, skipped: [], input: { size: null, channels: encoder.inputShape[0] } },
      );
      const scores = await det.scoreEmbeddings(test);
      const auroc = rocAuc(scores, labels);
      const result = {
        dataset: split.description,
        detector: det.config.detector,
        encoder: path.relative(root, file),
        views,
        trainImages: det.config.training.images,
        images: split.test.length,
        anomalies: labels.reduce((a, b) => a + b, 0),
        imageAuroc: auroc,
        seconds: { embed: embedSeconds, fitAndScore: (Date.now() - t1) / 1000 },
      };
      writeFileSync(
        path.join(outDir, `${tag}-own-encoder-${views}-c${c}-${kind}.json`),
        JSON.stringify(result, null, 2) + '\n',
      );
      (table[kind] ??= {})[c] = auroc;
      console.log(`class ${c} ${kind}: AUROC ${(100 * auroc).toFixed(2)} (embed ${embedSeconds.toFixed(0)} s)`);
      if (values['check-cli'] && c === classes[0] && kind === detectors[0]) {
        const args = ['dist/cli/main.js', 'eval', '--encoder', file, '--dataset', dataset, '--data', data];
        args.push('--normal-class', String(c), '--detector', kind, '--views', views, '--device', 'cpu', '--json');
        args.push('--cifar-train', values['cifar-train']);
        if (dataset !== 'cifar10') (args.pop(), args.pop());
        const cli = JSON.parse(
          execFileSync('node', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
        );
        console.log(`  oneclass eval: AUROC ${(100 * cli.imageAuroc).toFixed(2)}`);
        if (Math.abs(cli.imageAuroc - auroc) > 1e-9)
          throw new Error(`the CLI gave ${cli.imageAuroc}, this script ${auroc}`);
      }
    }
  } finally {
    await encoder.release();
  }
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`\n| detector | ${classes.join(' | ')} | mean |`);
for (const [kind, byClass] of Object.entries(table)) {
  const vals = classes.map((c) => byClass[c]);
  const done = vals.filter((v) => v !== undefined);
  console.log(
    `| ${kind} | ${vals.map((v) => (v === undefined ? '-' : (100 * v).toFixed(1))).join(' | ')} | ${(100 * mean(done)).toFixed(1)}${done.length < classes.length ? ` (${done.length} classes)` : ''} |`,
  );
}
