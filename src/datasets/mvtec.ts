/**
 * MVTec AD folder layout:
 *   <root>/train/good/*.{png,jpg}
 *   <root>/test/<good|defect type>/*
 *   <root>/ground_truth/<defect type>/<stem>_mask.png
 * Masks are binarized with value >= 128 (magnetic tile masks have soft edges; shared/data/README.md).
 */
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

import sharp from 'sharp';

import { listImageFiles } from '../encoder/index.js';
import { invalidInput, type OneclassError } from '../errors.js';
import type { DatasetItem, OneClassSplit } from './types.js';

function missing(what: string, file: string): OneclassError {
  return invalidInput(
    file,
    `${what} not found: ${file} (expected the MVTec AD layout: train/good, test/<type>, ground_truth/<type>)`,
  );
}

export async function readMvtec(root: string): Promise<OneClassSplit> {
  const trainDir = path.join(root, 'train', 'good');
  const testDir = path.join(root, 'test');
  if (!existsSync(root) || !statSync(root).isDirectory()) throw missing('Dataset folder', root);
  if (!existsSync(trainDir)) throw missing('Training folder', trainDir);
  if (!existsSync(testDir)) throw missing('Test folder', testDir);
  const train = (await listImageFiles(trainDir)).map((file): DatasetItem => ({
    id: file,
    image: file,
    label: 0,
    category: 'good',
  }));
  const test: DatasetItem[] = [];
  const types = (await readdir(testDir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const type of types) {
    for (const file of await listImageFiles(path.join(testDir, type))) {
      if (type === 'good') {
        test.push({ id: file, image: file, label: 0, category: type });
        continue;
      }
      const stem = path.basename(file, path.extname(file));
      const maskFile = path.join(root, 'ground_truth', type, `${stem}_mask.png`);
      test.push({
        id: file,
        image: file,
        label: 1,
        category: type,
        maskFile: existsSync(maskFile) ? maskFile : undefined,
      });
    }
  }
  return {
    train,
    test,
    description: `MVTec AD layout at ${root}: ${train.length} training images, ${test.length} test images (${types.join(', ')})`,
  };
}

/** A ground-truth mask as 0/1 bytes, checked against the image size it belongs to. */
export async function readMask(file: string, width: number, height: number): Promise<Uint8Array> {
  let raw;
  try {
    raw = await sharp(file).greyscale().raw().toBuffer({ resolveWithObject: true });
  } catch (cause) {
    throw invalidInput(file, `Cannot read mask ${file}: ${(cause as Error).message}`, cause);
  }
  if (raw.info.width !== width || raw.info.height !== height) {
    throw invalidInput(
      file,
      `Mask ${file} is ${raw.info.width}x${raw.info.height} but its image is ${width}x${height}`,
    );
  }
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = raw.data[i * raw.info.channels] >= 128 ? 1 : 0;
  return out;
}
