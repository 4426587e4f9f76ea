/**
 * Turns an ImageInput (file path, encoded bytes, raw pixels) into uint8 H x W x C pixels, in the
 * model's colour space when a target is given, exactly as python-export/colour.py does for
 * training (test/encoder-decode.test.ts compares both on real files of every kind).
 *
 * sharp is asked for the raw samples the file stores, and colour.ts converts them: libvips's own
 * conversions (gray weights, alpha, 16-bit, CMYK through an ICC transform) do not match Pillow's.
 * What sharp does by default, and how each kind is asked for as it is stored (measured with sharp
 * 0.35.5 / libvips 8.18.7; docs/encoders.md has the table):
 * - it converts everything to 8-bit sRGB on raw output: gray is replicated, 16-bit is reduced, so
 *   the colour space is requested explicitly ('b-w', 'grey16', 'srgb', 'rgb16', 'cmyk');
 * - 'b-w'/'grey16' output drops an alpha channel, so gray + alpha is requested as sRGB (libvips
 *   replicates gray exactly) and channels 0 and 3 are kept;
 * - CMYK is transformed to sRGB with libvips's built-in CMYK profile unless the pipeline colour
 *   space is CMYK; Adobe-inverted CMYK JPEGs are un-inverted by the loader, as Pillow's are;
 * - an embedded ICC profile is applied unless `ignoreIcc` (Pillow ignores it);
 * - EXIF orientation is not applied (neither does Pillow).
 * Decoded JPEG samples themselves agree: sharp's mozjpeg and Pillow's libjpeg-turbo give identical
 * pixels on the magnetic-tile and CIFAR-10 JPEGs and on the fixtures. Plain 8-bit gray / YCbCr /
 * RGB JPEGs are decoded by the addon's libjpeg-turbo instead (jpeg.ts: the same pixels at a
 * twentieth of the cost); anything it declines comes here. sharp's `failOn: 'warning'` is
 * kept on purpose: it is what makes truncated JPEGs fail instead of decoding to a grey lower half.
 * Encoded images are refused from their header when they declare more pixels than allowed
 * (sharp's `limitInputPixels`, pixel-budget.ts), and a path that does not decode says why from
 * the filesystem (missing, unreadable, a folder, a broken or looping symbolic link).
 */
import { constants } from 'node:fs';
import { access, lstat, readFile, stat } from 'node:fs/promises';

import sharp, { type Metadata } from 'sharp';

import { invalidArgument, invalidInput, OneclassError } from '../errors.js';
import { expectInteger, isInRange } from '../validate.js';
import {
  type ColourTarget,
  LAYOUT_CHANNELS,
  normalizeSamples,
  RAW_LAYOUTS,
  type SampleLayout,
  type Samples,
  strictMismatch,
  toModelColour,
} from './colour.js';
import { decodeJpeg, isJpegName, nativeJpegEnabled } from './jpeg.js';
import { DEFAULT_DECODE_LIMITS, knownHeader } from './pixel-budget.js';
import { withSharp } from './sharp-slots.js';
import type { ImageInput, RawImage } from './types.js';

export interface DecodeOptions {
  /**
   * Convert to this model colour space (Encoder does, from its manifest). Without it the image
   * keeps its own colour family, 8-bit, alpha included: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA
   * (CMYK becomes RGB).
   */
  readonly target?: ColourTarget & { readonly model?: string };
  /**
   * Largest width x height an encoded image may declare (default DEFAULT_DECODE_LIMITS.maxImagePixels,
   * 2^26); a larger one is refused from its header, before anything is decoded.
   */
  readonly maxPixels?: number;
  /**
   * The encoded image's header, as the pixel budget read it (pixel-budget.ts's readHeader): the
   * decode then skips its own header read (one sharp call less per image). Ignored for raw images.
   */
  readonly header?: Metadata | null;
}

/** How an input is named in messages: its path, or its position and kind. */
export function describeInput(input: ImageInput, index: number): string {
  if (typeof input === 'string') return input;
  if (input instanceof Uint8Array) return `image ${index} (encoded buffer of ${input.byteLength} bytes)`;
  return `image ${index} (raw ${input.width}x${input.height}x${input.channels})`;
}

function isRawImage(v: unknown): v is RawImage {
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && 'data' in v && 'width' in v;
}

