/**
 * Dataset readers (src/datasets): MVTec layout (bundled examples and ../shared/data), CIFAR-10
 * binary records and JPEG container, Fashion-MNIST IDX, the one-class protocol and subsampling.
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  openDataset,
  readCifarBinary,
  readCifarJpeg,
  readFashionMnist,
  readMask,
  readMvtec,
  stratifiedSubsample,
} from '../src/datasets/index.js';
import { decodeImage, type RawImage } from '../src/encoder/index.js';
import { hasSharedData, SHARED_DATA } from './helpers.js';
import { EXAMPLES, tempDir } from './fixtures/eval/pipeline-helpers.js';

describe('MVTec AD layout', () => {
  it('reads the bundled examples: good = 0, defects = 1 with masks of the image size, binarized', async () => {
    const split = await readMvtec(EXAMPLES);
    expect(split.train.every((i) => i.label === 0)).toBe(true);
    const defects = split.test.filter((i) => i.label === 1);
    expect(defects.length).toBeGreaterThan(0);
    for (const item of defects) {
      expect(item.maskFile).toMatch(/ground_truth\/\w+\/.*_mask\.png$/);
      const image = (await decodeImage(item.image, item.id)) as RawImage;
      const mask = await readMask(item.maskFile!, image.width, image.height);
      expect(mask.every((v) => v === 0 || v === 1)).toBe(true);
    }
    await expect(readMask(defects[0].maskFile!, 7, 7)).rejects.toThrow(/but its image is 7x7/);
  });

  it('a folder without the layout is an error naming the missing folder', async () => {
    await expect(readMvtec(tempDir('notmvtec'))).rejects.toThrow(/Training folder not found: .*train\/good/);
  });

  it.skipIf(!hasSharedData)(
    'magnetic tile: 752 train, 592 test (392 defective), empty uneven masks read as all zero',
    async () => {
      const split = await readMvtec(join(SHARED_DATA, 'magnetic_tile'));
      expect(split.train).toHaveLength(752);
      expect(split.test).toHaveLength(592);
      expect(split.test.filter((i) => i.label === 1)).toHaveLength(392);
      const empty = split.test.find((i) => i.id.endsWith('exp3_num_45042.jpg'))!;
      const image = (await decodeImage(empty.image, empty.id)) as RawImage;
      const mask = await readMask(empty.maskFile!, image.width, image.height);
      expect(mask.some((v) => v !== 0)).toBe(false);
    },
  );
});

describe('CIFAR-10', () => {
  it('reads binary records as 32x32 RGB, planes interleaved', () => {
    const file = join(tempDir('cifar'), 'two.bin');
    const record = (label: number, r: number, g: number, b: number) =>
      Buffer.concat([Buffer.from([label]), Buffer.alloc(1024, r), Buffer.alloc(1024, g), Buffer.alloc(1024, b)]);
    writeFileSync(file, Buffer.concat([record(3, 10, 20, 30), record(9, 1, 2, 3)]));
    const recs = readCifarBinary(file);
    expect(recs.map((r) => r.classIndex)).toEqual([3, 9]);
    const img = recs[0].item.image as RawImage;
    expect([img.width, img.height, img.channels]).toEqual([32, 32, 3]);
    expect([...img.data.subarray(0, 6)]).toEqual([10, 20, 30, 10, 20, 30]);
    expect(recs[1].item.id).toBe('two.bin#1');
  });

  it('a file that is not whole records is refused with its size', () => {
    const file = join(tempDir('cifar'), 'bad.bin');
    writeFileSync(file, Buffer.alloc(3000));
    expect(() => readCifarBinary(file)).toThrow(/3000 bytes is not a positive multiple of the 3,073-byte record/);
  });

  it.skipIf(!hasSharedData)(
    'the JPEG container decodes (sharp) to the pixels of train.bin for the first records of a class',
    async () => {
      const bin = readCifarBinary(join(SHARED_DATA, 'cifar10', 'train.bin'));
      const jpeg = readCifarJpeg(join(SHARED_DATA, 'cifar10', 'train_jpeg.bin'));
      expect(jpeg).toHaveLength(50000);
      // Row label * 5000 + class_rank; train.bin keeps the first 1,000 of each class in original order,
      // so the k-th airplane of train.bin is class_rank k of the container (shared/data/README.md).
      const airplanes = bin.filter((r) => r.classIndex === 0).slice(0, 5);
      for (let k = 0; k < airplanes.length; k++) {
        const decoded = (await decodeImage(jpeg[k].item.image, jpeg[k].item.id)) as RawImage;
        expect(Buffer.from(decoded.data).equals(Buffer.from((airplanes[k].item.image as RawImage).data))).toBe(true);
      }
    },
  );

  it.skipIf(!hasSharedData)('one-class protocol: train on one class, test on all with labels', async () => {
    const root = join(SHARED_DATA, 'cifar10');
    // By default all 5,000 training images of the class (train_jpeg.bin), as the papers.
    const split = await openDataset({ kind: 'cifar10', root, normalClass: 3 });
    expect(split.train).toHaveLength(5000);
    expect(split.train.every((i) => i.category === 'cat' && i.label === 0 && i.image instanceof Uint8Array)).toBe(true);
    expect(split.description).toMatch(/all 5000 training images of the class \(train_jpeg\.bin\)/);
    const subset = await openDataset({ kind: 'cifar10', root, normalClass: 3, cifarTrain: 'subset' });
    expect(subset.train).toHaveLength(1000);
    expect(subset.train.every((i) => i.category === 'cat' && i.label === 0)).toBe(true);
    // The subset is the first 1,000 of the complete set, decoded: the same first image.
    const first = (await decodeImage(split.train[0].image, split.train[0].id)) as RawImage;
    expect(Buffer.from(first.data).equals(Buffer.from((subset.train[0].image as RawImage).data))).toBe(true);
    expect(split.test).toHaveLength(10000);
    expect(split.test.filter((i) => i.label === 0)).toHaveLength(1000);
    expect(split.test.filter((i) => i.label === 0).every((i) => i.category === 'cat')).toBe(true);
  });

  it('cifarTrain complete without train_jpeg.bin names the missing file', async () => {
    const dir = tempDir('cifar-no-jpeg');
    writeFileSync(join(dir, 'train.bin'), Buffer.alloc(3073));
    writeFileSync(join(dir, 'test.bin'), Buffer.alloc(3073));
    await expect(openDataset({ kind: 'cifar10', root: dir, cifarTrain: 'complete' })).rejects.toThrow(
      /Dataset file not found: .*train_jpeg\.bin/,
    );
    // auto falls back to train.bin.
    const split = await openDataset({ kind: 'cifar10', root: dir });
    expect(split.train).toHaveLength(1);
    expect(split.description).toMatch(/the 1 training images of train\.bin/);
  });
});

describe('Fashion-MNIST IDX', () => {
  function idx(dir: string, images: number[][], labels: number[]) {
    const head = Buffer.alloc(16);
    head.writeUInt32BE(0x803, 0);
    head.writeUInt32BE(images.length, 4);
    head.writeUInt32BE(2, 8);
    head.writeUInt32BE(2, 12);
    const lh = Buffer.alloc(8);
    lh.writeUInt32BE(0x801, 0);
    lh.writeUInt32BE(labels.length, 4);
    writeFileSync(join(dir, 'img.gz'), gzipSync(Buffer.concat([head, Buffer.from(images.flat())])));
    writeFileSync(join(dir, 'lab'), Buffer.concat([lh, Buffer.from(labels)]));
  }

  it('reads gzipped and plain IDX; channels 3 repeats the gray plane', () => {
    const dir = tempDir('idx');
    idx(
      dir,
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
      [7, 2],
    );
    const gray = readFashionMnist(join(dir, 'img.gz'), join(dir, 'lab'));
    expect(gray.map((r) => r.classIndex)).toEqual([7, 2]);
    expect(gray[0].item.category).toBe('Sneaker');
    expect([...(gray[1].item.image as RawImage).data]).toEqual([5, 6, 7, 8]);
    const rgb = readFashionMnist(join(dir, 'img.gz'), join(dir, 'lab'), { channels: 3 });
    expect([...(rgb[0].item.image as RawImage).data.subarray(0, 6)]).toEqual([1, 1, 1, 2, 2, 2]);
  });

  it('mismatched counts are refused naming both files', () => {
    const dir = tempDir('idx');
    idx(dir, [[1, 2, 3, 4]], [7, 2]);
    expect(() => readFashionMnist(join(dir, 'img.gz'), join(dir, 'lab'))).toThrow(/holds 2 labels .* holds 1 images/);
  });

  it.skipIf(!hasSharedData)('the real test set: 10,000 images of 28x28, 1,000 per class', () => {
    const dir = join(SHARED_DATA, 'fashion-mnist');
    const recs = readFashionMnist(join(dir, 't10k-images-idx3-ubyte.gz'), join(dir, 't10k-labels-idx1-ubyte.gz'));
    expect(recs).toHaveLength(10000);
    const counts = new Array(10).fill(0);
    for (const r of recs) counts[r.classIndex]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});

describe('subsampling', () => {
  it('is stratified by label and category, deterministic for a seed, and keeps order', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({
      id: `i${i}`,
      image: 'x',
      label: (i < 80 ? 0 : 1) as 0 | 1,
      category: i < 80 ? 'good' : 'bad',
    }));
    const a = stratifiedSubsample(items, 20, 7);
    expect(a).toHaveLength(20);
    expect(a.filter((i) => i.label === 1)).toHaveLength(4);
    expect(stratifiedSubsample(items, 20, 7).map((i) => i.id)).toEqual(a.map((i) => i.id));
    const idx = a.map((i) => Number(i.id.slice(1)));
    expect(idx).toEqual([...idx].sort((x, y) => x - y));
  });
});
