/**
 * Decoding to the model's colour space: Node (sharp + src/encoder/colour.ts) against Python
 * (Pillow + python-export/colour.py) on real files of every kind, generated with their expected
 * tensors by python-export/make_decode_fixtures.py. Bytes must be identical, and so must the
 * normalized model input after the resize.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildNormalizeTable, decodeImage, Encoder, validateManifest } from '../src/encoder/index.js';
import { type ColourPolicy, DEFAULT_COLOUR_POLICY, toModelColour } from '../src/encoder/colour.js';
import { readHeader } from '../src/encoder/pixel-budget.js';
import { preprocessInto } from '../src/encoder/preprocess.js';
import { OneclassError } from '../src/errors.js';
import { modelsDir, readSafetensors, repoRoot } from './fixtures/encoder/helpers.js';

const dir = path.join(repoRoot, 'test/fixtures/decode');
const { u8, metadata } = readSafetensors(path.join(dir, 'expected.safetensors'));
const files = metadata.files as Record<string, { kind: string; layout: string; sha256: string; bits: number }>;
const policies = metadata.policies as Record<string, ColourPolicy>;
const pre = metadata.preprocess as {
  height: number;
  width: number;
  mean: Record<string, number[]>;
  std: Record<string, number[]>;
};
const inputSha256 = metadata.inputSha256 as Record<string, string>;

const sha256 = (b: ArrayBufferView) =>
  createHash('sha256')
    .update(new Uint8Array(b.buffer, b.byteOffset, b.byteLength))
    .digest('hex');

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return `lengths ${a.length} vs ${b.length}`;
}

it('has fixtures of every kind the issue lists', () => {
  const kinds = Object.values(files).map((f) => f.kind);
  for (const k of ['grayscale', 'RGB', 'RGBA', 'gray + alpha', '16-bit', 'palette', 'CMYK', 'EXIF']) {
    expect(
      kinds.some((x) => x.includes(k)),
      k,
    ).toBe(true);
  }
});

describe.each(Object.entries(files))('%s', (name, info) => {
  const file = path.join(dir, name);

  it('is the file the expected tensors were made from', () => {
    expect(sha256(readFileSync(file))).toBe(info.sha256);
  });

  const cases = Object.keys(u8)
    .filter((k) => k.startsWith(`${name}|`))
    .map((k) => {
      const [, channels, policy] = k.split('|');
      return { key: k, channels: Number(channels) as 1 | 3, policy };
    });

  it.each(cases)('decodes to the same bytes as Python: $channels channel(s), policy $policy', async (c) => {
    const expected = u8[c.key]!;
    for (const input of [file, readFileSync(file)]) {
      // Also with the header the pixel budget read (the batches' path: no second header read).
      for (const header of [undefined, await readHeader(input)]) {
        const got = await decodeImage(input, name, {
          target: { channels: c.channels, policy: policies[c.policy]!, strict: false },
          header,
        });
        expect([got.height, got.width, got.channels]).toEqual(expected.shape);
        const same = Buffer.from(got.data).equals(Buffer.from(expected.data));
        expect(same, same ? '' : firstDifference(got.data, expected.data)).toBe(true);
      }
    }
  });

  it.each([1, 3] as const)('gives the same normalized %i-channel model input as Python', async (channels) => {
    const image = await decodeImage(file, name, {
      target: { channels, policy: DEFAULT_COLOUR_POLICY, strict: false },
    });
    const table = buildNormalizeTable(pre.mean[channels]!, pre.std[channels]!);
    const out = new Float32Array(channels * pre.height * pre.width);
    await preprocessInto(image, pre.height, pre.width, table, out, 0);
    expect(sha256(out)).toBe(inputSha256[`${name}|${channels}`]);
  });
});

describe('what the fixtures show about the decoders', () => {
  it('keeps the stored orientation of an EXIF-rotated JPEG (40x30, not 30x40)', async () => {
    expect(await sharp(path.join(dir, 'exif-rotated.jpg')).metadata()).toMatchObject({ orientation: 6, width: 40 });
    const image = await decodeImage(path.join(dir, 'exif-rotated.jpg'));
    expect([image.width, image.height]).toEqual([40, 30]);
  });

  it("ignores an embedded ICC profile that sharp's default pipeline would apply", async () => {
    const file = path.join(dir, 'icc-wide-gamut.jpg');
    expect((await sharp(file).metadata()).hasProfile).toBe(true);
    const transformed = await sharp(file).raw().toBuffer();
    const ours = await decodeImage(file);
    expect(ours.channels).toBe(3);
    expect(Buffer.from(ours.data).equals(transformed)).toBe(false);
  });

  it("converts CMYK with the stated formula, not sharp's ICC-based default", async () => {
    const file = path.join(dir, 'cmyk.jpg');
    const sharpDefault = await sharp(file).raw().toBuffer();
    const ours = await decodeImage(file);
    expect(ours.channels).toBe(3);
    expect(Buffer.from(ours.data).equals(sharpDefault)).toBe(false);
  });

  it('without a target keeps the own colour family and alpha, 8-bit', async () => {
    const expectations: Record<string, number> = {
      'gray.png': 1,
      'gray-alpha.png': 2,
      'gray16.png': 1,
      'gray-alpha16.png': 2,
      'rgb.jpg': 3,
      'rgba.png': 4,
      'palette.png': 3,
      'palette-transparent.png': 4,
      'cmyk.jpg': 3,
    };
    for (const [name, channels] of Object.entries(expectations)) {
      expect((await decodeImage(path.join(dir, name))).channels, name).toBe(channels);
    }
  });
});

describe('integer conversions', () => {
  const one = (
    layout: 'rgb' | 'rgba' | 'gray-alpha' | 'cmyk',
    values: number[],
    channels: 1 | 3,
    policy = DEFAULT_COLOUR_POLICY,
  ) => Array.from(toModelColour({ data: Uint8Array.from(values), width: 1, height: 1, layout }, channels, policy).data);

  it('weights gray as Pillow does (BT.601 in 16-bit fixed point)', () => {
    // Pillow: L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16
    expect(one('rgb', [255, 0, 0], 1)).toEqual([76]);
    expect(one('rgb', [0, 255, 0], 1)).toEqual([150]);
    expect(one('rgb', [0, 0, 255], 1)).toEqual([29]);
    expect(one('rgb', [255, 255, 255], 1)).toEqual([255]);
  });

  it('flattens alpha with rounding, onto the gray level of the background for gray images', () => {
    const teal: ColourPolicy = { alpha: 'flatten', background: [0, 128, 255] };
    // floor((200 * 128 + bg * 127 + 127) / 255); the teal's gray level is 104 (values from colour.py)
    expect(one('rgba', [200, 200, 200, 128], 3, teal)).toEqual([100, 164, 227]);
    expect(one('gray-alpha', [200, 128], 1, teal)).toEqual([152]);
    expect(one('rgba', [200, 10, 20, 0], 3, { alpha: 'drop', background: [0, 0, 0] })).toEqual([200, 10, 20]);
  });

  it('converts CMYK multiplicatively (as Pillow 9.4 does)', () => {
    expect(one('cmyk', [0, 0, 0, 0], 3)).toEqual([255, 255, 255]);
    expect(one('cmyk', [255, 0, 0, 0], 3)).toEqual([0, 255, 255]);
    expect(one('cmyk', [128, 0, 0, 128], 3)).toEqual([63, 127, 127]);
  });
});

describe('strict colour', () => {
  const target = (channels: 1 | 3) => ({ channels, policy: DEFAULT_COLOUR_POLICY, strict: true });

  it.each([
    ['gray.png', 3, 'is grayscale but the model expects RGB'],
    ['rgb.jpg', 1, 'is colour (rgb) but the model expects grayscale'],
    ['rgba.png', 3, 'has an alpha channel'],
    ['gray-alpha.png', 1, 'has an alpha channel'],
    ['cmyk.jpg', 1, 'is colour (cmyk)'],
  ] as const)('refuses %s for a %i-channel model', async (name, channels, message) => {
    const file = path.join(dir, name);
    const err = await decodeImage(file, file, { target: target(channels) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OneclassError);
    expect(err).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: file });
    expect((err as Error).message).toContain(message);
  });

  it.each([
    ['gray16.png', 1],
    ['rgb16.png', 3],
    ['palette.png', 3],
    ['cmyk.jpg', 3],
    ['bilevel.png', 1],
  ] as const)('accepts %s for a %i-channel model (same family, no alpha)', async (name, channels) => {
    const image = await decodeImage(path.join(dir, name), name, { target: target(channels) });
    expect(image.channels).toBe(channels);
  });
});

describe('the Encoder converts as its manifest says', () => {
  let rgb: Encoder;
  beforeAll(async () => {
    rgb = await Encoder.load(path.join(modelsDir, 'cifar10-airplane-rotation.onnx'), { device: 'cpu', threads: 1 });
  });
  afterAll(async () => {
    await rgb?.release();
  });

  it('embeds a grayscale file like its replicated RGB pixels', async () => {
    const file = path.join(dir, 'gray.png');
    const gray = await decodeImage(file);
    const replicated = toModelColour({ ...gray, layout: 'gray' }, 3, DEFAULT_COLOUR_POLICY);
    const [a, b] = [await rgb.preprocess([file]), await rgb.preprocess([replicated])];
    expect(sha256(a)).toBe(sha256(b));
  });

  it('converts raw gray + alpha pixels too', async () => {
    const raw = { data: Uint8Array.from([10, 255, 20, 0, 30, 128, 40, 64]), width: 2, height: 2, channels: 2 };
    const x = await rgb.preprocess([raw]);
    expect(x.length).toBe(3 * 32 * 32);
  });

  it('refuses instead with strictColour, at load or per call', async () => {
    const file = path.join(dir, 'gray.png');
    await expect(rgb.embed([file], { strictColour: true })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    const strict = await Encoder.load(path.join(modelsDir, 'cifar10-airplane-rotation.onnx'), {
      device: 'cpu',
      threads: 1,
      strictColour: true,
    });
    try {
      await expect(strict.embed([file])).rejects.toThrow(/is grayscale but the model expects RGB.*strict colour/);
      expect((await strict.embed([file], { strictColour: false })).rows).toBe(1);
    } finally {
      await strict.release();
    }
  });

  it('rejects a non-boolean strictColour', async () => {
    await expect(rgb.embed([], { strictColour: 'yes' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

describe('manifest preprocess.decode', () => {
  const base = JSON.parse(readFileSync(path.join(modelsDir, 'cifar10-airplane-rotation.json'), 'utf8'));
  const withDecode = (decode: unknown) => ({ ...base, preprocess: { ...base.preprocess, decode } });

  it('accepts the legacy description string and a full block', () => {
    expect(() => validateManifest(withDecode('uint8, no colour conversion'), 'm.json')).not.toThrow();
    expect(() =>
      validateManifest(
        withDecode({
          alpha: 'drop',
          background: [0, 0, 0],
          bitDepth: 'high-byte',
          cmyk: 'naive-fixed8',
          toGray: 'bt601-fixed16',
          iccProfile: 'ignore',
          exifOrientation: 'ignore',
        }),
        'm.json',
      ),
    ).not.toThrow();
  });

  it.each([
    [{ alpha: 'blend' }, 'preprocess.decode.alpha'],
    [{ background: [0, 0, 256] }, 'preprocess.decode.background'],
    [{ exifOrientation: 'apply' }, 'preprocess.decode.exifOrientation'],
    [{ iccProfile: 'apply' }, 'preprocess.decode.iccProfile'],
    [42, 'preprocess.decode'],
  ])('refuses %j, naming %s', (decode, field) => {
    expect(() => validateManifest(withDecode(decode), 'm.json')).toThrow(field);
  });
});
