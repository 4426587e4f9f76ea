/**
 * The CLI's command table: every command's summary, usage and options, each option with its help
 * text (`oneclass <command> --help` is generated from it, args.ts parses against it). Options
 * that several commands share are defined once, in groups, and spread into each command.
 */
import { PATCH_METHODS } from '../pipeline/dense-localization.js';
import { detectorKinds } from '../pipeline/registry.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  help: string;
  /** Shown as the value's name in help, e.g. FILE. */
  arg?: string;
}

const COMMON: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress bars or summaries (errors still go to stderr)' },
  json: { type: 'boolean', help: 'machine-readable JSON on stdout' },
  device: { type: 'string', arg: 'auto|cpu|cuda', help: "where detectors and the encoder run (default 'auto')" },
  threads: { type: 'string', arg: 'N', help: 'CPU threads (default: all cores)' },
};

const DETECTOR: Record<string, OptionSpec> = {
  detector: { type: 'string', arg: detectorKinds().join('|'), default: 'kde', help: 'stage-2 detector' },
  nu: { type: 'string', arg: 'NU', help: 'OC-SVM nu in (0, 1] (default 0.5)' },
  gamma: {
    type: 'string',
    arg: 'G|droc|scale|auto',
    help: "OC-SVM RBF gamma (default 'droc', on L2-normalized embeddings)",
  },
  bandwidth: { type: 'string', arg: 'H|droc|scott|silverman', help: "KDE bandwidth (default 'droc')" },
  metric: { type: 'string', arg: 'cosine|euclidean', help: "k-NN metric (default 'cosine')" },
  k: { type: 'string', arg: 'N', help: 'k-NN neighbours averaged (default 1)' },
  shrinkage: { type: 'string', arg: 'ledoit-wolf|none|C', help: "GDE covariance shrinkage (default 'ledoit-wolf')" },
  output: { type: 'string', arg: 'pooled|projection', help: "encoder output used (default 'pooled')" },
  views: {
    type: 'string',
    arg: 'auto|none|rotations',
    help: "embed each image as is ('none') or with its three quarter turns ('rotations'); default 'auto': rotations for encoders trained on quarter turns (rotation, contrastive-da)",
  },
  localize: { type: 'boolean', help: 'also fit localization (heatmaps)' },
  'patch-method': {
    type: 'string',
    arg: PATCH_METHODS.join('|'),
    help: "localization method (default: 'segmentation' for dense encoders, else 'crops')",
  },
  'coreset-ratio': {
    type: 'string',
    arg: 'R',
    help: 'patchcore: fraction of the training feature rows kept in the memory bank (default 0.01)',
  },
  'per-position': { type: 'boolean', help: 'crops: one patch detector per patch position (default: one shared)' },
  'patch-size': { type: 'string', arg: 'PX', help: 'crops: patch side in the resized image' },
  stride: { type: 'string', arg: 'PX', help: 'crops: patch stride in the resized image' },
  resize: { type: 'string', arg: 'PX', help: 'crops: square size the image is resized to before cutting patches' },
  sigma: {
    type: 'string',
    arg: 'PX',
    help: 'heatmap blur: dense methods, in model-input pixels (default 4); crops: spread of each patch score (default patch-size/4)',
  },
  'image-score': {
    type: 'string',
    arg: 'detector|max|top-k-mean',
    help: "image score: the image-level detector, the heatmap's maximum, or the mean of its top 1% (default: 'max' for dense methods and patch models, else 'detector')",
  },
  holdout: { type: 'string', arg: 'F', help: 'fraction of training images held out for thresholds (default 0.2)' },
  quantile: { type: 'string', arg: 'Q', help: 'threshold = this quantile of held-out normal scores (default 0.99)' },
  seed: { type: 'string', arg: 'N', help: 'seed for the held-out split and subsampling (default 0)' },
  'batch-size': { type: 'string', arg: 'N', help: 'images per batch' },
};