function rawToSamples(image: RawImage, label: string): Samples {
  const { data, width, height, channels } = image;
  if (!(data instanceof Uint8Array)) {
    throw invalidArgument(`data of ${label}`, 'Uint8Array', data);
  }
  expectInteger(`width of ${label}`, width, 1);
  expectInteger(`height of ${label}`, height, 1);
  if (!isInRange(channels, { integer: true, min: 1, max: 4 })) {
    throw invalidArgument(`channels of ${label}`, 'integer 1 to 4 (gray, gray+alpha, RGB, RGBA)', channels);
  }
  if (data.length !== width * height * channels) {
    throw invalidInput(
      `data of ${label}`,
      `Expected ${width * height * channels} bytes (width*height*channels) for data of ${label} but received ${data.length}`,
    );
  }
  return { data, width, height, layout: RAW_LAYOUTS[channels]! };
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

type SharpSpace = 'b-w' | 'grey16' | 'srgb' | 'rgb16' | 'cmyk';

/** What to ask sharp for, by the space and depth its metadata reports. */
function plan(meta: Metadata): { space: SharpSpace; layout: SampleLayout; wide: boolean; pick?: number[] } | string {
  const wide = meta.depth === 'ushort';
  if (meta.depth !== 'uchar' && meta.depth !== 'ushort') return `${meta.depth} samples (expected 8 or 16 bits)`;
  const channels = meta.channels ?? 0;
  switch (meta.space) {
    case 'b-w':
    case 'grey16':
      if (channels === 1) return { space: wide ? 'grey16' : 'b-w', layout: 'gray', wide };
      if (channels === 2) return { space: wide ? 'rgb16' : 'srgb', layout: 'gray-alpha', wide, pick: [0, 3] };
      break;
    case 'srgb':
    case 'rgb16':
      if (channels === 3 || channels === 4) {
        return { space: wide ? 'rgb16' : 'srgb', layout: channels === 3 ? 'rgb' : 'rgba', wide };
      }
      break;
    case 'cmyk':
      if (channels === 4 && !wide) return { space: 'cmyk', layout: 'cmyk', wide };
      break;
  }
  return `colour space '${meta.space}' with ${channels} channel(s) at ${meta.depth} (expected gray, RGB, palette or 8-bit CMYK, with or without alpha)`;
}

function pickChannels(data: Uint8Array | Uint16Array, from: number, pick: number[]): Uint8Array | Uint16Array {
  const pixels = data.length / from;
  const out =
    data instanceof Uint16Array ? new Uint16Array(pixels * pick.length) : new Uint8Array(pixels * pick.length);
  for (let p = 0; p < pixels; p++)
    for (let k = 0; k < pick.length; k++) out[p * pick.length + k] = data[p * from + pick[k]];
  return out;
}

/**
 * The raw samples of an encoded image (first frame), as described at the top of this file. An image
 * whose header declares more than `maxPixels` (width x height) is refused before it is decoded
 * (pixel-budget.ts).
 */
export async function decodeSamples(
  input: string | Uint8Array,
  label: string,
  maxPixels: number = DEFAULT_DECODE_LIMITS.maxImagePixels,
  header: Metadata | null = null,
): Promise<Samples> {
  const known = header ?? knownHeader(input);
  const fast = await nativeSamples(input, maxPixels, known);
  if (fast) return fast;
  return withSharp(() => decodeNow(input, label, maxPixels, known));
}

/**
 * A plain JPEG (bytes, or a file named .jpg / .jpeg) through the native decoder (jpeg.ts); null
 * for everything else, and for a file that cannot be read: sharp then decodes it, or says why not.
 */
async function nativeSamples(
  input: string | Uint8Array,
  maxPixels: number,
  header: Metadata | null,
): Promise<Samples | null> {
  if (!nativeJpegEnabled()) return null;
  // Over the limit by its (possibly remembered) header: sharp's path refuses it with the sizes.
  if (header && (header.width ?? 0) * (header.pageHeight ?? header.height ?? 0) > maxPixels) return null;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    if (!isJpegName(input)) return null;
    const read = await readFile(input).catch(() => null);
    if (!read) return null;
    bytes = read;
  } else {
    bytes = input;
  }
  const pixels = await decodeJpeg(bytes, Math.min(Math.floor(maxPixels), Number.MAX_SAFE_INTEGER), header);
  if (!pixels) return null;
  return {
    data: pixels.data,
    width: pixels.width,
    height: pixels.height,
    layout: pixels.channels === 1 ? 'gray' : 'rgb',
  };
}

