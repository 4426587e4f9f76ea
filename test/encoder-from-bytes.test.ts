/**
 * Encoder.fromBytes: an ONNX Runtime session from bytes and a manifest object, the path
 * Detector.load takes (no temporary file). Same embeddings as Encoder.load; the encoder keeps the
 * bytes it runs, which is what a model file embeds when it is fitted with that encoder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder, type EncoderManifest, type RawImage } from '../src/encoder/index.js';
import { Detector } from '../src/pipeline/detector.js';
import { sha256 } from '../src/pipeline/model-file.js';
import { FIXTURES } from './helpers.js';
import { CIFAR_ENCODER, exampleFiles } from './fixtures/eval/pipeline-helpers.js';

const manifest = JSON.parse(readFileSync(CIFAR_ENCODER.replace(/\.onnx$/, '.json'), 'utf8')) as EncoderManifest;

function noiseImage(seed: number): RawImage {
  let s = seed;
  const data = Uint8Array.from({ length: 32 * 32 * 3 }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
  return { data, width: 32, height: 32, channels: 3 };
}

let fromFile: Encoder;
beforeAll(async () => {
  fromFile = await Encoder.load(CIFAR_ENCODER, { device: 'cpu', threads: 1 });
});
afterAll(async () => {
  await fromFile?.release();
});

describe('Encoder.fromBytes', () => {
  it('embeds exactly as Encoder.load, and keeps its own copy of the bytes', async () => {
    const bytes = new Uint8Array(readFileSync(CIFAR_ENCODER));
    const fromBytes = await Encoder.fromBytes(bytes, manifest, { device: 'cpu', threads: 1 });
    try {
      bytes.fill(0); // the caller may reuse its array
      expect(fromBytes.modelPath).toBeNull();
      expect(sha256(fromBytes.modelBytes)).toBe(sha256(fromFile.modelBytes));
      expect(Buffer.from(fromFile.modelBytes).equals(readFileSync(CIFAR_ENCODER))).toBe(true);
      const images = [noiseImage(1), noiseImage(2), noiseImage(3)];
      const [a, b] = await Promise.all([fromFile.embed(images), fromBytes.embed(images)]);
      expect([b.rows, b.cols]).toEqual([a.rows, a.cols]);
      expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    } finally {
      await fromBytes.release();
    }
  });

  it('embedDecoded (the pipeline path) gives the rows embed gives', async () => {
    const images = [noiseImage(4), noiseImage(5)];
    const [a, b] = await Promise.all([fromFile.embed(images), fromFile.embedDecoded(images)]);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    // An image in another colour space is converted as embed converts it, or refused when strict.
    const gray = {
      data: Uint8Array.from({ length: 32 * 32 }, (_, i) => (i * 37) % 256),
      width: 32,
      height: 32,
      channels: 1,
    };
    const replicated = {
      ...gray,
      data: Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => gray.data[(i / 3) | 0]),
      channels: 3,
    };
    const [c, d] = await Promise.all([fromFile.embedDecoded([replicated]), fromFile.embedDecoded([gray])]);
    expect(Buffer.from(d.data.buffer).equals(Buffer.from(c.data.buffer))).toBe(true);
    await expect(fromFile.embedDecoded([gray], { labels: ['tile.png'], strictColour: true })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'tile.png',
      message: expect.stringMatching(
        /^tile\.png is grayscale but the model expects RGB \(model .*cifar10-airplane-rotation\.onnx\); strict colour mode/,
      ),
    });
  });

  it('refuses what is not bytes, and a manifest that does not fit the graph, with coded errors', async () => {
    const bytes = readFileSync(CIFAR_ENCODER);
    await expect(Encoder.fromBytes('model.onnx' as never, manifest)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'onnxBytes',
    });
    await expect(
      Encoder.fromBytes(bytes, { ...manifest, format: 'something-else' } as never, { label: 'x.oneclass' }),
    ).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT', message: expect.stringMatching(/x\.oneclass \(manifest\)/) });
    const wrongSize = { ...manifest, input: { ...manifest.input, height: 64, width: 64 } };
    wrongSize.preprocess = { ...manifest.preprocess, resize: { ...manifest.preprocess.resize, height: 64, width: 64 } };
    await expect(Encoder.fromBytes(bytes, wrongSize, { label: 'x.oneclass' })).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/x\.oneclass disagrees with its manifest/),
    });
    await expect(Encoder.fromBytes(bytes.subarray(0, 1000), manifest)).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
    });
  });

  it('a model file loaded from bytes can be refitted: the new model embeds the same encoder', async () => {
    const loaded = await Detector.load(join(FIXTURES, 'model', 'v1-ocsvm-knn.oneclass'), { device: 'cpu' });
    try {
      const train = exampleFiles('train/good', 8);
      // Only a path can be referenced; the check comes before any image is read.
      await expect(
        Detector.fit({ encoder: loaded.encoder, images: train, detector: { kind: 'knn' }, embedEncoder: false }),
      ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'embedEncoder' });
      const refit = await Detector.fit({ encoder: loaded.encoder, images: train, detector: { kind: 'knn' } });
      expect(refit.config.encoder.sha256).toBe(loaded.config.encoder.sha256);
      expect(refit.config.encoder.embedded).toBe(true);
    } finally {
      await loaded.release();
    }
  });
});
