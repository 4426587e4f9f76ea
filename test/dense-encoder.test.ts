/**
 * Dense encoders (manifest "dense" block): the block's validation, and forwardDecoded returning the
 * per-position scores and features of one forward pass, equal to PyTorch's outputs (the fixture of
 * python-export/make_dense_fixture.py), features transposed to position-major rows.
 */
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder, validateManifest } from '../src/encoder/index.js';
import { TOLERANCE } from './fixtures/encoder/helpers.js';
import { CIFAR_ENCODER } from './fixtures/eval/pipeline-helpers.js';
import { TINY_DENSE, tinyManifest, tinyReference } from './fixtures/dense/helpers.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let encoder: Encoder;
beforeAll(async () => {
  encoder = await Encoder.load(TINY_DENSE, { device: 'cpu', threads: 1 });
});
afterAll(async () => {
  await encoder?.release();
});

describe('dense encoder outputs', () => {
  it('exposes the dense block', () => {
    expect(encoder.dense).toEqual({
      gridHeight: 8,
      gridWidth: 8,
      stride: 8,
      receptiveField: 31,
      scores: { name: 'patch_scores' },
      features: { name: 'patch_features', channels: 16 },
    });
  });

  it('returns pooled, scores and features of one pass, equal to PyTorch', async () => {
    const { images, outputs } = tinyReference();
    const r = await encoder.forwardDecoded(images, { scores: true, features: true });
    expect(maxAbsDiff(r.image!.data, outputs.pooled.data as Float32Array)).toBeLessThanOrEqual(TOLERANCE.embeddingAbs);
    expect(maxAbsDiff(r.scores!, outputs.patch_scores.data as Float32Array)).toBeLessThanOrEqual(
      TOLERANCE.embeddingAbs,
    );
    // PyTorch's features are [N, C, gh, gw]; the encoder returns [N, positions, C].
    const [n, c, gh, gw] = outputs.patch_features.shape;
    const ref = outputs.patch_features.data as Float32Array;
    const transposed = new Float32Array(ref.length);
    for (let i = 0; i < n; i++)
      for (let ch = 0; ch < c; ch++)
        for (let p = 0; p < gh * gw; p++) transposed[(i * gh * gw + p) * c + ch] = ref[(i * c + ch) * gh * gw + p];
    expect(r.features).toMatchObject({ images: n, positions: gh * gw, dim: c });
    expect(maxAbsDiff(r.features!.data, transposed)).toBeLessThanOrEqual(TOLERANCE.embeddingAbs);
  });

  it('fetches only what is asked for', async () => {
    const { images } = tinyReference();
    const r = await encoder.forwardDecoded(images, { output: null, scores: true });
    expect(r.image).toBeNull();
    expect(r.features).toBeNull();
    expect(r.scores!.length).toBe(2 * 64);
    const none = await encoder.forwardDecoded([], { scores: true, features: true });
    expect(none.scores!.length).toBe(0);
    expect(none.features!.data.length).toBe(0);
  });

  it('refuses dense outputs of an encoder without a dense block, naming the option', async () => {
    const plain = await Encoder.load(CIFAR_ENCODER, { device: 'cpu', threads: 1 });
    try {
      expect(plain.dense).toBeNull();
      await expect(plain.forwardDecoded([], { features: true })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        path: 'options.features',
      });
    } finally {
      await plain.release();
    }
  });
});

describe('manifest dense block', () => {
  const withDense = (dense: unknown) => ({ ...tinyManifest(), dense });

  it('ignores unknown fields and outputs of unknown kinds', () => {
    const m = tinyManifest();
    const dense = {
      ...m.dense!,
      futureField: 1,
      outputs: [...m.dense!.outputs, { name: 'patch_depth', kind: 'depth', channels: 3 }],
    };
    expect(() => validateManifest({ ...m, somethingNew: true, dense }, 'm.json')).not.toThrow();
  });

  it('older manifests (no dense block) stay valid', () => {
    const plain = JSON.parse(readFileSync(CIFAR_ENCODER.replace(/\.onnx$/, '.json'), 'utf8'));
    expect(validateManifest(plain, 'plain.json').dense).toBeUndefined();
  });

  it.each([
    ['a grid that does not tile the input', { grid: { height: 7, width: 8 }, stride: 8 }, /dense\.grid/],
    ['a zero stride', { stride: 0 }, /dense\.stride/],
    ['scores with two channels', { outputs: [{ name: 's', kind: 'scores', channels: 2 }] }, /channels/],
    [
      'two outputs of one kind',
      {
        outputs: [
          { name: 'a', kind: 'features', channels: 4 },
          { name: 'b', kind: 'features', channels: 4 },
        ],
      },
      /at most one output of kind 'features'/,
    ],
    ['an output named pooled', { outputs: [{ name: 'pooled', kind: 'features', channels: 4 }] }, /name/],
  ])('refuses %s', (_what, change, message) => {
    const m = tinyManifest();
    expect(() => validateManifest(withDense({ ...m.dense!, ...change }), 'm.json')).toThrow(message);
    try {
      validateManifest(withDense({ ...m.dense!, ...change }), 'm.json');
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_MODEL_FORMAT');
    }
  });

  it('a dense output missing from the graph is refused at load', async () => {
    const m = tinyManifest();
    const dense = { ...m.dense!, outputs: [{ name: 'no_such_output', kind: 'scores', channels: 1 }] };
    const bytes = new Uint8Array(readFileSync(TINY_DENSE));
    await expect(Encoder.fromBytes(bytes, { ...m, dense }, { device: 'cpu', threads: 1 })).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/no_such_output/),
    });
  });
});
