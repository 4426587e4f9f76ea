/**
 * Parity of the Node encoder (sharp + resize.ts + normalize.ts + onnxruntime-node) with the
 * PyTorch reference vectors written by python-export/make_fixtures.py, on real images from
 * ../shared/data. Inputs must match bit for bit (sha256 of the float32 tensor); embeddings within
 * TOLERANCE.embeddingAbs.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeImage, embedFolder, Encoder, gridPatches, type ImageInput, resizeU8 } from '../src/encoder/index.js';
import {
  cifarRecord,
  dataRoot,
  fixturesDir,
  hasData,
  maxAbsDiff,
  readSafetensors,
  repoRoot,
  TOLERANCE,
} from './fixtures/encoder/helpers.js';

const fixtureFiles = readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.safetensors'))
  .sort();

function sha256(bytes: ArrayBufferView): string {
  return createHash('sha256')
    .update(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    .digest('hex');
}

it('has reference fixtures for the committed models', () => {
  expect(fixtureFiles.length).toBeGreaterThanOrEqual(2);
});

for (const fixtureFile of fixtureFiles) {
  describe.skipIf(!hasData)(`parity with PyTorch: ${fixtureFile}`, () => {
    const { tensors, metadata } = readSafetensors(path.join(fixturesDir, fixtureFile));
    const modelPath = path.join(repoRoot, metadata.model as string);
    let encoder: Encoder;
    let inputs: ImageInput[];

    beforeAll(async () => {
      encoder = await Encoder.load(modelPath, { device: 'cpu', threads: 1 });
      if (metadata.source === 'cifar10/test.bin') {
        const bin = readFileSync(path.join(dataRoot, 'cifar10/test.bin'));
        inputs = (metadata.records as number[]).map((r) => cifarRecord(bin, r));
      } else if (metadata.patchFrom) {
        // Patch-level model: resize the whole image as training did, then a grid of patches.
        const { height, width } = metadata.patchFrom as { height: number; width: number };
        const size = metadata.patchSize as number;
        inputs = [];
        for (const f of metadata.files as string[]) {
          const file = path.join(dataRoot, f);
          const resized = resizeU8(await decodeImage(file, file), height, width);
          inputs.push(...gridPatches(resized, size, metadata.patchStride as number).patches);
        }
      } else {
        inputs = (metadata.files as string[]).map((f) => path.join(dataRoot, f));
      }
    });
    afterAll(async () => {
      await encoder?.release();
    });

    it('uses the model the reference vectors were made with', () => {
      expect(sha256(readFileSync(modelPath)), `${modelPath} changed; rerun python-export/make_fixtures.py`).toBe(
        metadata.modelSha256,
      );
    });

    it('preprocesses to the bit-identical float32 input tensor', async () => {
      const input = await encoder.preprocess(inputs);
      expect(sha256(input)).toBe(metadata.inputSha256);
    });

    it(`matches PyTorch pooled and projection embeddings within ${TOLERANCE.embeddingAbs}`, async () => {
      const out = await encoder.embedAll(inputs, { batchSize: 5 });
      for (const name of ['pooled', 'projection'] as const) {
        const ref = tensors[name];
        expect([out[name].rows, out[name].cols]).toEqual(ref.shape);
        const err = maxAbsDiff(out[name].data, ref.data);
        console.log(`${fixtureFile} ${name}: max abs error ${err.toExponential(2)}`);
        expect(err).toBeLessThanOrEqual(TOLERANCE.embeddingAbs);
      }
    });

    if (metadata.jpegSource) {
      it('decodes the same images from their JPEG files (sharp) to the same embeddings', async () => {
        const blob = readFileSync(path.join(dataRoot, metadata.jpegSource as string));
        const jpegs = (metadata.jpegOffsetLength as [number, number][]).map(([o, n]) => blob.subarray(o, o + n));
        // sharp (mozjpeg) and Pillow (libjpeg-turbo) decode these JPEGs identically (measured on
        // 1,000 images), so the input tensor is the same bit for bit.
        expect(sha256(await encoder.preprocess(jpegs))).toBe(metadata.inputSha256);
        const pooled = await encoder.embed(jpegs, { output: 'pooled' });
        expect(maxAbsDiff(pooled.data, tensors.pooled.data)).toBeLessThanOrEqual(TOLERANCE.embeddingAbs);
      });
    }
  });
}

describe.skipIf(!hasData)('batching and folders', () => {
  const modelPath = path.join(repoRoot, 'models/magnetic-tile-cutpaste3way.onnx');
  const folder = path.join(dataRoot, 'magnetic_tile/test/fray');

  it('embeds a folder in sorted file order, independent of batch size', async () => {
    const encoder = await Encoder.load(modelPath, { device: 'cpu', batchSize: 7 });
    try {
      const { files, embeddings } = await embedFolder(encoder, folder);
      const expected = readdirSync(folder)
        .filter((f) => f.endsWith('.jpg'))
        .sort()
        .map((f) => path.join(folder, f));
      expect(files).toEqual(expected);
      expect([embeddings.rows, embeddings.cols]).toEqual([files.length, encoder.outputSize('pooled')]);
      const single = await encoder.embed(files.slice(10, 11), { batchSize: 1 });
      const row = embeddings.data.subarray(10 * embeddings.cols, 11 * embeddings.cols);
      expect(maxAbsDiff(single.data, row)).toBeLessThanOrEqual(TOLERANCE.embeddingAbs);
      // A preprocessed tensor run through embedTensor gives the same rows as embed.
      const some = files.slice(0, 6);
      const viaTensor = await encoder.embedTensor(await encoder.preprocess(some), some.length, { batchSize: 4 });
      expect(maxAbsDiff(viaTensor.data, embeddings.data.subarray(0, 6 * embeddings.cols))).toBeLessThanOrEqual(
        TOLERANCE.embeddingAbs,
      );
    } finally {
      await encoder.release();
    }
  });
});
