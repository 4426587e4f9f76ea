/**
 * The pipeline model file (src/pipeline/model-file.ts): round trip, atomic write, and hostile
 * input: truncated, corrupted (fuzzed) and newer-version files must give ERR_MODEL_FORMAT with
 * a clear message, never a crash, a hang or a huge allocation.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { seededRandom } from '../src/datasets/subsample.js';
import { Detector } from '../src/pipeline/detector.js';
import { decodeModelFile, PIPELINE_VERSION } from '../src/pipeline/model-file.js';
import { exampleFiles, FAST_LOCALIZATION, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

const train = exampleFiles('train/good', 10);
const probe = exampleFiles('test/crack', 2);

let encoder: Encoder;
let embedded: Detector;
let referenced: Detector;
let dir: string;

beforeAll(async () => {
  encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
  embedded = await Detector.fit({ encoder, images: train, detector: { kind: 'gde' }, localization: FAST_LOCALIZATION });
  referenced = await Detector.fit({ encoder, images: train, detector: { kind: 'knn', k: 2 }, embedEncoder: false });
  dir = tempDir('modelfile');
});
afterAll(async () => {
  await encoder?.release();
});

async function expectSameScores(a: Detector, b: Detector) {
  const [x, y] = await Promise.all([a.score(probe), b.score(probe)]);
  y.items.forEach((item, i) => {
    expect(item.raw).toBe(x.items[i].raw);
    expect(item.score).toBe(x.items[i].score);
  });
}

describe('model file round trip', () => {
  it('an embedded-encoder model restores identical scores and heatmaps, with no encoder file needed', async () => {
    const file = join(dir, 'embedded.oneclass');
    await embedded.save(file);
    const restored = await Detector.load(file, { device: 'cpu' });
    await expectSameScores(embedded, restored);
    const [h1, h2] = await Promise.all([embedded.localize(probe.slice(0, 1)), restored.localize(probe.slice(0, 1))]);
    expect(Buffer.from(h2.items[0].heatmap!.data.buffer).equals(Buffer.from(h1.items[0].heatmap!.data.buffer))).toBe(
      true,
    );
    expect(restored.config.encoder.sha256).toBe(createHash('sha256').update(readFileSync(TILE_ENCODER)).digest('hex'));
    await restored.release();
  });

  it('a referenced-encoder model reads its encoder only when given, and checks its size and sha256', async () => {
    const file = join(dir, 'referenced.oneclass');
    await referenced.save(file);
    expect(readFileSync(file).length).toBeLessThan(readFileSync(TILE_ENCODER).length);
    // The stored path is never followed by itself.
    await expect(Detector.load(file)).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/references its encoder .* pass that file as encoderPath/),
    });
    const restored = await Detector.load(file, { encoderPath: TILE_ENCODER });
    await expectSameScores(referenced, restored);
    await restored.release();
    const longer = join(dir, 'longer.onnx');
    writeFileSync(longer, Buffer.concat([readFileSync(TILE_ENCODER), Buffer.from([0])]));
    await expect(Detector.load(file, { encoderPath: longer })).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/encoder of \d+ bytes; .* holds \d+/),
    });
    const changed = join(dir, 'changed.onnx');
    const bytes = readFileSync(TILE_ENCODER);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(changed, bytes);
    await expect(Detector.load(file, { encoderPath: changed })).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/different encoder/),
    });
  });

  it('save is atomic: no temporary file remains and an existing file is replaced whole', async () => {
    const file = join(dir, 'atomic.oneclass');
    writeFileSync(file, 'old');
    await referenced.save(file);
    expect(readFileSync(file).equals(Buffer.from(referenced.toBytes()))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('hostile model files', () => {
  it('a truncated file is ERR_MODEL_FORMAT naming the file, at every cut point class', async () => {
    const bytes = referenced.toBytes();
    for (const cut of [0, 4, 8, 20, 200, bytes.length - 1000, bytes.length - 1]) {
      const file = join(dir, `cut-${cut}.oneclass`);
      writeFileSync(file, bytes.subarray(0, cut));
      await expect(Detector.load(file)).rejects.toMatchObject({
        code: 'ERR_MODEL_FORMAT',
        message: expect.stringContaining(file),
      });
    }
  });

  it('a model from a newer layout version is refused with an upgrade message', async () => {
    const bytes = referenced.toBytes();
    const { tensors, metadata } = decodeSafetensors(bytes);
    // Rewritten with a valid checksum: only the version is "wrong".
    const newer = encodeSafetensors(tensors, { ...metadata, version: String(PIPELINE_VERSION + 1) });
    const file = join(dir, 'newer.oneclass');
    writeFileSync(file, newer);
    await expect(Detector.load(file)).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/newer oneclass .*Upgrade/),
    });
  });

  it('a header length claiming more bytes than the file is refused before allocating', () => {
    const bytes = referenced.toBytes().slice();
    new DataView(bytes.buffer).setBigUint64(0, 2n ** 62n, true);
    expect(() => decodeModelFile(bytes, 'huge')).toThrow(/header length/);
  });

  it('fuzz: 400 random corruptions either fail with ERR_MODEL_FORMAT or decode to the same model', () => {
    const original = referenced.toBytes();
    const reference = decodeModelFile(original);
    const rand = seededRandom(6);
    const headerLength = Number(new DataView(original.buffer).getBigUint64(0, true));
    let rejected = 0;
    for (let trial = 0; trial < 400; trial++) {
      const bytes = original.slice();
      const kind = trial % 4;
      // Most mutations hit the header (where the structure is), some the tensor data.
      const at = () => (rand() < 0.7 ? Math.floor(rand() * (8 + headerLength)) : Math.floor(rand() * bytes.length));
      let mutated: Uint8Array = bytes;
      if (kind === 0) bytes[at()] ^= 1 << Math.floor(rand() * 8);
      else if (kind === 1) for (let i = 0; i < 8; i++) bytes[at()] = Math.floor(rand() * 256);
      else if (kind === 2) mutated = bytes.subarray(0, Math.floor(rand() * bytes.length));
      else {
        // Digits in the header changed: offsets, shapes, sizes, numbers in the config.
        const text = Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('latin1');
        const digits = [...text.matchAll(/\d/g)].map((m) => m.index!);
        const i = digits[Math.floor(rand() * digits.length)];
        bytes[8 + i] = 48 + ((bytes[8 + i] - 48 + 1 + Math.floor(rand() * 9)) % 10);
      }
      try {
        const parts = decodeModelFile(mutated, 'fuzzed');
        // Accepted only if nothing that matters changed (e.g. a space in the header padding).
        expect(parts.config).toEqual(reference.config);
        expect(Buffer.from(parts.imageDetector).equals(Buffer.from(reference.imageDetector))).toBe(true);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_MODEL_FORMAT');
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(350);
  });

  it('a file that is not a model at all (a detector file, an ONNX file) says what it is', async () => {
    const gde = join(dir, 'detector.safetensors');
    const { tensors } = decodeSafetensors(referenced.toBytes());
    writeFileSync(
      gde,
      encodeSafetensors({ x: tensors['detector.image'] }, { format: 'oneclass/KernelDensity', version: '1' }),
    );
    await expect(Detector.load(gde)).rejects.toThrow(/holds 'oneclass\/KernelDensity'/);
    await expect(Detector.load(TILE_ENCODER)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT' });
    // A missing model file is a model-file fault (exit 4, docs/cli.md), not bad input data.
    await expect(Detector.load(join(dir, 'missing.oneclass'))).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
      message: expect.stringMatching(/not found/),
    });
    expect(existsSync(join(dir, 'missing.oneclass'))).toBe(false);
  });
});
