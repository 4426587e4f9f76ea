/**
 * Decoded-pixel limits (src/encoder/pixel-budget.ts): a PNG of 250 KB can declare 16000 x 16000
 * pixels; a folder of 24 of them took 6.2 GB. Images over the per-image limit are refused from
 * their header, before decoding (skippable as unreadable), and a batch stops short of the
 * per-batch limit, with the same scores as unbounded batches.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { constants, crc32, createDeflate } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { Detector } from '../src/pipeline/detector.js';
import { REPO } from './helpers.js';
import { exampleFiles, folderWith, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit gray PNG of width x height black pixels, deflated row by row (never held whole). */
async function pngBomb(file: string, width: number, height: number): Promise<void> {
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const rows = 64;
  const block = Buffer.alloc(rows * (width + 1)); // each row: filter byte 0, then the pixels
  for (let y = 0; y < height; y += rows) {
    if (!deflate.write(block.subarray(0, Math.min(rows, height - y) * (width + 1)))) await once(deflate, 'drain');
  }
  deflate.end();
  await once(deflate, 'end');
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8 bits, grayscale, deflate, no filter method, no interlace
  const out = createWriteStream(file);
  out.write(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  out.write(chunk('IHDR', ihdr));
  out.write(chunk('IDAT', Buffer.concat(parts)));
  out.end(chunk('IEND', Buffer.alloc(0)));
  await once(out, 'finish');
}

let encoder: Encoder;
let model: string;
const work = tempDir('bombs');

beforeAll(async () => {
  encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  const det = await Detector.fit({ encoder, images: exampleFiles('train/good', 8), detector: { kind: 'knn' } });
  model = join(work, 'model.oneclass');
  await det.save(model);
});
afterAll(async () => {
  await encoder?.release();
});

describe('decompression bombs', () => {
  it('a folder of 24 PNGs of 16000 x 16000 is skipped from the headers, in bounded memory', async () => {
    const folder = folderWith(exampleFiles('test/good', 2), 'bomb-folder');
    const bomb = join(work, 'bomb.png');
    await pngBomb(bomb, 16000, 16000);
    const bytes = (await import('node:fs')).readFileSync(bomb);
    expect(bytes.length).toBeLessThan(400_000);
    for (let i = 0; i < 24; i++) writeFileSync(join(folder, `bomb-${String(i).padStart(2, '0')}.png`), bytes);
    const r = spawnSync(
      process.execPath,
      ['--import', './test/fixtures/child/ts-loader.mjs', './test/fixtures/child/score-folder.ts', model, folder],
      { cwd: REPO, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.scored).toBe(2);
    expect(report.skipped).toHaveLength(24);
    expect(report.skipped[0], JSON.stringify(report)).toMatch(
      /16000 x 16000 = 256000000 pixels, more than the limit of 67108864 per image/,
    );
    // One decoded bomb alone is 256 MB; 24 of them took 6.2 GB.
    expect(report.maxRssMiB).toBeLessThan(1024);
  }, 120_000);

  it('the per-image limit is an option; Encoder.embed applies it too', async () => {
    const files = exampleFiles('test/good', 3);
    const small = await Encoder.load(TILE_ENCODER, { device: 'cpu', maxImagePixels: 1000 });
    try {
      // The images decode concurrently: whichever is refused first names itself.
      await expect(small.embed(files)).rejects.toMatchObject({
        code: 'ERR_IMAGE_DECODE',
        message: expect.stringMatching(/Cannot decode .*\.jpg: \d+ x \d+ = \d+ pixels, more than the limit of 1000/),
      });
    } finally {
      await small.release();
    }
    // With a per-batch limit as small, the batch reads the headers first and the decode refuses
    // from the header it was given (no second read): the same refusal either way.
    for (const limits of [{ maxImagePixels: 1000 }, { maxImagePixels: 1000, maxBatchPixels: 1000 }]) {
      const det = await Detector.load(model, { device: 'cpu', encoderOptions: limits });
      try {
        const r = await det.score(files, { onUnreadable: 'skip' });
        expect(r.items).toHaveLength(0);
        expect(r.skipped.map((s) => s.id)).toEqual(files);
        for (const s of r.skipped)
          expect(s.reason).toMatch(/\d+ x \d+ = \d+ pixels, more than the limit of 1000 per image/);
      } finally {
        await det.release();
      }
    }
  });

  it('a batch stops short of the per-batch limit, with the scores of unbounded batches', async () => {
    const files = exampleFiles('test/good', 6);
    const base = await Detector.load(model, { device: 'cpu' });
    // Each tile is about 100 x 300 to 600 x 300 px: a 250,000-pixel budget holds one to two.
    const tight = await Detector.load(model, {
      device: 'cpu',
      encoderOptions: { maxImagePixels: 250_000, maxBatchPixels: 250_000 },
    });
    try {
      const steps: number[] = [];
      const bounded = await tight.score(files, { batchSize: 6, onProgress: (p) => steps.push(p.done) });
      const unbounded = await base.score(files, { batchSize: 6 });
      expect(steps.length).toBeGreaterThan(2);
      expect(steps[steps.length - 1]).toBe(6);
      expect(bounded.items.map((i) => i.raw)).toEqual(unbounded.items.map((i) => i.raw));
      const embedded = await tight.encoder.embed(files, { batchSize: 6 });
      expect(Array.from(embedded.data)).toEqual(Array.from((await encoder.embed(files)).data));
    } finally {
      await base.release();
      await tight.release();
    }
  });

  it('limits are checked: a per-batch limit below the per-image one is refused', async () => {
    await expect(
      Encoder.load(TILE_ENCODER, { device: 'cpu', maxImagePixels: 1000, maxBatchPixels: 10 }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', path: 'options.maxBatchPixels' });
  });
});

describe('headers read once (oneclass serve)', () => {
  it('a remembered header is what the budget and the decode use: no second read', async () => {
    const { decodeImage } = await import('../src/encoder/decode.js');
    const { readHeader, rememberHeader } = await import('../src/encoder/pixel-budget.js');
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(exampleFiles('train/good', 1)[0]);
    const real = await readHeader(bytes);
    expect(real?.width).toBeGreaterThan(0);
    // The same bytes with a header that claims 20000 x 20000: refused from it, never decoded.
    const claimed = { ...real!, width: 20000, height: 20000 };
    rememberHeader(bytes, claimed);
    expect(await readHeader(bytes)).toBe(claimed);
    await expect(decodeImage(bytes, 'upload')).rejects.toMatchObject({
      code: 'ERR_IMAGE_DECODE',
      message: expect.stringContaining('20000 x 20000'),
    });
    // Another array over the same bytes has no remembered header: read and decoded as usual.
    const copy = Buffer.from(bytes);
    expect((await decodeImage(copy, 'copy')).width).toBe(real!.width);
  });
});
