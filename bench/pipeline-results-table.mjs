#!/usr/bin/env node
/** Prints the markdown tables of docs/results.md from the JSON files of bench/pipeline-results.sh. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./pipeline-results/', import.meta.url));
const runs = Object.fromEntries(
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.replace(/\.json$/, ''), readFileSync(join(dir, f), 'utf8')])
    // A run still in progress has an empty file.
    .filter(([, text]) => text.trim().length > 0)
    .map(([name, text]) => [name, JSON.parse(text)]),
);
const pct = (v) => (v === undefined || v === null ? '-' : (100 * v).toFixed(1));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

console.log('### CIFAR-10, normal class 0 (airplane), full test set\n');
console.log('| encoder | KDE | GDE | 1-NN |\n| --- | --- | --- | --- |');
for (const enc of ['rotation', 'contrastive-da']) {
  const r = (det) => runs[`cifar10-${enc}-${det}-class0`]?.imageAuroc;
  console.log(`| ${enc} | ${pct(r('kde'))} | ${pct(r('gde'))} | ${pct(r('knn'))} |`);
}
const c10 = Array.from({ length: 10 }, (_, c) => runs[`cifar10-rotation-knn-class${c}`]?.imageAuroc);
console.log('\n### CIFAR-10, every class as normal, airplane rotation encoder + 1-NN\n');
console.log(`| class | ${c10.map((_, c) => c).join(' | ')} | mean |\n| --- |${c10.map(() => ' --- |').join('')} --- |`);
if (c10.every((v) => v !== undefined)) console.log(`| AUROC | ${c10.map(pct).join(' | ')} | ${pct(mean(c10))} |`);
console.log(
  '\n### CIFAR-10 one-class protocol: one rotation encoder per normal class (scripts/one-class-protocol.sh cifar10)\n',
);
console.log(
  `| detector | ${c10.map((_, c) => c).join(' | ')} | mean |\n| --- |${c10.map(() => ' --- |').join('')} --- |`,
);
for (const det of ['kde', 'gde', 'knn', 'ocsvm']) {
  const own = Array.from({ length: 10 }, (_, c) => runs[`cifar10-own-encoder-c${c}-${det}`]?.imageAuroc);
  const done = own.filter((v) => v !== undefined);
  const meanText =
    done.length === 10 ? pct(mean(own)) : `${pct(done.length ? mean(done) : undefined)} (${done.length} classes)`;
  console.log(`| ${det} | ${own.map(pct).join(' | ')} | ${meanText} |`);
}
console.log(
  '\n### Fashion-MNIST one-class protocol: one rotation encoder per normal class (scripts/one-class-protocol.sh fashion-mnist)\n',
);
console.log(
  `| detector | ${c10.map((_, c) => c).join(' | ')} | mean |\n| --- |${c10.map(() => ' --- |').join('')} --- |`,
);
for (const det of ['kde', 'gde', 'knn', 'ocsvm']) {
  const own = Array.from({ length: 10 }, (_, c) => runs[`fmnist-own-encoder-c${c}-${det}`]?.imageAuroc);
  const done = own.filter((v) => v !== undefined);
  const meanText =
    done.length === 10 ? pct(mean(own)) : `${pct(done.length ? mean(done) : undefined)} (${done.length} classes)`;
  console.log(`| ${det} | ${own.map(pct).join(' | ')} | ${meanText} |`);
}
// bench/one-class-protocol.mjs: the protocol with test-time views ('rotations') or without ('none').
for (const [tag, name] of [
  ['cifar10', 'CIFAR-10'],
  ['fmnist', 'Fashion-MNIST'],
]) {
  for (const views of ['rotations', 'none']) {
    const any = Object.keys(runs).some((k) => k.startsWith(`${tag}-own-encoder-${views}-`));
    if (!any) continue;
    console.log(`\n### ${name} one-class protocol, views '${views}' (bench/one-class-protocol.mjs)\n`);
    console.log(
      `| detector | ${c10.map((_, c) => c).join(' | ')} | mean |\n| --- |${c10.map(() => ' --- |').join('')} --- |`,
    );
    for (const det of ['kde', 'gde', 'knn', 'ocsvm']) {
      const own = Array.from({ length: 10 }, (_, c) => runs[`${tag}-own-encoder-${views}-c${c}-${det}`]?.imageAuroc);
      const done = own.filter((v) => v !== undefined);
      const meanText =
        done.length === 10 ? pct(mean(own)) : `${pct(done.length ? mean(done) : undefined)} (${done.length} classes)`;
      console.log(`| ${det} | ${own.map(pct).join(' | ')} | ${meanText} |`);
    }
  }
}
const fm = Array.from({ length: 10 }, (_, c) => runs[`fmnist-rotation-knn-class${c}`]?.imageAuroc);
console.log('\n### Fashion-MNIST, every class as normal, CIFAR-10 rotation encoder + 1-NN\n');
console.log(`| class | ${fm.map((_, c) => c).join(' | ')} | mean |\n| --- |${fm.map(() => ' --- |').join('')} --- |`);
if (fm.every((v) => v !== undefined)) console.log(`| AUROC | ${fm.map(pct).join(' | ')} | ${pct(mean(fm))} |`);
console.log('\n### Magnetic tile (300 of 592 test images, stratified)\n');
console.log(
  '| run (bench/pipeline-results/) | detector | image AUROC | pixel AUROC | AUPRO (0.3) | image F1-max | fit + eval s |\n| --- | --- | --- | --- | --- | --- | --- |',
);
for (const [name, r] of Object.entries(runs).filter(([k]) => k.startsWith('magnetic-tile'))) {
  console.log(
    `| ${name} | ${r.detector.kind} | ${pct(r.imageAuroc)} | ${pct(r.pixel?.pixelAuroc)} | ${pct(r.pixel?.aupro)} | ${pct(r.imageF1?.f1)} | ${(r.seconds.fit + r.seconds.evaluate).toFixed(0)} |`,
  );
}
