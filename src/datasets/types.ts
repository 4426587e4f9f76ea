/** What every dataset reader returns: named images, optionally labelled, optionally with a mask. */
import type { ImageInput } from '../encoder/index.js';

export interface DatasetItem {
  /** Stable name used in reports, CSV rows and error messages (a file path, or `file#record`). */
  readonly id: string;
  readonly image: ImageInput;
  /** 1 = anomalous, 0 = normal (test sets); absent when unknown. */
  readonly label?: 0 | 1;
  /** The class or defect type ('good', 'crack', 'airplane', ...). */
  readonly category?: string;
  /** Ground-truth mask file (MVTec layout), anomalous items only. */
  readonly maskFile?: string;
}

export interface OneClassSplit {
  /** Normal training images only. */
  readonly train: DatasetItem[];
  /** Test images with labels (normal class 0, every other class 1). */
  readonly test: DatasetItem[];
  /** What was read, for reports ("cifar10 test.bin, normal class 0 airplane, ..."). */
  readonly description: string;
}
