/**
 * Turning the caller's images into decoded pixels, one batch at a time, with the pipeline's
 * policies: unreadable images are an error (default) or skipped and reported; images whose size
 * differs from the training images' are an error when the model was fitted on one fixed size
 * (a 28x28 image given to a 1024x1024 inspection model is a mistake more often than not).
 * Every image is decoded to the encoder's colour space (Encoder.colourTarget: gray <-> RGB,
 * alpha, 16-bit, CMYK as the manifest says, or refused in strict mode), so what the encode
 * stage and the patch path read is already in the model's colour space.
 */
import type { DatasetItem } from '../datasets/types.js';
import { type ColourTarget, decodeImage, type ImageInput, type RawImage } from '../encoder/index.js';
import { budgetBatch, DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../encoder/pixel-budget.js';
import { invalidInput } from '../errors.js';
import { expectArray, expectOneOf } from '../validate.js';

export type UnreadablePolicy = 'error' | 'skip';
export const UNREADABLE_POLICIES: readonly UnreadablePolicy[] = ['error', 'skip'];

export function unreadablePolicy(path: string, value: unknown): UnreadablePolicy {
  return value === undefined ? 'error' : expectOneOf(path, value, UNREADABLE_POLICIES);
}

export interface NamedImage {
  readonly id: string;
  readonly image: ImageInput;
}

export interface DecodedImage {
  readonly id: string;
  /** Position in the caller's list. */
  readonly index: number;
  readonly raw: RawImage;
}

export interface SkippedImage {
  readonly id: string;
  readonly index: number;
  readonly reason: string;
}

export interface ImageSize {
  width: number;
  height: number;
}

/** What a fitted model expects of an image. */
export interface ExpectedInput {
  /** Fixed width x height of every training image, or null when they varied. */
  size: ImageSize | null;
  channels: number;
}

/** Names every input: file paths name themselves; buffers and raw images get their position. */
export function nameImages(images: readonly (ImageInput | DatasetItem)[], path = 'images'): NamedImage[] {
  return expectArray<ImageInput | DatasetItem>(path, images, 'an array of images').map((input, i) => {
    if (input !== null && typeof input === 'object' && 'id' in input && 'image' in input) return input;
    return { id: typeof input === 'string' ? input : `image ${i}`, image: input };
  });
}

/**
 * Decodes a batch to `colour` (the encoder's colourTarget(); null: each image's own colours);
 * `offset` is the batch's position in the whole list (for messages), `size` the one size every
 * image must have (null: any). The batch stops short of the decoded-pixel budget (`taken` images
 * of `offered` are decoded or skipped; the rest belongs to the next batch).
 */
export async function decodeBatch(
  offered: readonly NamedImage[],
  offset: number,
  policy: UnreadablePolicy,
  size: ImageSize | null,
  colour: ColourTarget | null,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): Promise<{ decoded: DecodedImage[]; skipped: SkippedImage[]; taken: number }> {
  const { taken, headers } = await budgetBatch(
    offered.map((i) => i.image),
    limits,
  );
  const batch = offered.slice(0, taken);
  const target = colour ?? undefined;
  const results = await Promise.allSettled(
    batch.map((item, i) =>
      decodeImage(item.image, item.id, { target, maxPixels: limits.maxImagePixels, header: headers?.[i] }),
    ),
  );
  const decoded: DecodedImage[] = [];
  const skipped: SkippedImage[] = [];
  results.forEach((r, i) => {
    const { id } = batch[i];
    const index = offset + i;
    if (r.status === 'rejected') {
      const err = r.reason as { code?: string; message?: string };
      // Only decoding failures are skippable; a bad argument stays an error.
      if (policy === 'skip' && err?.code === 'ERR_IMAGE_DECODE') {
        skipped.push({ id, index, reason: err.message ?? String(r.reason) });
        return;
      }
      throw r.reason;
    }
    const raw = r.value;
    if (size && (raw.width !== size.width || raw.height !== size.height)) {
      throw invalidInput(
        id,
        `${id} is ${raw.width}x${raw.height} but the model was fitted on ${size.width}x${size.height} images ` +
          '(pass allowResize / --allow-resize to score it anyway)',
      );
    }
    decoded.push({ id, index, raw });
  });
  return { decoded, skipped, taken };
}

/**
 * The common size of every image seen so far, or null once two differ: `previous` is the value
 * after the earlier batches (undefined before the first).
 */
export function commonSize(
  previous: ImageSize | null | undefined,
  images: readonly RawImage[],
): ImageSize | null | undefined {
  if (images.length === 0 || previous === null) return previous;
  const { width, height } = previous ?? images[0];
  return images.every((i) => i.width === width && i.height === height) ? { width, height } : null;
}
