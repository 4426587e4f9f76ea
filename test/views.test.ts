/**
 * Test-time views (src/encoder/views.ts): an image embedded with its three quarter turns.
 * References are built independently: quarter turns of the pixels resized to the input size (as
 * training turns them) embedded one view at a time, each scaled to unit length.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { modelSummary, modelSummaryLines } from '../src/cli/model-summary.js';
import { Detector } from '../src/pipeline/detector.js';
import { Encoder, type RawImage, resizeU8 } from '../src/encoder/index.js';
import { checkViews, joinViews, rotatedViews } from '../src/encoder/views.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { REPO } from './helpers.js';
import { tempDir } from './fixtures/eval/pipeline-helpers.js';

const ROTATION_ENCODER = join(REPO, 'models', 'cifar10-airplane-rotation.onnx');
const TILE_ENCODER = join(REPO, 'models', 'magnetic-tile-cutpaste3way.onnx');

/** One counter-clockwise quarter turn of an H x W x C image (numpy's rot90): out[i][j] = in[j][W-1-i]. */
function turnPixels(img: RawImage): RawImage {
  const { width: w, height: h, channels: c } = img;
  const out = new Uint8Array(img.data.length);
  // The turned image is W rows of H pixels.
  for (let i = 0; i < w; i++)
    for (let j = 0; j < h; j++)
      for (let ch = 0; ch < c; ch++) out[(i * h + j) * c + ch] = img.data[(j * w + (w - 1 - i)) * c + ch];
  return { data: out, width: h, height: w, channels: c };
}

function randomImage(width: number, height: number, seed: number): RawImage {
  let s = seed >>> 0;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = s >>> 24;
  }
  return { data, width, height, channels: 3 };
}

function unit(v: Float32Array): Float32Array {
  let ss = 0;
  for (const x of v) ss += x * x;
  return v.map((x) => x / Math.sqrt(ss));
}

describe('rotatedViews and joinViews', () => {
  it('quarter turns equal repeated single turns of each channel plane, view-major', () => {
    const n = 2,
      c = 3,
      s = 5;
    const input = Float32Array.from({ length: n * c * s * s }, (_, i) => Math.sin(i * 1.7) * 10);
    const out = rotatedViews(input, n, c, s);
    expect(out.length).toBe(4 * input.length);
    // Reference: turn a plane once, k times over.
    const turn = (p: Float32Array) => {
      const q = new Float32Array(s * s);
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) q[i * s + j] = p[j * s + (s - 1 - i)];
      return q;
    };
    for (let k = 0; k < 4; k++)
      for (let img = 0; img < n; img++)
        for (let ch = 0; ch < c; ch++) {
          let plane = input.slice((img * c + ch) * s * s, (img * c + ch + 1) * s * s);
          for (let t = 0; t < k; t++) plane = turn(plane);
          const at = ((k * n + img) * c + ch) * s * s;
          expect(Array.from(out.subarray(at, at + s * s))).toEqual(Array.from(plane));
        }
  });

  it('joins view-major rows into one row per image, each view of unit length', () => {
    // 2 views of 3 images, 2 columns; image 2's second view is all zero and stays zero.
    const data = Float32Array.from([3, 4, 1, 0, 0, 2, 0, 5, 6, 8, 0, 0]);
    const m = joinViews({ data, rows: 6, cols: 2 }, 3, 2);
    expect(m.rows).toBe(3);
    expect(m.cols).toBe(4);
    const expected = [0.6, 0.8, 0, 1, 1, 0, 0.6, 0.8, 0, 1, 0, 0];
    Array.from(m.data).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
  });

  it('rotations need a square input', () => {
    expect(() => checkViews('rotations', 32, 48)).toThrow(/views 'rotations' needs a square encoder input.*32 x 48/);
    expect(() => checkViews('none', 32, 48)).not.toThrow();
  });
});

