/**
 * The native JPEG decoder (native/addon/jpeg_decode.cc, libjpeg-turbo linked into the addon), used
 * by decode.ts and pixel-budget.ts in place of sharp for plain 8-bit gray, YCbCr and RGB JPEGs.
 *
 * Why by hand: sharp spends 1.3-1.8 ms of CPU on a 32 x 32 JPEG (two calls, header and pixels,
 * each building a libvips pipeline and crossing to libuv's threads), about 25 times what
 * libjpeg-turbo needs for it; on this project's own CIFAR-10 pipeline decoding cost more than
 * the encoder. No maintained npm package decodes JPEG natively with libjpeg-turbo's exact
 * output (jpeg-js is a JavaScript decoder with other rounding), and the pixels must stay those of
 * sharp and Pillow, which both run libjpeg-turbo's accurate IDCT with fancy upsampling.
 *
 * The decoder declines (returns null) everything else: CMYK / YCCK, 12-bit, images over the
 * pixel limit, and any file on which libjpeg reports an error or a warning (truncated, corrupt).
 * sharp then decodes it as before, so its pixels, its conversions and its error messages remain
 * the reference, and this path never accepts a file that sharp refuses. EXIF orientation and ICC
 * profiles need nothing here: decode.ts applies neither.
 *
 * `ONECLASS_JPEG_DECODER=sharp` in the environment turns it off (sharp decodes every JPEG);
 * `jpegDecoder()` says which one runs. An addon built without a static libjpeg has no decoder.
 */
import type { Metadata } from 'sharp';

import { binding } from '../native.js';

/** The native decoder's result: interleaved 8-bit samples, 1 (gray) or 3 (RGB) channels. */
export interface JpegPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

export interface JpegBinding {
  decodeJpeg(bytes: Uint8Array, options: { maxPixels: number }): JpegPixels | null;
  decodeJpegAsync(bytes: Uint8Array, options: { maxPixels: number }): Promise<JpegPixels | null>;
  jpegDecoderInfo(): { library: string; version: string };
}

/** Images of at most this many pixels are decoded on the calling thread (a 128 x 128 JPEG takes about 0.1 ms). */
export const SYNC_DECODE_PIXELS = 128 * 128;

let override: 'auto' | 'sharp' | undefined;
let resolved: JpegBinding | null | undefined;

function hasDecoder(b: object): b is JpegBinding {
  return typeof (b as Partial<JpegBinding>).decodeJpeg === 'function';
}

/** The native decoder, or null when it is off or not built. */
function nativeJpeg(): JpegBinding | null {
  if (resolved !== undefined) return resolved;
  const wanted = override ?? (process.env.ONECLASS_JPEG_DECODER === 'sharp' ? 'sharp' : 'auto');
  if (wanted === 'sharp') return (resolved = null);
  try {
    const b = binding();
    resolved = hasDecoder(b) ? b : null;
  } catch {
    // No addon at all: sharp decodes (the addon's absence is reported by whatever needs it).
    resolved = null;
  }
  return resolved;
}

/**
 * Which decoder handles plain JPEGs: 'native' with the library and its version, or 'sharp'
 * (turned off by ONECLASS_JPEG_DECODER=sharp or setJpegDecoder, or an addon built without it).
 */
export function jpegDecoder(): { decoder: 'native'; library: string; version: string } | { decoder: 'sharp' } {
  const n = nativeJpeg();
  return n ? { decoder: 'native', ...n.jpegDecoderInfo() } : { decoder: 'sharp' };
}

/**
 * Chooses the decoder for this process from now on: 'auto' (the native one when built, unless the
 * environment says sharp) or 'sharp'. For tests and benchmarks that compare the two.
 */
export function setJpegDecoder(which: 'auto' | 'sharp'): void {
  override = which;
  resolved = undefined;
}

/** Starts with a JPEG's start-of-image marker. */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/** A file name that says JPEG (the files worth reading ahead of sharp). */
export function isJpegName(file: string): boolean {
  return /\.(jpe?g|jpe|jfif)$/i.test(file);
}

/**
 * A JPEG's size and channels from its frame header (SOF marker), without decoding, in the shape
 * of sharp's metadata for the fields this project reads; null when the bytes are not a JPEG whose
 * frame this decoder would take (then sharp reads the header). Only the bytes up to the frame
 * header are needed: a file's first 64 KB are usually enough.
 */
export function jpegHeader(bytes: Uint8Array): Metadata | null {
  if (!isJpeg(bytes)) return null;
  let pos = 2;
  while (pos + 4 <= bytes.length) {
    if (bytes[pos] !== 0xff) return null;
    const marker = bytes[pos + 1]!;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2; // markers without a length
      continue;
    }
    const length = (bytes[pos + 2]! << 8) | bytes[pos + 3]!;
    if (length < 2) return null;
    // SOF0-SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (pos + 10 > bytes.length) return null;
      const precision = bytes[pos + 4]!;
      const height = (bytes[pos + 5]! << 8) | bytes[pos + 6]!;
      const width = (bytes[pos + 7]! << 8) | bytes[pos + 8]!;
      const components = bytes[pos + 9]!;
      if (precision !== 8 || width === 0 || height === 0 || (components !== 1 && components !== 3)) return null;
      return {
        format: 'jpeg',
        width,
        height,
        channels: components,
        space: components === 1 ? 'b-w' : 'srgb',
        depth: 'uchar',
      } as Metadata;
    }
    if (marker === 0xda || marker === 0xd9) return null; // scan or end before any frame header
    pos += 2 + length;
  }
  return null;
}

/**
 * Decodes a plain JPEG natively: on the calling thread when small (SYNC_DECODE_PIXELS), on
 * libuv's thread pool otherwise. null: not this decoder's (see the top of the file), or the
 * decoder is off; the caller then decodes with sharp.
 */
export async function decodeJpeg(
  bytes: Uint8Array,
  maxPixels: number,
  header: Metadata | null = null,
): Promise<JpegPixels | null> {
  const n = nativeJpeg();
  if (!n || !isJpeg(bytes)) return null;
  const h = header ?? jpegHeader(bytes);
  if (h && (h.width ?? 0) * (h.height ?? 0) <= SYNC_DECODE_PIXELS) return n.decodeJpeg(bytes, { maxPixels });
  return n.decodeJpegAsync(bytes, { maxPixels });
}

/** Whether the native decoder is on (decode.ts reads JPEG files itself only then). */
export function nativeJpegEnabled(): boolean {
  return nativeJpeg() !== null;
}
