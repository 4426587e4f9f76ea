/**
 * What several benchmarks share: where ../shared/data is, its image sets as the scripts use them,
 * and the median of a few rounds.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { readCifarJpeg } from '../../dist/index.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedData = path.resolve(repoRoot, '../shared/data');

function walk(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/** Every magnetic-tile JPEG file (train and test, 1,344), in a fixed order. */
export function magneticTileJpegs() {
  return walk(path.join(sharedData, 'magnetic_tile'))
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort();
}

/** The CIFAR-10 test JPEGs (10,000 encoded images, bytes in memory), in file order. */
export function cifarTestJpegs() {
  return readCifarJpeg(path.join(sharedData, 'cifar10/test_jpeg.bin')).map((r) => r.item.image);
}

/** The middle value (upper middle for an even count). */
export function median(xs) {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}
