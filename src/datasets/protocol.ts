/**
 * The one-class protocol of the papers: train on the images of one class only, test on the whole
 * test set with that class as normal (label 0) and every other class as anomalous (label 1).
 * MVTec-layout folders already are one-class splits.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

import { invalidInput } from '../errors.js';
import { expectInteger } from '../validate.js';
import { CIFAR10_CLASSES, readCifarBinary, readCifarJpeg } from './cifar10.js';
import { FASHION_MNIST_CLASSES, readFashionMnist } from './fashion-mnist.js';
import { readMvtec } from './mvtec.js';
import { stratifiedSubsample } from './subsample.js';
import type { DatasetItem, OneClassSplit } from './types.js';

export type DatasetKind = 'mvtec' | 'cifar10' | 'fashion-mnist';
export const DATASET_KINDS: readonly DatasetKind[] = ['mvtec', 'cifar10', 'fashion-mnist'];

export const CIFAR_TRAIN_SETS = ['auto', 'complete', 'subset'] as const;
export type CifarTrainSet = (typeof CIFAR_TRAIN_SETS)[number];

export interface DatasetSpec {
  kind: DatasetKind;
  /** The dataset's folder (MVTec root, or the folder holding train.bin/test.bin or the IDX files). */
  root: string;
  /** Class index used as normal (CIFAR-10, Fashion-MNIST). */
  normalClass?: number;
  /**
   * CIFAR-10 training images: 'complete' (all 5,000 of the class, the papers' protocol, from
   * train_jpeg.bin + train_jpeg.csv), 'subset' (the 1,000 of train.bin), or 'auto' (default:
   * complete when train_jpeg.bin is in the folder, else the subset).
   */
  cifarTrain?: CifarTrainSet;
  /** Channels of the images handed to the encoder (Fashion-MNIST: 3 repeats the gray plane). */
  channels?: 1 | 3;
  /** Subsample sizes (stratified, seeded); undefined = everything. */
  trainLimit?: number;
  testLimit?: number;
  seed?: number;
}

function need(file: string): string {
  if (!existsSync(file)) throw invalidInput(file, `Dataset file not found: ${file}`);
  return file;
}

function labelled(
  records: { item: DatasetItem; classIndex: number }[],
  normalClass: number,
): { normal: DatasetItem[]; all: DatasetItem[] } {
  const all = records.map(({ item, classIndex }) => ({
    ...item,
    label: classIndex === normalClass ? (0 as const) : (1 as const),
  }));
  return { normal: all.filter((i) => i.label === 0), all };
}

export async function openDataset(spec: DatasetSpec): Promise<OneClassSplit> {
  const seed = spec.seed ?? 0;
  let split: OneClassSplit;
  if (spec.kind === 'mvtec') {
    split = await readMvtec(spec.root);
  } else {
    const normalClass = expectInteger('normalClass', spec.normalClass ?? 0, 0, 9);
    if (spec.kind === 'cifar10') {
      const jpegs = path.join(spec.root, 'train_jpeg.bin');
      const given = spec.cifarTrain ?? 'auto';
      const complete = given === 'complete' || (given === 'auto' && existsSync(jpegs));
      const trainFile = complete ? need(jpegs) : need(path.join(spec.root, 'train.bin'));
      // Only the normal class's JPEGs are kept (the records are views into the one file buffer).
      const records = complete ? readCifarJpeg(trainFile) : readCifarBinary(trainFile);
      const train = labelled(records, normalClass).normal;
      const test = labelled(readCifarBinary(need(path.join(spec.root, 'test.bin'))), normalClass).all;
      split = {
        train,
        test,
        description: `CIFAR-10 ${spec.root}: normal class ${normalClass} (${CIFAR10_CLASSES[normalClass]}), ${complete ? `all ${train.length} training images of the class (train_jpeg.bin)` : `the ${train.length} training images of train.bin`} + test.bin`,
      };
    } else {
      const ch = spec.channels ?? 1;
      const dir = spec.root;
      const train = labelled(
        readFashionMnist(
          need(path.join(dir, 'train-images-idx3-ubyte.gz')),
          need(path.join(dir, 'train-labels-idx1-ubyte.gz')),
          { channels: ch, keep: (c) => c === normalClass },
        ),
        normalClass,
      ).normal;
      const test = labelled(
        readFashionMnist(
          need(path.join(dir, 't10k-images-idx3-ubyte.gz')),
          need(path.join(dir, 't10k-labels-idx1-ubyte.gz')),
          { channels: ch },
        ),
        normalClass,
      ).all;
      split = {
        train,
        test,
        description: `Fashion-MNIST ${dir}: normal class ${normalClass} (${FASHION_MNIST_CLASSES[normalClass]})`,
      };
    }
  }
  const train = stratifiedSubsample(split.train, spec.trainLimit, seed);
  const test = stratifiedSubsample(split.test, spec.testLimit, seed + 1);
  const sub =
    spec.trainLimit !== undefined || spec.testLimit !== undefined
      ? `; subsampled (seed ${seed}) to ${train.length} train / ${test.length} test`
      : '';
  return { train, test, description: split.description + sub };
}