async function decodeNow(
  input: string | Uint8Array,
  label: string,
  maxPixels: number,
  header: Metadata | null,
): Promise<Samples> {
  const file = typeof input === 'string' ? input : undefined;
  try {
    // sharp's limitInputPixels still guards the decode itself (a file changed since its header was read).
    const image = sharp(input, { ignoreIcc: true, limitInputPixels: maxPixels });
    if (header) {
      const height = header.pageHeight ?? header.height ?? 0;
      if ((header.width ?? 0) * height > maxPixels) throw tooLarge(input, label, header.width, height, maxPixels);
    }
    const meta =
      header ??
      (await image.metadata().catch(async (error: Error) => {
        // sharp refuses from the header already; say how large the image claims to be.
        if (!/exceeds pixel limit/.test(error.message)) throw error;
        const { width, height, pageHeight } = await sharp(input, { limitInputPixels: false }).metadata();
        throw tooLarge(input, label, width, pageHeight ?? height, maxPixels);
      }));
    const how = plan(meta);
    if (typeof how === 'string') {
      throw new OneclassError('ERR_IMAGE_DECODE', `Cannot decode ${label}: unsupported ${how}`, { path: file });
    }
    if (how.space === 'cmyk') image.pipelineColourspace('cmyk');
    const { data, info } = await image
      .toColourspace(how.space)
      .raw({ depth: how.wide ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    // 16-bit raw output is in machine byte order; a view needs an even offset, else copy.
    let samples: Uint8Array | Uint16Array = !how.wide
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : data.byteOffset % 2 === 0
        ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
        : new Uint16Array(new Uint8Array(data).buffer);
    if (how.pick) samples = pickChannels(samples, info.channels, how.pick);
    const expected = LAYOUT_CHANNELS[how.layout];
    if (samples.length !== info.width * info.height * expected) {
      throw new OneclassError(
        'ERR_IMAGE_DECODE',
        `Cannot decode ${label}: sharp returned ${info.channels} channel(s) for ${how.layout}, expected ${expected}`,
        { path: file },
      );
    }
    return { data: samples, width: info.width, height: info.height, layout: how.layout };
  } catch (cause) {
    if (cause instanceof OneclassError) throw cause;
    const message = (cause as Error).message.trim();
    const problem = file !== undefined ? await fileProblem(file) : null;
    if (problem)
      throw new OneclassError('ERR_IMAGE_DECODE', `Cannot decode ${label}: ${problem}`, { path: file, cause });
    throw new OneclassError('ERR_IMAGE_DECODE', `Cannot decode ${label}: ${message}`, { path: file, cause });
  }
}

/**
 * Decodes one input; `label` names it in errors (default: its path, or "image 0 (...)"). With
 * `options.target`, the result is in the model's colour space (or, in strict mode, an
 * ERR_INVALID_ARGUMENT when the image's colour family differs or it has alpha). An encoded image
 * over `options.maxPixels` is refused from its header (ERR_IMAGE_DECODE).
 */
export async function decodeImage(
  input: ImageInput,
  label: string = describeInput(input, 0),
  options: DecodeOptions = {},
): Promise<RawImage> {
  let samples: Samples;
  if (isRawImage(input)) {
    samples = rawToSamples(input, label);
  } else if (typeof input === 'string' || input instanceof Uint8Array) {
    samples = await decodeSamples(input, label, options.maxPixels, options.header ?? null);
  } else {
    throw invalidArgument(
      label,
      'a file path, an encoded image Buffer or a raw image {data, width, height, channels}',
      input,
    );
  }
  const target = options.target;
  if (!target) return normalizeSamples(samples, null);
  if (target.strict) {
    const why = strictMismatch(samples.layout, target.channels);
    if (why !== null) {
      throw invalidInput(
        typeof input === 'string' ? input : label,
        `${label} ${why}${target.model ? ` (${target.model})` : ''}; strict colour mode does not convert ` +
          '(leave strictColour off to convert as the manifest says, or convert the image first)',
      );
    }
  }
  return toModelColour(samples, target.channels, target.policy);
}
