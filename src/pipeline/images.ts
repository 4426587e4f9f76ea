/**
 * Turning the caller's images into decoded pixels, one batch at a time, with the pipeline's
 * policies: unreadable images are an error (default) or skipped and reported; images whose size
 * differs from the training images' are an error when the model was fitted on one fixed size
 * (a 28x28 image given to a 1024x1024 inspection model is a mistake more often than not).
 */
import { decodeImage, type ImageInput, type RawImage } from '../encoder/index.js';
import { OneclassError } from '../errors.js';
import type { DatasetItem } from '../datasets/types.js';

export type UnreadablePolicy = 'error' | 'skip';

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

/** Names every input: file paths name themselves; buffers and raw images get their position. */
export function nameImages(images: readonly (ImageInput | DatasetItem)[]): NamedImage[] {
  if (!Array.isArray(images)) {
    throw new OneclassError(
      'ERR_INVALID_ARGUMENT',
      `Expected an array of images for images but received ${typeof images}`,
      { path: 'images' },
    );
  }
  return images.map((input, i) => {
    if (input !== null && typeof input === 'object' && 'id' in input && 'image' in input) return input as DatasetItem;
    const image = input as ImageInput;
    return { id: typeof image === 'string' ? image : `image ${i}`, image };
  });
}

export interface ExpectedInput {
  /** Fixed width x height of every training image, or null when they varied. */
  size: { width: number; height: number } | null;
  channels: number;
}

/** Decodes a batch; `offset` is the batch's position in the whole list (for messages). */
export async function decodeBatch(
  batch: readonly NamedImage[],
  offset: number,
  policy: UnreadablePolicy,
  expected?: ExpectedInput,
): Promise<{ decoded: DecodedImage[]; skipped: SkippedImage[] }> {
  const results = await Promise.allSettled(batch.map((item) => decodeImage(item.image, item.id)));
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
    if (expected) {
      if (raw.channels !== expected.channels) {
        throw new OneclassError(
          'ERR_INVALID_ARGUMENT',
          `${id} has ${raw.channels} channel(s) but the model was fitted on ${expected.channels}-channel images`,
          { path: id },
        );
      }
      if (expected.size && (raw.width !== expected.size.width || raw.height !== expected.size.height)) {
        throw new OneclassError(
          'ERR_INVALID_ARGUMENT',
          `${id} is ${raw.width}x${raw.height} but the model was fitted on ${expected.size.width}x${expected.size.height} images ` +
            '(pass allowResize / --allow-resize to score it anyway)',
          { path: id },
        );
      }
    }
    decoded.push({ id, index, raw });
  });
  return { decoded, skipped };
}

/** The common size of a set of images, or null when they differ. */
export function commonSize(images: readonly RawImage[]): { width: number; height: number } | null {
  if (images.length === 0) return null;
  const { width, height } = images[0];
  return images.every((i) => i.width === width && i.height === height) ? { width, height } : null;
}
