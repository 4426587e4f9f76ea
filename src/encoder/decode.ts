/**
 * Turns an ImageInput (file path, encoded bytes, raw pixels) into uint8 H x W x C pixels with sharp.
 *
 * Measured against Pillow (the decoder of the training code): identical pixels for all 1,344
 * magnetic-tile grayscale JPEGs and for 1,000 CIFAR-10 colour JPEGs (4:2:0), sharp 0.35.5 (mozjpeg)
 * vs Pillow 9.4 (libjpeg-turbo 2.1.5). Other JPEG settings (e.g. progressive, other subsampling)
 * were not measured; see docs/encoders.md.
 *
 * No colour conversion is done: a grayscale JPEG stays 1 channel, an RGB one 3 channels (the
 * training readers do the same with Pillow). No EXIF auto-rotation either (Pillow does not apply it).
 * sharp's default `failOn: 'warning'` is kept on purpose: it is what makes truncated JPEGs fail
 * instead of decoding to a grey lower half.
 */
import { constants } from 'node:fs';
import { access, lstat, stat } from 'node:fs/promises';

import sharp from 'sharp';

import { invalidArgument, invalidInput, OneclassError } from '../errors.js';
import { expectInteger } from '../validate.js';
import { DEFAULT_DECODE_LIMITS } from './pixel-budget.js';
import type { ImageInput, RawImage } from './types.js';

/** How an input is named in messages: its path, or its position and kind. */
export function describeInput(input: ImageInput, index: number): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return `image ${index} (encoded buffer of ${input.byteLength} bytes)`;
  return `image ${index} (raw ${input.width}x${input.height}x${input.channels})`;
}

function isRawImage(v: unknown): v is RawImage {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && 'data' in v && 'width' in v;
}

function validateRaw(image: RawImage, label: string): RawImage {
  const { data, width, height, channels } = image;
  if (!(data instanceof Uint8Array)) {
    throw invalidArgument(`data of ${label}`, 'Uint8Array', data);
  }
  for (const [name, v] of [
    ['width', width],
    ['height', height],
    ['channels', channels],
  ] as const) {
    expectInteger(`${name} of ${label}`, v, 1);
  }
  if (data.length !== width * height * channels) {
    throw invalidInput(
      label,
      `Expected ${width * height * channels} bytes (width*height*channels) for data of ${label} but received ${data.length}`,
    );
  }
  return image;
}

/** Why a file path did not decode, from the filesystem (sharp says "unsupported format" for a folder or an unreadable file). */
async function fileProblem(file: string): Promise<string | null> {
  try {
    await access(file, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const link = await lstat(file).catch(() => null);
      return link?.isSymbolicLink() ? 'broken symbolic link (its target does not exist)' : 'file not found';
    }
    if (code === 'EACCES' || code === 'EPERM') return 'permission denied (the file is not readable)';
    if (code === 'ELOOP') return 'a loop of symbolic links';
    return (error as Error).message;
  }
  const st = await stat(file).catch(() => null);
  return st?.isDirectory() ? 'it is a folder' : null;
}

function tooLarge(input: ImageInput, label: string, width = 0, height = 0, maxPixels: number): OneclassError {
  return new OneclassError(
    'ERR_IMAGE_DECODE',
    `Cannot decode ${label}: ${width} x ${height} = ${width * height} pixels, more than the limit of ${maxPixels} per ` +
      'image (option maxImagePixels, --max-image-pixels)',
    { path: typeof input === 'string' ? input : undefined },
  );
}

/**
 * Decodes one input; `label` names it in errors (default: its path, or "image 0 (...)"). An image
 * whose header declares more than `maxPixels` (width x height) is refused before it is decoded
 * (pixel-budget.ts).
 */
export async function decodeImage(
  input: ImageInput,
  label: string = describeInput(input, 0),
  maxPixels: number = DEFAULT_DECODE_LIMITS.maxImagePixels,
): Promise<RawImage> {
  if (isRawImage(input)) return validateRaw(input, label);
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw invalidArgument(
      label,
      'a file path, an encoded image Buffer or a raw image {data, width, height, channels}',
      input,
    );
  }
  try {
    const image = sharp(input, { limitInputPixels: maxPixels });
    // sharp converts grayscale to sRGB on output unless told otherwise; keep the image's own
    // channel count (what Pillow's decode gives the training code) by asking for it explicitly.
    const meta = await image.metadata().catch(async (error: Error) => {
      // sharp refuses from the header already; say how large the image claims to be.
      if (!/exceeds pixel limit/.test(error.message)) throw error;
      const { width, height, pageHeight } = await sharp(input, { limitInputPixels: false }).metadata();
      throw tooLarge(input, label, width, pageHeight ?? height, maxPixels);
    });
    const colourChannels = (meta.channels ?? 3) - (meta.hasAlpha ? 1 : 0);
    const { data, info } = await image
      .toColourspace(colourChannels === 1 ? 'b-w' : 'srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      channels: info.channels,
    };
  } catch (cause) {
    if (cause instanceof OneclassError) throw cause;
    const message = (cause as Error).message.trim();
    const problem = typeof input === 'string' ? await fileProblem(input) : null;
    if (problem)
      throw new OneclassError('ERR_IMAGE_DECODE', `Cannot decode ${label}: ${problem}`, {
        path: input as string,
        cause,
      });
    throw new OneclassError('ERR_IMAGE_DECODE', `Cannot decode ${label}: ${message}`, {
      path: typeof input === 'string' ? input : undefined,
      cause,
    });
  }
}
