/**
 * Crafted model files: not corrupted ones (a checksum catches those) but files whose author
 * re-hashed them, so every field passes the sha256 and only the loader's own checks stand between
 * the file and the machine (issue 11, item 2). Each must be refused with ERR_MODEL_FORMAT, fast,
 * without reading paths of the author's choosing, or load into a model that scores with coded
 * errors only.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { seededRandom } from '../src/datasets/subsample.js';
import { Encoder } from '../src/encoder/index.js';
import { OneclassError } from '../src/errors.js';
import { Detector } from '../src/pipeline/detector.js';
import {
  decodeModelFile,
  encodeModelFile,
  MAX_MODEL_FILE_BYTES,
  type ModelParts,
  type PipelineConfig,
} from '../src/pipeline/model-file.js';
import { exampleFiles, FAST_LOCALIZATION, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';
import type { CropsLocalization } from '../src/pipeline/model-file.js';

const train = exampleFiles('train/good', 8);
const probe = exampleFiles('test/crack', 1);
const hasMkfifo = spawnSync('mkfifo', ['--version']).status === 0;

let encoder: Encoder;
let embedded: Uint8Array;
let referenced: Uint8Array;
let dir: string;

beforeAll(async () => {
  encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  const fit = async (embedEncoder: boolean) => {
    const det = await Detector.fit({
      encoder,
      images: train,
      detector: { kind: 'knn' },
      localization: FAST_LOCALIZATION,
      embedEncoder,
    });
    return det.toBytes();
  };
  embedded = await fit(true);
  referenced = await fit(false);
  dir = tempDir('hostile-model');
});
afterAll(async () => {
  await encoder?.release();
});

/** The model with its config changed and the checksum recomputed: it passes the sha256. */
function craft(base: Uint8Array, mutate: (config: PipelineConfig, parts: ModelParts) => void): Uint8Array {
  const parts = decodeModelFile(base);
  const config = structuredClone(parts.config);
  mutate(config, parts);
  return encodeModelFile({ ...parts, config });
}

let fileCount = 0;
function write(bytes: Uint8Array): string {
  const file = join(dir, `crafted-${fileCount++}.oneclass`);
  writeFileSync(file, bytes);
  return file;
}

