/**
 * The native JPEG decoder (native/addon/jpeg_decode.cc, src/encoder/jpeg.ts) against sharp, the
 * reference it replaces: identical pixels on every CIFAR-10 test JPEG and every magnetic-tile
 * image (the Pillow side is test/encoder-decode.test.ts, which runs through whichever decoder is
 * on), the same header facts, and everything it must decline handed back to sharp with sharp's
 * own outcome (pixels or error).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';

import { readCifarJpeg } from '../src/datasets/cifar10.js';
import { decodeImage } from '../src/encoder/decode.js';
import {
  isJpeg,
  type JpegBinding,
  jpegDecoder,
  jpegHeader,
  setJpegDecoder,
  SYNC_DECODE_PIXELS,
} from '../src/encoder/jpeg.js';
import { readHeader } from '../src/encoder/pixel-budget.js';
import { binding } from '../src/native.js';
import { repoRoot } from './fixtures/encoder/helpers.js';

const data = path.resolve(repoRoot, '../shared/data');
const cifarTest = path.join(data, 'cifar10/test_jpeg.bin');
const tiles = path.join(data, 'magnetic_tile');
const fixtures = path.join(repoRoot, 'test/fixtures/decode');
const haveData = statSync(cifarTest, { throwIfNoEntry: false }) !== undefined;

const info = jpegDecoder();
if (info.decoder !== 'native') {
  console.warn(
    'jpeg-decode tests skipped: the addon was built without the native JPEG decoder (no static libjpeg: ' +
      'install libjpeg62-turbo-dev or libjpeg-turbo8-dev and rebuild)',
  );
}
const addon = binding() as Partial<JpegBinding>;
const MAX = 1 << 26;

/** sharp's samples of a JPEG as decode.ts asks for them (its own colour family, ICC ignored). */
async function sharpSamples(input: string | Uint8Array) {
  const meta = await sharp(input).metadata();
  const { data, info } = await sharp(input, { ignoreIcc: true })
    .toColourspace(meta.channels === 1 ? 'b-w' : 'srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

function sameImage(a: { data: Uint8Array; width: number; height: number; channels: number }, b: typeof a): boolean {
  return (
    a.width === b.width && a.height === b.height && a.channels === b.channels && Buffer.compare(a.data, b.data) === 0
  );
}

/** Runs `work` over items with `limit` in flight. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i]!, i);
      }
    }),
  );
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

afterEach(() => setJpegDecoder('auto'));

describe.skipIf(info.decoder !== 'native')('native JPEG decoder', () => {
  it('says what it is', () => {
    expect(info).toMatchObject({ decoder: 'native', library: 'libjpeg-turbo' });
    expect((info as { version: string }).version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.skipIf(!haveData)(
    'decodes every CIFAR-10 test JPEG (10,000) to the pixels of sharp, on the calling thread',
    async () => {
      const jpegs = readCifarJpeg(cifarTest).map((r) => r.item.image as Uint8Array);
      expect(jpegs.length).toBe(10000);
      const different: number[] = [];
      await eachLimited(jpegs, 8, async (jpeg, i) => {
        const header = jpegHeader(jpeg)!;
        expect(header.width! * header.height!).toBeLessThanOrEqual(SYNC_DECODE_PIXELS);
        const native = addon.decodeJpeg!(jpeg, { maxPixels: MAX });
        if (!native || !sameImage(native, await sharpSamples(jpeg))) different.push(i);
      });
      expect(different).toEqual([]);
    },
    120_000,
  );

  it.skipIf(!haveData)(
    'decodes every magnetic-tile image (1,344 gray JPEG files) to the pixels of sharp, off the thread, through decodeImage',
    async () => {
      const files = walk(tiles).filter((f) => /\.jpe?g$/i.test(f));
      expect(files.length).toBe(1344);
      const different: string[] = [];
      let offThread = 0;
      await eachLimited(files, 4, async (file) => {
        const bytes = readFileSync(file);
        const header = jpegHeader(bytes)!;
        if (header.width! * header.height! > SYNC_DECODE_PIXELS) offThread++;
        const native = await addon.decodeJpegAsync!(bytes, { maxPixels: MAX });
        const viaDecode = await decodeImage(file);
        const reference = await sharpSamples(file);
        if (!native || !sameImage(native, reference) || !sameImage(viaDecode, reference)) different.push(file);
      });
      expect(different).toEqual([]);
      expect(offThread).toBeGreaterThan(1000);
    },
    120_000,
  );

  it('reads the frame header as sharp does, from the bytes alone', async () => {
    const jpegs = ['gray.jpg', 'rgb.jpg', 'exif-rotated.jpg', 'icc-wide-gamut.jpg'].map((f) =>
      readFileSync(path.join(fixtures, f)),
    );
    if (haveData)
      jpegs.push(
        ...readCifarJpeg(cifarTest)
          .slice(0, 5)
          .map((r) => Buffer.from(r.item.image as Uint8Array)),
      );
    for (const bytes of jpegs) {
      const ours = jpegHeader(bytes)!;
      const theirs = await sharp(bytes).metadata();
      expect(ours).not.toBeNull();
      for (const key of ['width', 'height', 'channels', 'space', 'depth'] as const) expect(ours[key]).toBe(theirs[key]);
    }
    // The pixel budget reads a path's header from its first 64 KB.
    const file = path.join(fixtures, 'icc-wide-gamut.jpg');
    expect((await readHeader(file))?.width).toBe((await sharp(file).metadata()).width);
  });

  it('declines what it does not decode, and decodeImage then gives the outcome of sharp', async () => {
    const rgb = readFileSync(path.join(fixtures, 'rgb.jpg'));
    const cmyk = readFileSync(path.join(fixtures, 'cmyk.jpg'));
    const png = readFileSync(path.join(fixtures, 'rgb.png'));
    // CMYK (sharp converts it through a profile): declined, header too.
    expect(addon.decodeJpeg!(cmyk, { maxPixels: MAX })).toBeNull();
    expect(jpegHeader(cmyk)).toBeNull();
    // Not a JPEG at all.
    expect(isJpeg(png)).toBe(false);
    expect(addon.decodeJpeg!(png, { maxPixels: MAX })).toBeNull();
    // More pixels than allowed.
    expect(addon.decodeJpeg!(rgb, { maxPixels: 100 })).toBeNull();
    // Truncated: libjpeg warns and pads with gray; declined, and sharp's failOn 'warning' refuses it.
    const truncated = rgb.subarray(0, Math.floor(rgb.length * 0.6));
    expect(jpegHeader(truncated)).not.toBeNull();
    expect(addon.decodeJpeg!(truncated, { maxPixels: MAX })).toBeNull();
    expect(await addon.decodeJpegAsync!(truncated, { maxPixels: MAX })).toBeNull();
    const native = await decodeImage(truncated, 'cut').catch((e: Error) => e.message);
    setJpegDecoder('sharp');
    const viaSharp = await decodeImage(truncated, 'cut').catch((e: Error) => e.message);
    expect(typeof native).toBe('string');
    expect(native).toBe(viaSharp);
    // Corrupt entropy-coded data in the middle of the file: the same.
    const corrupt = Buffer.from(rgb);
    for (let i = Math.floor(corrupt.length / 2); i < Math.floor(corrupt.length / 2) + 64; i++) corrupt[i] = 0xff;
    expect(addon.decodeJpeg!(corrupt, { maxPixels: MAX })).toBeNull();
    // The over-limit and CMYK cases through decodeImage: identical to sharp's.
    for (const [bytes, options] of [
      [cmyk, {}],
      [rgb, { maxPixels: 100 }],
    ] as const) {
      setJpegDecoder('auto');
      const a = await decodeImage(bytes, 'x', options).catch((e: Error) => e.message);
      setJpegDecoder('sharp');
      const b = await decodeImage(bytes, 'x', options).catch((e: Error) => e.message);
      expect(a).toEqual(b);
    }
  });

  it('on 1,500 damaged JPEGs never crashes, and decodes only what sharp decodes, to the same pixels', async () => {
    // Byte changes, truncations and bit flips of real JPEGs, from a fixed seed: whatever the
    // native decoder accepts, sharp must accept with the same pixels (what it declines goes to sharp).
    const seeds = [readFileSync(path.join(fixtures, 'rgb.jpg')), readFileSync(path.join(fixtures, 'gray.jpg'))];
    if (haveData)
      seeds.push(
        ...readCifarJpeg(cifarTest)
          .slice(0, 3)
          .map((r) => Buffer.from(r.item.image as Uint8Array)),
      );
    let state = 12345;
    const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const at = (length: number) => 2 + Math.floor(random() * (length - 2));
    let accepted = 0;
    const wrong: string[] = [];
    for (let t = 0; t < 1500; t++) {
      const bytes = Buffer.from(seeds[t % seeds.length]!);
      let damaged: Uint8Array = bytes;
      if (t % 3 === 0) for (let i = 0; i < 4; i++) bytes[at(bytes.length)] = Math.floor(random() * 256);
      else if (t % 3 === 1) damaged = bytes.subarray(0, at(bytes.length));
      else bytes[at(bytes.length)] ^= 1 << Math.floor(random() * 8);
      const native =
        t % 2 === 0
          ? addon.decodeJpeg!(damaged, { maxPixels: MAX })
          : await addon.decodeJpegAsync!(damaged, { maxPixels: MAX });
      if (!native) continue;
      accepted++;
      const reference = await sharpSamples(damaged).catch(() => null);
      if (!reference) wrong.push(`case ${t}: accepted, sharp refuses it`);
      else if (!sameImage(native, reference)) wrong.push(`case ${t}: pixels differ`);
    }
    expect(wrong).toEqual([]);
    // Most single-byte damage to entropy-coded data decodes without a warning in both.
    expect(accepted).toBeGreaterThan(300);
  }, 60_000);

  it('keeps its own copy of the bytes while an async call is queued', async () => {
    const file = readFileSync(path.join(fixtures, 'rgb.jpg'));
    const expected = addon.decodeJpeg!(file, { maxPixels: MAX })!;
    const bytes = new Uint8Array(file);
    const pending = addon.decodeJpegAsync!(bytes, { maxPixels: MAX });
    bytes.fill(0);
    structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
    expect(bytes.byteLength).toBe(0);
    expect(sameImage((await pending)!, expected)).toBe(true);
  });

  it('refuses arguments that are not bytes with a coded error', () => {
    expect(() => addon.decodeJpeg!('x.jpg' as unknown as Uint8Array, { maxPixels: MAX })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('Uint8Array') }),
    );
    expect(() => addon.decodeJpeg!(new Uint8Array(4), { maxPixels: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  it('can be turned off: setJpegDecoder / ONECLASS_JPEG_DECODER=sharp', async () => {
    setJpegDecoder('sharp');
    expect(jpegDecoder()).toEqual({ decoder: 'sharp' });
    const file = path.join(fixtures, 'rgb.jpg');
    const a = await decodeImage(file);
    setJpegDecoder('auto');
    expect(jpegDecoder().decoder).toBe('native');
    expect(sameImage(await decodeImage(file), a)).toBe(true);
  });
});
