/** Dataset readers (MVTec AD layout, CIFAR-10, Fashion-MNIST) and the one-class protocol. */
export type { DatasetItem, OneClassSplit } from './types.js';
export { readMvtec, readMask } from './mvtec.js';
export { readCifarBinary, readCifarJpeg, CIFAR10_CLASSES } from './cifar10.js';
export { readFashionMnist, FASHION_MNIST_CLASSES } from './fashion-mnist.js';
export {
  openDataset,
  CIFAR_TRAIN_SETS,
  type CifarTrainSet,
  DATASET_KINDS,
  type DatasetKind,
  type DatasetSpec,
} from './protocol.js';
export { stratifiedSubsample, shuffle, seededRandom } from './subsample.js';
