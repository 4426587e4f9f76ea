/**
 * Fashion-MNIST in the original IDX format (gzipped or not): images (magic 0x803, count, 28, 28)
 * and labels (magic 0x801, count). Images become 28x28 grayscale RawImage; `channels: 3`
 * repeats the gray plane so RGB encoders can read them (the encoder never converts on its own).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import path from 'node:path';

import { invalidInput, type OneclassError } from '../errors.js';
import type { DatasetItem } from './types.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

function readIdx(file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw invalidInput(file, `Cannot read IDX file ${file}: ${(cause as Error).message}`, cause);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (cause) {
      throw invalidInput(file, `${file} is not valid gzip: ${(cause as Error).message}`, cause);
    }
  }
  return bytes;
}

function badIdx(file: string, why: string): OneclassError {
  return invalidInput(file, `${file} is not an IDX file: ${why}`);
}

/** `keep` selects records by class before their pixels are copied (60,000 RGB images are 141 MB). */
export function readFashionMnist(
  imagesFile: string,
  labelsFile: string,
  options: { channels?: 1 | 3; keep?: (classIndex: number) => boolean } = {},
): { item: DatasetItem; classIndex: number }[] {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.length < 16 || images.readUInt32BE(0) !== 0x803)
    throw badIdx(imagesFile, 'magic number is not 0x00000803');
  if (labels.length < 8 || labels.readUInt32BE(0) !== 0x801) throw badIdx(labelsFile, 'magic number is not 0x00000801');
  const count = images.readUInt32BE(4);
  const rows = images.readUInt32BE(8);
  const cols = images.readUInt32BE(12);
  if (images.length !== 16 + count * rows * cols)
    throw badIdx(imagesFile, `${images.length} bytes, header says 16 + ${count} x ${rows} x ${cols}`);
  if (labels.readUInt32BE(4) !== count || labels.length !== 8 + count) {
    throw badIdx(
      labelsFile,
      `holds ${labels.readUInt32BE(4)} labels in ${labels.length} bytes, ${imagesFile} holds ${count} images`,
    );
  }
  const channels = options.channels ?? 1;
  const name = path.basename(imagesFile);
  const plane = rows * cols;
  const out: { item: DatasetItem; classIndex: number }[] = [];
  for (let i = 0; i < count; i++) {
    if (labels[8 + i] > 9) throw badIdx(labelsFile, `label ${i} is ${labels[8 + i]}, expected 0 to 9`);
    if (options.keep && !options.keep(labels[8 + i])) continue;
    const src = images.subarray(16 + i * plane, 16 + (i + 1) * plane);
    let data: Uint8Array;
    if (channels === 1) data = new Uint8Array(src);
    else {
      data = new Uint8Array(plane * 3);
      for (let p = 0; p < plane; p++) data[p * 3] = data[p * 3 + 1] = data[p * 3 + 2] = src[p];
    }
    const classIndex = labels[8 + i];
    out.push({
      item: {
        id: `${name}#${i}`,
        image: { data, width: cols, height: rows, channels },
        category: FASHION_MNIST_CLASSES[classIndex],
      },
      classIndex,
    });
  }
  return out;
}
