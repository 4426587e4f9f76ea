/**
 * CIFAR-10 readers: the original binary records (3,073 bytes: label, then 1,024 R, G, B bytes) and
 * the JPEG container of shared/data (a .bin of concatenated JPEGs + a CSV of offset,length,label).
 * Records become RawImage (32x32x3, interleaved, what the encoder takes without decoding).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { invalidInput } from '../errors.js';
import type { DatasetItem } from './types.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;
const RECORD = 3073;
const PLANE = 1024;

function readWhole(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (cause) {
    throw invalidInput(file, `Cannot read CIFAR-10 file ${file}: ${(cause as Error).message}`, cause);
  }
}

/** All records of a CIFAR-10 binary file, labelled with their class index in `category`. */
export function readCifarBinary(file: string): { item: DatasetItem; classIndex: number }[] {
  const bytes = readWhole(file);
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw invalidInput(
      file,
      `${file} is not a CIFAR-10 binary file: ${bytes.length} bytes is not a positive multiple of the 3,073-byte record`,
    );
  }
  const out: { item: DatasetItem; classIndex: number }[] = [];
  const name = path.basename(file);
  for (let r = 0; r < bytes.length / RECORD; r++) {
    const base = r * RECORD;
    const classIndex = bytes[base];
    if (classIndex > 9) throw invalidInput(file, `${file} record ${r} has label ${classIndex}, expected 0 to 9`);
    const data = new Uint8Array(PLANE * 3);
    for (let p = 0; p < PLANE; p++) {
      data[p * 3] = bytes[base + 1 + p];
      data[p * 3 + 1] = bytes[base + 1 + PLANE + p];
      data[p * 3 + 2] = bytes[base + 1 + 2 * PLANE + p];
    }
    out.push({
      item: {
        id: `${name}#${r}`,
        image: { data, width: 32, height: 32, channels: 3 },
        category: CIFAR10_CLASSES[classIndex],
      },
      classIndex,
    });
  }
  return out;
}

/** The JPEG container: `<bin>` of concatenated JPEG files and `<csv>` (offset,length,label,...). */
export function readCifarJpeg(
  binFile: string,
  csvFile = binFile.replace(/\.bin$/, '.csv'),
): { item: DatasetItem; classIndex: number }[] {
  const blob = readWhole(binFile);
  const lines = readWhole(csvFile)
    .toString('utf8')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = lines[0]?.split(',') ?? [];
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw invalidInput(csvFile, `${csvFile} has no '${name}' column (header: ${lines[0]})`);
    return i;
  };
  const [offsetCol, lengthCol, labelCol] = [col('offset'), col('length'), col('label')];
  const name = path.basename(binFile);
  return lines.slice(1).map((line, row) => {
    const cells = line.split(',');
    const offset = Number(cells[offsetCol]);
    const length = Number(cells[lengthCol]);
    const classIndex = Number(cells[labelCol]);
    if (
      !Number.isSafeInteger(offset) ||
      !Number.isSafeInteger(length) ||
      offset < 0 ||
      length <= 0 ||
      offset + length > blob.length
    ) {
      throw invalidInput(
        csvFile,
        `${csvFile} row ${row + 1}: bytes [${cells[offsetCol]}, +${cells[lengthCol]}) are outside ${binFile} (${blob.length} bytes)`,
      );
    }
    if (!(classIndex >= 0 && classIndex <= 9 && Number.isInteger(classIndex))) {
      throw invalidInput(csvFile, `${csvFile} row ${row + 1}: label ${cells[labelCol]}, expected 0 to 9`);
    }
    return {
      item: {
        id: `${name}#${row}`,
        image: blob.subarray(offset, offset + length),
        category: CIFAR10_CLASSES[classIndex],
      },
      classIndex,
    };
  });
}