const DATASET: Record<string, OptionSpec> = {
  dataset: { type: 'string', arg: 'mvtec|cifar10|fashion-mnist', help: 'dataset layout of --data' },
  data: {
    type: 'string',
    arg: 'DIR',
    help: 'dataset folder (MVTec root, or the folder of train.bin/test.bin or the IDX files)',
  },
  'normal-class': { type: 'string', arg: 'N', help: 'CIFAR-10 / Fashion-MNIST class used as normal (default 0)' },
  'cifar-train': {
    type: 'string',
    arg: 'auto|complete|subset',
    help: 'CIFAR-10 training images: all 5,000 of the class (train_jpeg.bin) or the 1,000 of train.bin (default auto: complete when train_jpeg.bin exists)',
  },
  'train-limit': { type: 'string', arg: 'N', help: 'use at most N training images (stratified, seeded)' },
  'test-limit': { type: 'string', arg: 'N', help: 'use at most N test images (stratified, seeded)' },
  channels: {
    type: 'string',
    arg: '1|3',
    help: 'Fashion-MNIST: 3 repeats the gray plane for RGB encoders (default 1)',
  },
};

const INPUT: Record<string, OptionSpec> = {
  'skip-unreadable': {
    type: 'boolean',
    help: 'skip images that cannot be decoded (listed in a warning) instead of failing',
  },
  'allow-resize': { type: 'boolean', help: 'accept images whose size differs from the (fixed) training size' },
  'max-image-pixels': {
    type: 'string',
    arg: 'N',
    help: 'images declaring more pixels (width x height) are unreadable, not decoded (default 67108864)',
  },
  'max-batch-pixels': {
    type: 'string',
    arg: 'N',
    help: 'decoded pixels of one batch at most; a batch stops short of it (default 134217728)',
  },
  'strict-colour': {
    type: 'boolean',
    help: "refuse (exit 3) images whose colour family (gray/RGB) differs from the encoder's, or with alpha, instead of converting them",
  },
};

/** For commands that load a model: consent to read the encoder a model references (not embedded). */
const REFERENCED: Record<string, OptionSpec> = {
  'encoder-file': {
    type: 'string',
    arg: 'FILE',
    help: 'the encoder of a model fitted with --reference-encoder (a model file never makes oneclass read other files by itself)',
  },
};

/** The dynamic batcher's options (serve, bench load modes, jobs worker). */
const BATCHER: Record<string, OptionSpec> = {
  'max-batch': { type: 'string', arg: 'N', help: 'most images in one score batch (default 32)' },
  'max-localize-batch': { type: 'string', arg: 'N', help: 'most images in one localize batch (default 8)' },
  'max-delay-ms': {
    type: 'string',
    arg: 'MS',
    help: 'longest an image waits for a fuller batch (default 5)',
  },
  'max-queue': {
    type: 'string',
    arg: 'N',
    help: 'most images waiting; beyond it 429 / ERR_QUEUE_FULL (default 8 x max-batch)',
  },
  'timeout-ms': { type: 'string', arg: 'MS', help: 'per-request deadline, 0 = none (default 30000)' },
  'pipeline-depth': { type: 'string', arg: 'N', help: 'batches in flight: decode, encode, detect overlap (default 3)' },
  'encoder-batch': {
    type: 'string',
    arg: 'N',
    help: "images per ONNX Runtime call (default the encoder's 64; smaller lets decoding overlap inference)",
  },
};

export interface CommandSpec {
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  positionals: boolean;
}

