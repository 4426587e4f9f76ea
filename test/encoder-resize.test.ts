/**
 * The uint8 resize must equal python-export/preprocess.py's resize_u8 bit for bit: compared on
 * real magnetic-tile images through the sha256 of each output (test/fixtures/encoder/resize-cases.json,
 * written by make_fixtures.py with Pillow-decoded pixels; sharp decodes them identically).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { decodeImage, resizeU8, triangleTaps } from '../src/encoder/index.js';
import { dataRoot, fixturesDir, hasData } from './fixtures/encoder/helpers.js';

interface ResizeCase {
  file: string;
  height: number;
  width: number;
  sha256: string;
}
const { cases } = JSON.parse(readFileSync(path.join(fixturesDir, 'resize-cases.json'), 'utf8')) as {
  cases: ResizeCase[];
};

describe.skipIf(!hasData)('resizeU8 parity with python-export/preprocess.py', () => {
  for (const c of cases) {
    it(`${path.basename(c.file)} -> ${c.height}x${c.width}`, async () => {
      const file = path.join(dataRoot, c.file);
      const image = await decodeImage(file, file);
      const out = resizeU8(image, c.height, c.width);
      expect([out.height, out.width, out.channels]).toEqual([c.height, c.width, image.channels]);
      expect(createHash('sha256').update(out.data).digest('hex')).toBe(c.sha256);
    });
  }
});

describe('resizeU8 invariants', () => {
  it('leaves an image at the target size unchanged', () => {
    const data = Uint8Array.from({ length: 5 * 4 * 3 }, (_, i) => (i * 37) % 256);
    const out = resizeU8({ data, width: 5, height: 4, channels: 3 }, 4, 5);
    expect(out.data).toEqual(data);
  });

  it('keeps a constant image constant when shrinking and enlarging', () => {
    const data = new Uint8Array(40 * 30).fill(173);
    for (const [h, w] of [
      [7, 11],
      [90, 61],
    ]) {
      const out = resizeU8({ data, width: 40, height: 30, channels: 1 }, h, w);
      expect(out.data.every((v) => v === 173)).toBe(true);
    }
  });

  it('builds weights that sum to 2^14 within rounding', () => {
    for (const [from, to] of [
      [373, 128],
      [32, 32],
      [17, 100],
    ]) {
      const { counts, weights, maxTaps } = triangleTaps(from, to);
      for (let i = 0; i < to; i++) {
        let s = 0;
        for (let k = 0; k < counts[i]; k++) s += weights[i * maxTaps + k];
        expect(Math.abs(s - 16384)).toBeLessThanOrEqual(counts[i]);
      }
    }
  });
});
