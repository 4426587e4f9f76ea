/**
 * Bad inputs: every failure is a OneclassError with a stable code and a message naming the file
 * (or parameter) at fault. Broken models and images are made in a temporary folder from the
 * committed model and sharp-generated images, so these tests need no shared data.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Encoder } from '../src/encoder/index.js';
import { OneclassError } from '../src/errors.js';
import { modelsDir } from './fixtures/encoder/helpers.js';

const rgbModel = path.join(modelsDir, 'cifar10-airplane-rotation.onnx');
const grayModel = path.join(modelsDir, 'magnetic-tile-cutpaste3way.onnx');
let tmp: string;
let rgbEncoder: Encoder;

/** Asserts that `promise` rejects with a OneclassError of `code` whose message contains every `parts`. */
async function expectEncoderError(promise: Promise<unknown>, code: string, ...parts: string[]): Promise<OneclassError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OneclassError);
  const e = err as OneclassError;
  expect(e.code).toBe(code);
  for (const p of parts) expect(e.message).toContain(p);
  return e;
}

function noise(width: number, height: number, channels: 3 | 1, seed: number): Buffer {
  const buf = Buffer.alloc(width * height * channels);
  let s = seed;
  for (let i = 0; i < buf.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    buf[i] = s >>> 24;
  }
  return buf;
}

/** A copy of the RGB model in tmp with its manifest edited by `edit` (or replaced by raw text). */
function modelCopy(
  name: string,
  edit: ((m: Record<string, any>) => void) | string | null,
  modelBytes?: Buffer,
): string {
  const onnx = path.join(tmp, `${name}.onnx`);
  if (modelBytes) writeFileSync(onnx, modelBytes);
  else copyFileSync(rgbModel, onnx);
  if (edit !== null) {
    if (typeof edit === 'string') {
      writeFileSync(path.join(tmp, `${name}.json`), edit);
    } else {
      const manifest = JSON.parse(readFileSync(rgbModel.replace(/\.onnx$/, '.json'), 'utf8'));
      edit(manifest);
      writeFileSync(path.join(tmp, `${name}.json`), JSON.stringify(manifest));
    }
  }
  return onnx;
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'oneclass-encoder-'));
  rgbEncoder = await Encoder.load(rgbModel, { device: 'cpu', threads: 1 });
});
afterAll(async () => {
  await rgbEncoder?.release();
  rmSync(tmp, { recursive: true, force: true });
});

describe('models and manifests (ERR_MODEL_FORMAT)', () => {
  it('rejects a missing model file, naming it', async () => {
    const missing = path.join(tmp, 'no-such-model.onnx');
    const e = await expectEncoderError(Encoder.load(missing), 'ERR_MODEL_FORMAT', missing, 'not found');
    expect(e.path).toBe(missing);
  });

  it('rejects a corrupt model file, naming it', async () => {
    const onnx = modelCopy('corrupt', () => undefined, Buffer.from('this is not an ONNX protobuf'));
    await expectEncoderError(
      Encoder.load(onnx, { device: 'cpu' }),
      'ERR_MODEL_FORMAT',
      onnx,
      'Cannot load encoder model',
    );
  });

  it('rejects a truncated model file, naming it', async () => {
    const bytes = readFileSync(rgbModel);
    const onnx = modelCopy('truncated-model', () => undefined, bytes.subarray(0, bytes.length >> 1));
    await expectEncoderError(Encoder.load(onnx, { device: 'cpu' }), 'ERR_MODEL_FORMAT', onnx);
  });

  it('rejects a model without a manifest, naming the expected manifest path', async () => {
    const onnx = modelCopy('no-manifest', null);
    await expectEncoderError(Encoder.load(onnx), 'ERR_MODEL_FORMAT', path.join(tmp, 'no-manifest.json'), 'not found');
  });

  it('rejects a manifest that is not JSON, naming it', async () => {
    const onnx = modelCopy('bad-json', '{ "format": ');
    await expectEncoderError(Encoder.load(onnx), 'ERR_MODEL_FORMAT', path.join(tmp, 'bad-json.json'), 'not valid JSON');
  });

  it('rejects a manifest with an invalid field, naming the field and the value', async () => {
    const onnx = modelCopy('bad-std', (m) => {
      m.preprocess.std = [0.2, 0.2];
    });
    await expectEncoderError(Encoder.load(onnx), 'ERR_MODEL_FORMAT', 'preprocess.std', '[0.2,0.2]');
  });

  it('rejects a model whose input shape disagrees with its manifest', async () => {
    const onnx = modelCopy('wrong-shape', (m) => {
      m.input.height = m.input.width = 64;
      m.preprocess.resize.height = m.preprocess.resize.width = 64;
    });
    await expectEncoderError(
      Encoder.load(onnx, { device: 'cpu' }),
      'ERR_MODEL_FORMAT',
      onnx,
      'disagrees with its manifest',
      '64, 64',
    );
  });

  it('rejects a manifest whose channel count disagrees with the model', async () => {
    const onnx = modelCopy('wrong-channels', (m) => {
      m.input.channels = 1;
      m.input.colorSpace = 'gray';
      m.preprocess.mean = [0.5];
      m.preprocess.std = [0.25];
    });
    await expectEncoderError(Encoder.load(onnx, { device: 'cpu' }), 'ERR_MODEL_FORMAT', 'disagrees with its manifest');
  });
});