async function refusal(file: string, options = {}): Promise<OneclassError> {
  const error = await Detector.load(file, { device: 'cpu', ...options }).then(
    async (det) => {
      await det.release();
      throw new Error('expected the load to be refused');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OneclassError);
  expect((error as OneclassError).code).toBe('ERR_MODEL_FORMAT');
  return error as OneclassError;
}

describe('a referenced encoder is never followed by itself', () => {
  it('an encoder path of /dev/zero: refused at once without consent, and with it (not a regular file)', async () => {
    const file = write(craft(referenced, (c) => (c.encoder.path = '/dev/zero')));
    expect((await refusal(file)).message).toMatch(/references its encoder \(\/dev\/zero.*encoderPath/);
    expect((await refusal(file, { encoderPath: '/dev/zero' })).message).toMatch(
      /\/dev\/zero: it is a character device, not a regular file/,
    );
  }, 10_000);

  it.skipIf(!hasMkfifo)(
    'a FIFO given as the encoder fails fast instead of waiting for a writer',
    async () => {
      const fifo = join(dir, 'encoder.fifo');
      spawnSync('mkfifo', [fifo]);
      const file = write(craft(referenced, (c) => (c.encoder.path = fifo)));
      expect((await refusal(file, { encoderPath: fifo })).message).toMatch(/it is a FIFO/);
    },
    10_000,
  );

  it('a folder, a loop of symbolic links, an oversized file, a file of another size are refused before reading', async () => {
    const file = write(referenced);
    const folder = join(dir, 'folder.onnx');
    mkdirSync(folder);
    expect((await refusal(file, { encoderPath: folder })).message).toMatch(/it is a folder/);
    const a = join(dir, 'loop-a.onnx');
    const b = join(dir, 'loop-b.onnx');
    symlinkSync(b, a);
    symlinkSync(a, b);
    expect((await refusal(file, { encoderPath: a })).message).toMatch(/loop of symbolic links/);
    const huge = join(dir, 'huge.onnx');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_MODEL_FILE_BYTES + 1); // sparse: nothing is written
    expect((await refusal(file, { encoderPath: huge })).message).toMatch(/more than the limit/);
    const other = join(dir, 'other.onnx');
    writeFileSync(other, readFileSync(TILE_ENCODER).subarray(0, 1000));
    expect((await refusal(file, { encoderPath: other })).message).toMatch(/encoder of \d+ bytes; .* holds 1000/);
  });

  it('crafted encoder fields: a relative path, no path, an impossible size', async () => {
    for (const mutate of [
      (c: PipelineConfig) => (c.encoder.path = '../../etc/encoder.onnx'),
      (c: PipelineConfig) => delete c.encoder.path,
      (c: PipelineConfig) => (c.encoder.size = -5),
      (c: PipelineConfig) => (c.encoder.size = 2 ** 60),
    ]) {
      expect((await refusal(write(craft(referenced, mutate)), { encoderPath: TILE_ENCODER })).message).toMatch(
        /config field 'encoder\.(path|size)/,
      );
    }
    const lying = craft(embedded, (c) => (c.encoder.size = (c.encoder.size ?? 0) + 1));
    expect((await refusal(write(lying))).message).toMatch(/embedded encoder holds \d+ bytes, the config says/);
  });
});

describe('the model file itself', () => {
  it('/dev/zero, a FIFO, a folder or a missing path as the model file fail fast with ERR_MODEL_FORMAT', async () => {
    expect((await refusal('/dev/zero')).message).toMatch(/character device, not a regular file/);
    expect((await refusal(dir)).message).toMatch(/it is a folder/);
    expect((await refusal(join(dir, 'missing.oneclass'))).message).toMatch(/not found/);
    if (hasMkfifo) {
      const fifo = join(dir, 'model.fifo');
      spawnSync('mkfifo', [fifo]);
      expect((await refusal(fifo)).message).toMatch(/it is a FIFO/);
    }
  }, 10_000);

  it('only the bytes the header describes are read: trailing data is ignored, a short file is truncated', async () => {
    const padded = write(Buffer.concat([embedded, Buffer.alloc(1 << 20, 7)]));
    const det = await Detector.load(padded, { device: 'cpu' });
    await det.release();
    expect((await refusal(write(embedded.subarray(0, embedded.length - 10)))).message).toMatch(
      /describes \d+ bytes but the file holds/,
    );
  });
});

describe('crafted configs with a valid checksum', () => {
  const cases: [string, (c: PipelineConfig) => void, RegExp][] = [
    [
      'a 100000 px localization square',
      (c) => ((c.localization as CropsLocalization).geometry.resize = 100000),
      /localization\.geometry/,
    ],
    [
      'a dense grid of 1 px patches on 4096 px (16 million patches)',
      (c) =>
        Object.assign((c.localization as CropsLocalization).geometry, {
          resize: 4096,
          patchSize: 1,
          stride: 1,
          gridRows: 4096,
          gridCols: 4096,
        }),
      /patches per image, more than 16384/,
    ],
    [
      'a grid that disagrees with its geometry',
      (c) => ((c.localization as CropsLocalization).geometry.gridRows = 1000),
      /localization\.geometry/,
    ],
    ['sigma 1e307', (c) => (c.localization!.sigma = 1e307), /localization\.sigma/],
    ['sigma 3e8', (c) => (c.localization!.sigma = 3e8), /localization\.sigma/],
    ['k of 1e9 neighbours', (c) => (c.detector.options.k = 1e9), /detector\.k/],
    [
      'an encoder input of 100000 px',
      (c) => ((c.encoder.manifest.input as { height: number }).height = 100000),
      /input\.height/,
    ],
    [
      'an embedding of a billion values',
      (c) => ((c.encoder.manifest.outputs[0] as { size: number }).size = 1e9),
      /outputs\['pooled'\]\.size/,
    ],
    ['a training size of 1e12 px', (c) => (c.input.size = { width: 1e12, height: 1 }), /input\.size/],
    ['a threshold that is text', (c) => ((c.image as { threshold: unknown }).threshold = 'high'), /calibration/],
    ['an unknown detector kind', (c) => (c.detector.kind = 'evil'), /config field 'detector'/],
    [
      'per-position detectors that are not there',
      (c) => ((c.localization as CropsLocalization).perPosition = true),
      /patch detectors stored/,
    ],
  ];
  for (const [what, mutate, message] of cases) {
    it(`${what}: ERR_MODEL_FORMAT at load`, async () => {
      expect((await refusal(write(craft(embedded, mutate)))).message).toMatch(message);
    });
  }

  it('fuzz: 400 re-hashed configs with hostile values are refused with ERR_MODEL_FORMAT or score with coded errors', async () => {
    const random = seededRandom(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const hostile = [-1, 0, 0.5, 1e9, 2 ** 53, 1e307, -1e307, null, '', '/dev/zero', '../x', true, [], {}, [1e9, 1e9]];
    const leaves = (o: unknown, path: string[] = []): string[][] =>
      o !== null && typeof o === 'object' ? Object.entries(o).flatMap(([k, v]) => leaves(v, [...path, k])) : [path];
    const base = decodeModelFile(embedded).config;
    const paths = leaves(base).filter((p) => p[0] !== 'training' && p[0] !== 'versions');
    let refused = 0;
    const accepted: Uint8Array[] = [];
    for (let trial = 0; trial < 400; trial++) {
      const bytes = craft(embedded, (c) => {
        for (let n = 0; n < 1 + Math.floor(random() * 3); n++) {
          const path = pick(paths);
          let target = c as unknown as Record<string, unknown>;
          for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
          if (target && typeof target === 'object') target[path[path.length - 1]] = structuredClone(pick(hostile));
        }
      });
      try {
        decodeModelFile(bytes);
        accepted.push(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(OneclassError);
        expect((e as OneclassError).code).toBe('ERR_MODEL_FORMAT');
        refused++;
      }
    }
    // Most mutations hit a checked field; the others (descriptions, detector options checked when
    // the detector is rebuilt) go on to a full load below.
    expect(refused).toBeGreaterThan(200);
    // What the file checks let through is loaded and used: coded errors only, never a crash.
    for (const bytes of accepted.slice(0, 8)) {
      const det = await Detector.load(write(bytes), { device: 'cpu' }).catch((e: unknown) => e);
      if (!(det instanceof Detector)) {
        expect(det).toBeInstanceOf(OneclassError);
        expect((det as OneclassError).code).toBe('ERR_MODEL_FORMAT');
        continue;
      }
      try {
        await det.localize(probe, { allowResize: true });
      } catch (e) {
        expect(e).toBeInstanceOf(OneclassError);
      } finally {
        await det.release();
      }
    }
  }, 120_000);
});
