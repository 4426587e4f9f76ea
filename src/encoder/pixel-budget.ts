/**
 * Decoded-pixel limits: how many pixels one image may decode to, and how many the images of one
 * batch may decode to together. A 250 KB PNG can declare 16000 x 16000 pixels (256 MB decoded):
 * without limits a folder of 24 of them took 6.2 GB. Both limits are checked on the images'
 * headers, before anything is decoded; an image over the per-image limit is unreadable
 * (ERR_IMAGE_DECODE, skippable), and a batch stops before the image that would take it over the
 * per-batch limit (the rest goes into the next batch; a batch always holds at least one image).
 */
import { type FileHandle, open } from 'node:fs/promises';

import sharp, { type Metadata } from 'sharp';

import { expectInteger, expectKnownKeys, expectOptions } from '../validate.js';
import { isJpegName, jpegHeader, nativeJpegEnabled } from './jpeg.js';
import { withSharp } from './sharp-slots.js';
import type { ImageInput } from './types.js';

export interface DecodeLimits {
  /** Largest width x height one image may decode to (default 2^26 = 67,108,864, e.g. 8192 x 8192). */
  readonly maxImagePixels: number;
  /** Largest sum of width x height over the images of one batch (default 2^27 = 134,217,728). */
  readonly maxBatchPixels: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxImagePixels: 2 ** 26, maxBatchPixels: 2 ** 27 };
/** sharp's own ceiling (0x3FFF x 0x3FFF). */
const MAX_PIXELS = 0x3fff * 0x3fff;

export function resolveDecodeLimits(path: string, o: Record<string, unknown>): DecodeLimits {
  const image =
    o.maxImagePixels === undefined
      ? DEFAULT_DECODE_LIMITS.maxImagePixels
      : expectInteger(`${path}.maxImagePixels`, o.maxImagePixels, 1, MAX_PIXELS);
  const batch =
    o.maxBatchPixels === undefined
      ? Math.max(image, DEFAULT_DECODE_LIMITS.maxBatchPixels)
      : expectInteger(`${path}.maxBatchPixels`, o.maxBatchPixels, image, Number.MAX_SAFE_INTEGER);
  return { maxImagePixels: image, maxBatchPixels: batch };
}

/** Checks an options object holding only the two limits (used where nothing else is accepted). */
export function decodeLimitsOption(path: string, value: unknown): DecodeLimits {
  const o = expectOptions(path, value);
  expectKnownKeys(path, o, ['maxImagePixels', 'maxBatchPixels']);
  return resolveDecodeLimits(path, o);
}

/**
 * Headers already read by a caller that owns the bytes and never changes them (`oneclass serve`
 * checks each upload's header before it joins a batch): the budget and the decode take them from
 * here instead of asking sharp again. Weakly held: an entry goes with its bytes.
 */
const knownHeaders = new WeakMap<Uint8Array, Metadata>();

/** Records the header of `bytes` for readHeader and the decode (the bytes must not change afterwards). */
export function rememberHeader(bytes: Uint8Array, header: Metadata): void {
  knownHeaders.set(bytes, header);
}

/** A header recorded with rememberHeader, or null. */
export function knownHeader(input: ImageInput): Metadata | null {
  return input instanceof Uint8Array ? (knownHeaders.get(input) ?? null) : null;
}

/**
 * The header of an encoded input (null for raw pixels, or when it cannot be read: decoding then
 * says why). decodeImage takes it back (`options.header`) instead of reading it again.
 */
export async function readHeader(input: ImageInput): Promise<Metadata | null> {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) return null;
  const known = knownHeader(input);
  if (known) return known;
  const jpeg = await jpegHeaderOf(input);
  if (jpeg) return jpeg;
  try {
    return await withSharp(() => sharp(input, { limitInputPixels: false }).metadata());
  } catch {
    return null;
  }
}

/**
 * A plain JPEG's header read without sharp (jpeg.ts) when the native decoder will decode it: from
 * the bytes, or from the first 64 KB of a file named .jpg / .jpeg. null otherwise.
 */
async function jpegHeaderOf(input: string | Uint8Array): Promise<Metadata | null> {
  if (!nativeJpegEnabled()) return null;
  if (input instanceof Uint8Array) return jpegHeader(input);
  if (!isJpegName(input)) return null;
  let file: FileHandle | undefined;
  try {
    file = await open(input, 'r');
    const { buffer, bytesRead } = await file.read(Buffer.alloc(HEADER_READ_BYTES), 0, HEADER_READ_BYTES, 0);
    return jpegHeader(buffer.subarray(0, bytesRead));
  } catch {
    return null;
  } finally {
    await file?.close().catch(() => undefined);
  }
}

const HEADER_READ_BYTES = 64 * 1024;

/** Pixels an input will decode to, from its header; 0 when the header cannot be read. */
function declaredPixels(input: ImageInput, header: Metadata | null): number {
  if (header) return (header.width ?? 0) * (header.pageHeight ?? header.height ?? 0);
  const raw = input as { width?: unknown; height?: unknown };
  return typeof raw?.width === 'number' && typeof raw?.height === 'number' ? raw.width * raw.height : 0;
}

/** A batch cut to the decoded-pixel budget, and the headers read for it (null: none were needed). */
export interface BudgetedBatch {
  /** How many of the inputs, from the first, the batch takes. */
  taken: number;
  /** The header of each input taken (null entries: raw or unreadable), or null when none was read. */
  headers: (Metadata | null)[] | null;
}

/**
 * How many of `inputs`, from the first, fit in `maxBatchPixels` together (at least one; images
 * over the per-image limit count nothing, as they will not be decoded), with the headers read.
 */
export async function budgetBatch(inputs: readonly ImageInput[], limits: DecodeLimits): Promise<BudgetedBatch> {
  // Each image counts at most maxImagePixels: when all of them at that size fit, no header need be read.
  if (inputs.length * limits.maxImagePixels <= limits.maxBatchPixels) return { taken: inputs.length, headers: null };
  const headers = await Promise.all(inputs.map(readHeader));
  let sum = 0;
  for (let i = 0; i < headers.length; i++) {
    const pixels = declaredPixels(inputs[i], headers[i]);
    const p = pixels > limits.maxImagePixels ? 0 : pixels;
    if (i > 0 && sum + p > limits.maxBatchPixels) return { taken: i, headers: headers.slice(0, i) };
    sum += p;
  }
  return { taken: inputs.length, headers };
}

/** budgetBatch's count alone. */
export async function imagesWithinBudget(inputs: readonly ImageInput[], limits: DecodeLimits): Promise<number> {
  return (await budgetBatch(inputs, limits)).taken;
}
