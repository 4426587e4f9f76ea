/**
 * Parity of a dense encoder's extra ONNX outputs (patch_scores, patch_features; manifest "dense"
 * block) in onnxruntime-node with PyTorch, on the reference vectors python-export/make_fixtures.py
 * writes for dense models. The Encoder class does not read these outputs yet: this runs the graph
 * directly on the Encoder's own (bit-checked, encoder-parity.test.ts) input tensor, so the Node side
 * can rely on the exported outputs when it does. The pooled and projection outputs of the same
 * fixtures are checked by encoder-parity.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import {
  dataRoot,
  fixturesDir,
  hasData,
  maxAbsDiff,
  readSafetensors,
  repoRoot,
  TOLERANCE,
} from './fixtures/encoder/helpers.js';

interface DenseBlock {
  grid: { height: number; width: number };
  stride: number;
  receptiveField: number;
  outputs: { name: string; kind: 'scores' | 'features'; channels: number; description: string }[];
}

const denseFixtures = readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.safetensors'))
  .sort()
  .filter((f) => 'patch_scores' in readSafetensors(path.join(fixturesDir, f)).tensors);

it('has a dense reference fixture', () => {
  expect(denseFixtures.length).toBeGreaterThanOrEqual(1);
});

for (const fixtureFile of denseFixtures) {
  describe.skipIf(!hasData)(`dense outputs match PyTorch: ${fixtureFile}`, () => {
    const { tensors, metadata } = readSafetensors(path.join(fixturesDir, fixtureFile));
    const modelPath = path.join(repoRoot, metadata.model as string);
    const manifest = JSON.parse(readFileSync(modelPath.replace(/\.onnx$/, '.json'), 'utf8')) as {
      dense: DenseBlock;
      input: { name: string; channels: number; height: number; width: number };
    };

    it('has the manifest block the fixture was made with', () => {
      expect(manifest.dense).toEqual(metadata.dense);
      const { grid, stride } = manifest.dense;
      expect([grid.height * stride, grid.width * stride]).toEqual([manifest.input.height, manifest.input.width]);
      expect(manifest.dense.outputs.map((o) => [o.name, o.kind])).toEqual([
        ['patch_scores', 'scores'],
        ['patch_features', 'features'],
      ]);
    });

    it(`gives patch_scores and patch_features within ${TOLERANCE.embeddingAbs} of PyTorch`, async () => {
      const files = (metadata.files as string[]).map((f) => path.join(dataRoot, f));
      const encoder = await Encoder.load(modelPath, { device: 'cpu', threads: 1 });
      let input: Float32Array;
      try {
        input = await encoder.preprocess(files);
      } finally {
        await encoder.release();
      }
      const session = await InferenceSession.create(modelPath, { executionProviders: ['cpu'], logSeverityLevel: 4 });
      try {
        const { channels, height, width } = manifest.input;
        const feeds = { [manifest.input.name]: new Tensor('float32', input, [files.length, channels, height, width]) };
        const out = await session.run(feeds, ['patch_scores', 'patch_features']);
        const { grid } = manifest.dense;
        const featureChannels = manifest.dense.outputs[1]!.channels;
        const expectedDims = {
          patch_scores: [files.length, grid.height, grid.width],
          patch_features: [files.length, featureChannels, grid.height, grid.width],
        };
        for (const name of ['patch_scores', 'patch_features'] as const) {
          const got = out[name]!;
          expect(got.dims).toEqual(expectedDims[name]);
          expect(tensors[name]!.shape).toEqual(expectedDims[name]);
          const err = maxAbsDiff(got.data as Float32Array, tensors[name]!.data);
          console.log(`${fixtureFile} ${name}: max abs error ${err.toExponential(2)}`);
          expect(err).toBeLessThanOrEqual(TOLERANCE.embeddingAbs);
        }
      } finally {
        await session.release();
      }
    });
  });
}