export const COMMANDS: Record<string, CommandSpec> = {
  fit: {
    summary: 'fit a detector on normal images and write one model file',
    usage: 'oneclass fit --encoder MODEL.onnx (--train DIR | --dataset KIND --data DIR) --out MODEL.oneclass [options]',
    positionals: false,
    options: {
      encoder: { type: 'string', arg: 'FILE', help: 'ONNX encoder (its manifest .json beside it)' },
      train: { type: 'string', arg: 'DIR', help: 'folder of normal training images' },
      out: { type: 'string', short: 'o', arg: 'FILE', help: 'model file to write (atomically)' },
      'reference-encoder': { type: 'boolean', help: 'store only the encoder path + sha256 instead of embedding it' },
      'validation-good': {
        type: 'string',
        arg: 'DIR',
        help: 'labelled validation set, normal images (with --validation-anomalous: F1-optimal threshold)',
      },
      'validation-anomalous': { type: 'string', arg: 'DIR', help: 'labelled validation set, anomalous images' },
      ...DETECTOR,
      ...DATASET,
      'skip-unreadable': INPUT['skip-unreadable'],
      'max-image-pixels': INPUT['max-image-pixels'],
      'max-batch-pixels': INPUT['max-batch-pixels'],
      'strict-colour': INPUT['strict-colour'],
      ...COMMON,
    },
  },
  score: {
    summary: 'score images with a model (CSV or JSON)',
    usage: 'oneclass score --model MODEL.oneclass [--out FILE.csv|.json] IMAGE_OR_DIR...',
    positionals: true,
    options: {
      model: { type: 'string', short: 'm', arg: 'FILE', help: 'model file from `oneclass fit`' },
      out: {
        type: 'string',
        short: 'o',
        arg: 'FILE',
        help: 'write here (format from the extension) instead of stdout',
      },
      format: { type: 'string', arg: 'csv|json', help: 'output format (default csv, or from --out)' },
      'batch-size': DETECTOR['batch-size'],
      ...REFERENCED,
      ...INPUT,
      ...COMMON,
    },
  },
  localize: {
    summary: 'write heatmap PNGs and colour overlays for images',
    usage: 'oneclass localize --model MODEL.oneclass --out-dir DIR IMAGE_OR_DIR...',
    positionals: true,
    options: {
      model: { type: 'string', short: 'm', arg: 'FILE', help: 'model file fitted with --localize' },
      'out-dir': {
        type: 'string',
        short: 'o',
        arg: 'DIR',
        help: 'folder for <name>_heatmap.png, <name>_overlay.png and scores.csv',
      },
      alpha: { type: 'string', arg: 'A', help: 'overlay opacity of the colour map, 0 to 1 (default 0.5)' },
      'batch-size': DETECTOR['batch-size'],
      ...REFERENCED,
      ...INPUT,
      ...COMMON,
    },
  },
  eval: {
    summary: 'evaluate on a labelled dataset: image AUROC, F1-max, pixel AUROC, AUPRO',
    usage:
      'oneclass eval (--model MODEL.oneclass | --encoder MODEL.onnx [detector options]) --dataset KIND --data DIR [options]',
    positionals: false,
    options: {
      model: { type: 'string', short: 'm', arg: 'FILE', help: 'a fitted model (evaluated on the test split)' },
      encoder: { type: 'string', arg: 'FILE', help: 'or an encoder: fit on the training split first' },
      pixel: { type: 'boolean', help: 'pixel-level metrics (MVTec layout; needs localization)' },
      'save-scores': { type: 'string', arg: 'FILE', help: 'also write per-image scores and labels as JSON' },
      ...REFERENCED,
      ...DETECTOR,
      ...DATASET,
      ...INPUT,
      ...COMMON,
    },
  },
  bench: {
    summary: 'latency percentiles and throughput per stage; under load: --concurrency N or --rate R',
    usage:
      'oneclass bench --model MODEL.oneclass IMAGE_OR_DIR... [--repeat N]\n' +
      '       oneclass bench (--model MODEL.oneclass [--unbatched] | --url URL) (--concurrency N | --rate R) IMAGE_OR_DIR...',
    positionals: true,
    options: {
      model: { type: 'string', short: 'm', arg: 'FILE', help: 'model file' },
      repeat: { type: 'string', arg: 'N', help: 'passes over the images (default 3)' },
      'batch-size': DETECTOR['batch-size'],
      concurrency: {
        type: 'string',
        arg: 'N',
        help: 'load mode: N callers, each sending one image when its last answer came',
      },
      rate: { type: 'string', arg: 'R', help: 'load mode: R single-image requests per second, whatever the answers' },
      url: {
        type: 'string',
        arg: 'URL',
        help: 'load a running `oneclass serve` (http://host:port, or an endpoint URL) instead of an in-process batcher',
      },
      unbatched: { type: 'boolean', help: 'load mode: each request is its own Detector.score call (no batcher)' },
      'window-ms': { type: 'string', arg: 'MS', help: 'load mode: measurement window (default 3000)' },
      'warmup-ms': { type: 'string', arg: 'MS', help: 'load mode: unmeasured load first (default 1000)' },
      stability: {
        type: 'string',
        arg: 'PCT',
        help: 'load mode: windows agree within PCT % (throughput and latency) (default 10)',
      },
      'max-windows': { type: 'string', arg: 'N', help: 'load mode: give up on stability after N windows (default 10)' },
      ...BATCHER,
      ...REFERENCED,
      ...INPUT,
      ...COMMON,
    },
  },
  serve: {
    summary: 'HTTP server: score / localize with dynamic batching, metrics, graceful drain',
    usage: 'oneclass serve --model [NAME=]MODEL.oneclass [--model ...] [--port 8080] [options]',
    positionals: false,
    options: {
      model: {
        type: 'string',
        short: 'm',
        multiple: true,
        arg: '[NAME=]FILE',
        help: 'a model to serve, repeatable; named after the file unless NAME= is given; the first is the default',
      },
      host: { type: 'string', arg: 'HOST', help: "interface to listen on (default '127.0.0.1': loopback only)" },
      port: { type: 'string', short: 'p', arg: 'PORT', help: 'TCP port (default 8080; 0 = any free port)' },
      ...BATCHER,
      'max-body-bytes': { type: 'string', arg: 'N', help: 'largest request body (default 33554432 = 32 MiB)' },
      'max-pixels': { type: 'string', arg: 'N', help: 'largest image, width x height (default 40000000)' },
      'max-images': { type: 'string', arg: 'N', help: 'most images in one multipart request (default 64)' },
      'max-inflight': {
        type: 'string',
        arg: 'N',
        help: 'most scoring requests in flight; more get 429 before their body is read (default 256)',
      },
      'drain-timeout-ms': {
        type: 'string',
        arg: 'MS',
        help: 'on SIGTERM, longest wait for accepted requests before exiting 1 (default 30000)',
      },
      'log-level': {
        type: 'string',
        arg: 'LEVEL',
        help: "JSON log level: fatal|error|warn|info|debug|trace|silent (default 'info')",
      },
      'allow-resize': INPUT['allow-resize'],
      ...COMMON,
    },
  },
  jobs: {
    summary: 'distributed batch scoring and fit on BullMQ + Redis: submit, worker, status, collect, fit',
    usage:
      'oneclass jobs submit --model MODEL.oneclass --images LIST|DIR [--shard-size N] [--run ID] [--redis URL]\n' +
      '       oneclass jobs fit --encoder MODEL.onnx --images LIST|DIR --out MODEL.oneclass [detector options] [--redis URL]\n' +
      '       oneclass jobs worker [--redis URL] [--concurrency N] [--threads N] [batcher options]\n' +
      '       oneclass jobs status --run ID [--redis URL] [--json]\n' +
      '       oneclass jobs collect --run ID --out results.csv [--wait] [--partial] [--redis URL]',
    positionals: true,
    options: {
      redis: { type: 'string', arg: 'URL', help: "Redis to use (default 'redis://127.0.0.1:6379')" },
      model: { type: 'string', short: 'm', arg: 'FILE', help: 'submit: model file, on storage every worker reads' },
      images: {
        type: 'string',
        arg: 'LIST|DIR',
        help: 'submit, fit: a text file of image paths (one a line) or a folder of images',
      },
      'shard-size': { type: 'string', arg: 'N', help: 'submit, fit: images per shard job (default 500)' },
      attempts: { type: 'string', arg: 'N', help: 'submit: attempts per shard before the run fails (default 5)' },
      run: { type: 'string', arg: 'ID', help: 'the run id (submit: default a random UUID)' },
      concurrency: { type: 'string', arg: 'N', help: 'worker: shards processed at once (default 2)' },
      'lock-ms': {
        type: 'string',
        arg: 'MS',
        help: "worker: shard lock; a dead worker's shard is retried after it (default 30000)",
      },
      ...BATCHER,
      out: {
        type: 'string',
        short: 'o',
        arg: 'FILE',
        help: 'collect: CSV to write; fit: model file to write (atomically)',
      },
      encoder: {
        type: 'string',
        arg: 'FILE',
        help: 'fit: ONNX encoder (its manifest .json beside it), on shared storage',
      },
      ...DETECTOR,
      'skip-unreadable': INPUT['skip-unreadable'],
      wait: { type: 'boolean', help: 'collect: wait until the run has completed' },
      partial: { type: 'boolean', help: 'collect: write what exists of an incomplete run' },
      ...COMMON,
    },
  },
  info: {
    summary: "backends, devices, and why CUDA is or is not used; with --model, a model file's contents",
    usage: 'oneclass info [--model MODEL.oneclass] [--json]',
    positionals: false,
    options: {
      ...COMMON,
      model: {
        type: 'string',
        short: 'm',
        arg: 'FILE',
        help: 'show what a model file holds: encoder, detector, localization method, memory bank size',
      },
    },
  },
  train: {
    summary: 'train a stage-1 encoder on normal images (runs python-export/train.py; needs Python with PyTorch)',
    usage:
      'oneclass train --method METHOD (--train DIR | --dataset mvtec|cifar10|fashion-mnist --data DIR) --out PREFIX [options]',
    positionals: false,
    options: {
      method: {
        type: 'string',
        arg: 'METHOD',
        help: 'rotation, contrastive-da, cutpaste, cutpaste-scar, cutpaste-3way or cutpaste-dense (python-export/README.md)',
      },
      train: { type: 'string', arg: 'DIR', help: 'a folder of normal images (subfolders included); no test split' },
      dataset: { type: 'string', arg: 'mvtec|cifar10|fashion-mnist', help: 'dataset layout of --data' },
      data: {
        type: 'string',
        arg: 'DIR',
        help: 'dataset folder (MVTec root with train/good and optionally test/, or the CIFAR-10 / Fashion-MNIST folder)',
      },
      out: {
        type: 'string',
        short: 'o',
        arg: 'PREFIX',
        help: 'writes PREFIX.onnx, PREFIX.json (manifest) and PREFIX.pt (PyTorch weights), only when training succeeds',
      },
      python: {
        type: 'string',
        arg: 'PATH',
        help: "Python interpreter with torch, torchvision, onnx (default $ONECLASS_PYTHON, else /usr/bin/python3, else 'python3')",
      },
      'normal-class': DATASET['normal-class'],
      'train-limit': { type: 'string', arg: 'N', help: 'use only the first N normal training images' },
      'test-limit': { type: 'string', arg: 'N', help: 'evaluate on a seeded random subset of N test images' },
      colour: {
        type: 'string',
        arg: 'auto|rgb|gray',
        help: "colour space of the encoder (default 'auto': the images')",
      },
      alpha: { type: 'string', arg: 'MODE', help: 'alpha channel policy recorded in the manifest (train.py --help)' },
      background: { type: 'string', arg: 'R,G,B', help: 'background alpha is flattened onto' },
      'image-size': { type: 'string', arg: 'N', help: 'input size in pixels (default from the data, at most 256)' },
      patch: { type: 'string', arg: 'N', help: 'cutpaste methods: train on random N x N crops (patch-level model)' },
      width: { type: 'string', arg: 'W', help: 'ResNet-18 width multiplier (default 0.25)' },
      'proj-dim': { type: 'string', arg: 'N', help: 'projection head size (default 128)' },
      epochs: { type: 'string', arg: 'N', help: 'epochs (default 10)' },
      'budget-minutes': {
        type: 'string',
        arg: 'M',
        help: 'training time limit: the epochs are cut to what fits M minutes (planned from a timed step, re-planned each epoch)',
      },
      'batch-size': { type: 'string', arg: 'N', help: 'source images per step (default 64)' },
      lr: { type: 'string', arg: 'LR', help: 'learning rate (default 0.05)' },
      'weight-decay': { type: 'string', arg: 'WD', help: 'weight decay (default 5e-4)' },
      seed: { type: 'string', arg: 'N', help: 'random seed (default 0)' },
      precision: { type: 'string', arg: 'auto|fp32|bf16', help: "training precision (default 'auto')" },
      'channels-last': { type: 'string', arg: 'auto|on|off', help: "channels-last memory format (default 'auto')" },
      prefetch: { type: 'string', arg: 'N', help: 'batches prepared ahead in a thread (default 1)' },
      threads: { type: 'string', arg: 'N', help: 'CPU threads for PyTorch (default: all cores)' },
      help: COMMON.help,
      quiet: { type: 'boolean', short: 'q', help: "no training log (train.py's messages), only errors" },
      json: { type: 'boolean', help: 'print the written manifest as JSON on stdout' },
    },
  },
  demo: {
    summary: 'fit on the bundled magnetic-tile images, score held-back ones, write overlays',
    usage: 'oneclass demo [--out-dir DIR]',
    positionals: false,
    options: {
      'out-dir': {
        type: 'string',
        short: 'o',
        arg: 'DIR',
        help: "where to write the model and overlays (default './oneclass-demo')",
      },
      encoder: { type: 'string', arg: 'FILE', help: 'encoder to use (default: the magnetic-tile encoder in models/)' },
      detector: { type: 'string', arg: detectorKinds().join('|'), default: 'knn', help: 'stage-2 detector' },
      ...COMMON,
    },
  },
};