describe('Encoder views', () => {
  let encoder: Encoder;
  beforeAll(async () => {
    encoder = await Encoder.load(ROTATION_ENCODER, { device: 'cpu' });
  });
  afterAll(async () => {
    await encoder?.release();
  });

  it("views 'rotations' equals the unit embeddings of the turned images, concatenated (resized or not)", async () => {
    // 40 x 24 and 17 x 17 are resized to the 32 x 32 input first, then turned (as in training).
    const images = [randomImage(32, 32, 1), randomImage(40, 24, 2), randomImage(17, 17, 3)];
    const joined = await encoder.embed(images, { views: 'rotations' });
    const d = encoder.outputSize('pooled');
    expect(joined.rows).toBe(3);
    expect(joined.cols).toBe(4 * d);
    for (let i = 0; i < images.length; i++) {
      let img = resizeU8(images[i], 32, 32);
      for (let k = 0; k < 4; k++) {
        const one = await encoder.embed([img]);
        const want = unit(one.data);
        const got = joined.data.subarray(i * 4 * d + k * d, i * 4 * d + (k + 1) * d);
        for (let c = 0; c < d; c++) expect(got[c]).toBeCloseTo(want[c], 6);
        img = turnPixels(img);
      }
    }
    // embedDecoded and embedTensor take the same option.
    const decoded = await encoder.embedDecoded(images, { views: 'rotations' });
    expect(Array.from(decoded.data)).toEqual(Array.from(joined.data));
    const tensor = await encoder.preprocess(images);
    const fromTensor = await encoder.embedTensor(tensor, images.length, { views: 'rotations' });
    expect(Array.from(fromTensor.data)).toEqual(Array.from(joined.data));
  });

  it('bad views values are errors naming the option', async () => {
    await expect(encoder.embed([randomImage(32, 32, 1)], { views: 'flips' as never })).rejects.toThrow(/views/);
    await expect(encoder.forwardDecoded([randomImage(32, 32, 1)], { views: 'rotations' } as never)).rejects.toThrow(
      /options\.views/,
    );
  });
});

describe('Detector views', () => {
  const train = Array.from({ length: 24 }, (_, i) => randomImage(32, 32, 100 + i));
  const test = Array.from({ length: 6 }, (_, i) => randomImage(32, 32, 200 + i));

  it('a rotation-trained encoder is fitted with its quarter turns by default, stored in the model file', async () => {
    const det = await Detector.fit({ encoder: ROTATION_ENCODER, images: train, detector: { kind: 'knn' } });
    try {
      expect(det.config.encoder.views).toBe('rotations');
      const file = join(tempDir('views'), 'rot.oneclass');
      await det.save(file);
      // A file with views has layout 3: older readers refuse it instead of scoring 1-view rows.
      const meta = decodeSafetensors(readFileSync(file)).metadata;
      expect(meta.version).toBe('3');
      // `oneclass info` says so.
      const summary = await modelSummary(file);
      expect((summary.encoder as { views: string }).views).toBe('rotations');
      expect(modelSummaryLines(summary).join('\n')).toMatch(/turned by 90, 180, 270 degrees \(views: rotations\)/);
      const loaded = await Detector.load(file);
      try {
        const a = (await det.score(test)).items;
        const b = (await loaded.score(test)).items;
        expect(b.map((r) => r.raw)).toEqual(a.map((r) => r.raw));
        // The k-NN distance is the one of the joined views: recompute it from embeddings.
        const enc = await Encoder.load(ROTATION_ENCODER, { device: 'cpu' });
        try {
          const tr = await enc.embed(train, { views: 'rotations' });
          const te = await enc.embed(test, { views: 'rotations' });
          const d = tr.cols;
          for (let q = 0; q < test.length; q++) {
            const x = te.data.subarray(q * d, (q + 1) * d);
            let best = Infinity;
            for (let r = 0; r < train.length; r++) {
              const y = tr.data.subarray(r * d, (r + 1) * d);
              let dot = 0,
                nx = 0,
                ny = 0;
              for (let c = 0; c < d; c++) {
                dot += x[c] * y[c];
                nx += x[c] * x[c];
                ny += y[c] * y[c];
              }
              best = Math.min(best, 1 - dot / Math.sqrt(nx * ny));
            }
            expect(a[q].raw).toBeCloseTo(best, 4);
          }
        } finally {
          await enc.release();
        }
      } finally {
        await loaded.release();
      }
    } finally {
      await det.release();
    }
  });

  it("views: 'none' fits on the image alone; other encoders default to none", async () => {
    const det = await Detector.fit({
      encoder: ROTATION_ENCODER,
      images: train,
      detector: { kind: 'knn' },
      views: 'none',
    });
    try {
      expect(det.config.encoder.views).toBeUndefined();
      const file = join(tempDir('views'), 'none.oneclass');
      await det.save(file);
      expect(decodeSafetensors(readFileSync(file)).metadata.version).toBe('1');
    } finally {
      await det.release();
    }
    const tile = await Detector.fit({ encoder: TILE_ENCODER, images: train.slice(0, 8), detector: { kind: 'knn' } });
    try {
      expect(tile.config.encoder.views).toBeUndefined();
    } finally {
      await tile.release();
    }
    await expect(
      Detector.fit({ encoder: ROTATION_ENCODER, images: train, detector: { kind: 'knn' }, views: 'turns' as never }),
    ).rejects.toThrow(/views/);
  });
});
