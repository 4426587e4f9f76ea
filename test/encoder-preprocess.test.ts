/**
 * The addon's C++ preprocessing (resize 'triangle-fixed14' + normalization) against the
 * TypeScript reference implementation it ports (itself checked against Python in
 * encoder-resize.test.ts): identical bytes and floats for random images of many shapes.
 */
import { describe, expect, it } from 'vitest';

import { buildNormalizeTable, resizeU8, writeNormalizedCHW } from '../src/encoder/index.js';
import { preprocessInto } from '../src/encoder/preprocess.js';

function randomImage(width: number, height: number, channels: number, seed: number) {
  let s = seed >>> 0 || 1;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height, channels };
}

describe('native preprocessing equals the TypeScript reference', () => {
  const shapes: Array<[number, number, number, number, number]> = [
    [32, 32, 3, 32, 32],
    [103, 403, 1, 128, 128],
    [632, 222, 1, 128, 128],
    [7, 5, 3, 64, 48],
    [300, 300, 3, 32, 32],
    [1, 1, 1, 4, 4],
    [256, 256, 1, 64, 64],
  ];
  for (const [w, h, c, oh, ow] of shapes) {
    it(`${w}x${h}x${c} -> ${ow}x${oh}`, async () => {
      const image = randomImage(w, h, c, w * 31 + h);
      const mean = [0.485, 0.456, 0.406].slice(0, c);
      const std = [0.229, 0.224, 0.225].slice(0, c);
      const table = buildNormalizeTable(mean, std);
      const per = c * oh * ow;
      const expected = new Float32Array(2 * per);
      writeNormalizedCHW(resizeU8(image, oh, ow), table, expected, per);
      const got = new Float32Array(2 * per);
      await preprocessInto(image, oh, ow, table, got, per);
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    });
  }

  it('small images run on the calling thread, with the bytes of the call on libuv threads', async () => {
    const { binding } = await import('../src/native.js');
    const { SYNC_PREPROCESS_PIXELS } = await import('../src/encoder/preprocess.js');
    for (const [w, h, c, oh, ow] of shapes) {
      const image = randomImage(w, h, c, w * 7 + h);
      const table = buildNormalizeTable([0.4, 0.5, 0.6].slice(0, c), [0.2, 0.25, 0.3].slice(0, c));
      const per = c * oh * ow;
      const viaPool = new Float32Array(per);
      const inline = new Float32Array(per);
      await binding().preprocessImage(image, { height: oh, width: ow, table, out: viaPool, offset: 0 });
      binding().preprocessImageSync(image, { height: oh, width: ow, table, out: inline, offset: 0 });
      expect(Buffer.from(inline.buffer).equals(Buffer.from(viaPool.buffer))).toBe(true);
    }
    // The shapes above include both sides of the threshold.
    expect(
      shapes.some(([w, h, , oh, ow]) => w * h <= SYNC_PREPROCESS_PIXELS && oh * ow <= SYNC_PREPROCESS_PIXELS),
    ).toBe(true);
    expect(shapes.some(([w, h]) => w * h > SYNC_PREPROCESS_PIXELS)).toBe(true);
    const table = buildNormalizeTable([0.5], [0.5]);
    expect(() =>
      binding().preprocessImageSync(randomImage(8, 8, 1, 3), {
        height: 8,
        width: 8,
        table,
        out: new Float32Array(70),
        offset: 10,
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('rejects an output too short for the offset', async () => {
    const image = randomImage(8, 8, 1, 3);
    const table = buildNormalizeTable([0.5], [0.5]);
    await expect(preprocessInto(image, 8, 8, table, new Float32Array(70), 10)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});