describe('images', () => {
  it('rejects an undecodable image file, naming it (ERR_IMAGE_DECODE)', async () => {
    const file = path.join(tmp, 'not-an-image.jpg');
    writeFileSync(file, noise(300, 1, 1, 1));
    const e = await expectEncoderError(rgbEncoder.embed([file]), 'ERR_IMAGE_DECODE', file);
    expect(e.path).toBe(file);
  });

  it('rejects a truncated JPEG, naming it (ERR_IMAGE_DECODE)', async () => {
    const jpeg = await sharp(noise(64, 64, 3, 2), { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const file = path.join(tmp, 'truncated.jpg');
    writeFileSync(file, jpeg.subarray(0, jpeg.length >> 1));
    await expectEncoderError(rgbEncoder.embed([file]), 'ERR_IMAGE_DECODE', file);
  });

  it('rejects a missing image file, naming it (ERR_IMAGE_DECODE)', async () => {
    const file = path.join(tmp, 'missing.png');
    await expectEncoderError(rgbEncoder.embed([file]), 'ERR_IMAGE_DECODE', file, 'not found');
  });

  it('names an undecodable in-memory image by its position', async () => {
    const good = await sharp(noise(32, 32, 3, 3), { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    await expectEncoderError(rgbEncoder.embed([good, Buffer.from('garbage')]), 'ERR_IMAGE_DECODE', 'image 1');
  });

  it('with strictColour, rejects a grayscale image given to an RGB model, naming the file (ERR_INVALID_ARGUMENT)', async () => {
    const file = path.join(tmp, 'gray.png');
    // toColourspace('b-w'): without it sharp writes a 1-channel raw input as an RGB PNG.
    await sharp(noise(40, 30, 1, 4), { raw: { width: 40, height: 30, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(file);
    const e = await expectEncoderError(
      rgbEncoder.embed([file], { strictColour: true }),
      'ERR_INVALID_ARGUMENT',
      file,
      'is grayscale but the model expects RGB',
      rgbModel,
    );
    expect(e.path).toBe(file);
    // Without strictColour it is converted (test/encoder-decode.test.ts checks how).
    expect((await rgbEncoder.embed([file])).rows).toBe(1);
  });

  it('with strictColour, rejects an RGB image given to a grayscale model (ERR_INVALID_ARGUMENT)', async () => {
    const gray = await Encoder.load(grayModel, { device: 'cpu', threads: 1, strictColour: true });
    try {
      const rgb = await sharp(noise(40, 30, 3, 5), { raw: { width: 40, height: 30, channels: 3 } })
        .jpeg()
        .toBuffer();
      await expectEncoderError(
        gray.embed([rgb]),
        'ERR_INVALID_ARGUMENT',
        'image 0',
        'is colour (rgb) but the model expects grayscale',
        grayModel,
      );
    } finally {
      await gray.release();
    }
  });

  it('with strictColour, rejects an image with alpha instead of flattening it', async () => {
    const file = path.join(tmp, 'rgba.png');
    await sharp(noise(8, 8, 3, 6), { raw: { width: 8, height: 8, channels: 3 } })
      .ensureAlpha(0.5)
      .png()
      .toFile(file);
    await expectEncoderError(
      rgbEncoder.embed([file], { strictColour: true }),
      'ERR_INVALID_ARGUMENT',
      file,
      'has an alpha channel',
    );
  });

  it('rejects raw pixels with more than 4 channels', async () => {
    const raw = { data: new Uint8Array(5 * 4), width: 2, height: 2, channels: 5 };
    await expectEncoderError(rgbEncoder.embed([raw]), 'ERR_INVALID_ARGUMENT', 'channels', '1 to 4', '5 of type number');
  });

  it('rejects raw pixels whose byte length disagrees with their size', async () => {
    const raw = { data: new Uint8Array(10), width: 32, height: 32, channels: 3 };
    await expectEncoderError(rgbEncoder.embed([raw]), 'ERR_INVALID_ARGUMENT', '3072', 'received 10');
  });
});

describe('options (ERR_INVALID_ARGUMENT)', () => {
  it('rejects an unknown device, naming the parameter and the value', async () => {
    await expectEncoderError(
      Encoder.load(rgbModel, { device: 'gpu' as never }),
      'ERR_INVALID_ARGUMENT',
      'device',
      "'gpu'",
    );
  });

  it('rejects a non-positive batch size', async () => {
    await expectEncoderError(
      Encoder.load(rgbModel, { batchSize: 0 }),
      'ERR_INVALID_ARGUMENT',
      'batchSize',
      '0 of type number',
    );
  });

  it('rejects an unknown output name', async () => {
    await expectEncoderError(
      rgbEncoder.embed([], { output: 'logits' as never }),
      'ERR_INVALID_ARGUMENT',
      'output',
      "'logits'",
    );
  });

  it('rejects a single path where an array of images is expected', async () => {
    await expectEncoderError(rgbEncoder.embed('a.jpg' as never), 'ERR_INVALID_ARGUMENT', 'images', "'a.jpg'");
  });

  it('rejects a preprocessed tensor of the wrong length', async () => {
    await expectEncoderError(
      rgbEncoder.embedTensor(new Float32Array(100), 1),
      'ERR_INVALID_ARGUMENT',
      '3*32*32',
      '100',
    );
  });
});

describe('backend selection', () => {
  it("falls back to CPU when 'auto' cannot load CUDA, and says why", async () => {
    const enc = await Encoder.load(rgbModel, { device: 'auto', threads: 1 });
    try {
      if (enc.backend === 'cuda') {
        expect(enc.fallbackReason).toBeNull();
      } else {
        expect(enc.backend).toBe('cpu');
        expect(enc.fallbackReason).toMatch(/^CUDA execution provider unavailable: \S/);
      }
      const out = await enc.embed([
        { data: new Uint8Array(32 * 32 * 3).fill(128), width: 32, height: 32, channels: 3 },
      ]);
      expect([out.rows, out.cols]).toEqual([1, enc.outputSize('pooled')]);
      expect(out.data.every(Number.isFinite)).toBe(true);
    } finally {
      await enc.release();
    }
  });

  it("does not try CUDA for device 'cpu'", async () => {
    expect([rgbEncoder.backend, rgbEncoder.fallbackReason]).toEqual(['cpu', null]);
  });
});
