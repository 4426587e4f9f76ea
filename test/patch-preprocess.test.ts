/**
 * Localization patches prepared natively (preprocessPatches, used by patchEmbeddings) against
 * the TypeScript path they replace and keep as the reference: resizeU8 of the image, gridPatches,
 * resizeU8 of each patch whose size differs from the encoder input, writeNormalizedCHW. The
 * tensors must be identical bit for bit, on real tiles and for patches equal to, smaller and
 * larger than the input.
 */
import { describe, expect, it } from 'vitest';

import {
  buildNormalizeTable,
  decodeImage,
  gridPatches,
  type RawImage,
  resizeU8,
  writeNormalizedCHW,
} from '../src/encoder/index.js';
import { type PatchGridGeometry, preprocessPatches } from '../src/encoder/preprocess.js';
import { exampleFiles } from './fixtures/eval/pipeline-helpers.js';

function referenceTensor(
  images: readonly RawImage[],
  g: PatchGridGeometry,
  height: number,
  width: number,
  table: Float32Array,
): Float32Array {
  const per = images[0].channels * height * width;
  const grids = images.map((image) => gridPatches(resizeU8(image, g.resize, g.resize), g.patchSize, g.stride));
  const positions = grids[0].patches.length;
  const tensor = new Float32Array(images.length * positions * per);
  grids.forEach((grid, i) =>
    grid.patches.forEach((patch, p) => {
      const atSize = patch.width === width && patch.height === height ? patch : resizeU8(patch, height, width);
      writeNormalizedCHW(atSize, table, tensor, (i * positions + p) * per);
    }),
  );
  return tensor;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer));
}

describe('native patch preprocessing equals the TypeScript path', () => {
  // The tile encoder's input (128 x 128, gray) and statistics (models/magnetic-tile-cutpaste3way.json).
  const table = buildNormalizeTable([0.43], [0.1793]);
  const files = [...exampleFiles('train/good', 3), ...exampleFiles('test/crack', 1), ...exampleFiles('test/fray', 1)];
  const cases: Array<[string, PatchGridGeometry, number, number]> = [
    ['patches at the input size (the default geometry)', { resize: 256, patchSize: 128, stride: 32 }, 128, 128],
    ['patches smaller than the input (upsampled)', { resize: 256, patchSize: 64, stride: 32 }, 128, 128],
    [
      'patches larger than the input (downsampled), uneven stride',
      { resize: 200, patchSize: 150, stride: 25 },
      128,
      128,
    ],
    ['a non-square input', { resize: 160, patchSize: 100, stride: 30 }, 96, 112],
  ];
  for (const [name, g, height, width] of cases) {
    it(`real tiles: ${name}`, async () => {
      const images = await Promise.all(files.map((f) => decodeImage(f, f)));
      expect(new Set(images.map((i) => `${i.width}x${i.height}`)).size).toBeGreaterThan(1); // sizes differ
      const want = referenceTensor(images, g, height, width, table);
      const got = await preprocessPatches(images, g, height, width, table);
      expect(sameBits(got, want)).toBe(true);
    });
  }

  it('three channels', async () => {
    const data = new Uint8Array(61 * 47 * 3);
    let s = 7;
    for (let i = 0; i < data.length; i++) data[i] = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
    const image = { data, width: 61, height: 47, channels: 3 };
    const rgb = buildNormalizeTable([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    const g = { resize: 64, patchSize: 24, stride: 10 };
    const want = referenceTensor([image], g, 32, 32, rgb);
    expect(sameBits(await preprocessPatches([image], g, 32, 32, rgb), want)).toBe(true);
  });

  it('refuses images whose channels differ from each other or from the table', async () => {
    const gray = { data: new Uint8Array(64 * 64), width: 64, height: 64, channels: 1 };
    const rgb = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 };
    const g = { resize: 64, patchSize: 32, stride: 16 };
    await expect(preprocessPatches([gray, rgb], g, 32, 32, table)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/images\[1\] has 3 channels/),
    });
    await expect(preprocessPatches([rgb], g, 32, 32, table)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
  });

  it('an empty batch gives an empty tensor', async () => {
    expect((await preprocessPatches([], { resize: 64, patchSize: 32, stride: 16 }, 32, 32, table)).length).toBe(0);
  });
});
