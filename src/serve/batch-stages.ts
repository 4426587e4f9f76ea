/**
 * The three stages of one batch formed from several callers' images, built from the pipeline's
 * own per-batch functions (decodeBatch of images.ts, encodeBatch of batches.ts, scoreBatch of
 * scoring.ts), as batches.ts invites a scheduler that forms batches differently to do. Only what
 * changes when one batch holds several callers is here: every caller's images are decoded (to the
 * encoder's colour space) and checked on their own, so one caller's bad image fails that caller
 * and not the batch; and the decoded-pixel budget is the batch's, shared by its callers in order.
 */
import { encodeBatch, type FeatureNeeds } from '../pipeline/batches.js';
import { imagesWithinBudget } from '../encoder/pixel-budget.js';
import {
  decodeBatch,
  type DecodedImage,
  type ImageSize,
  type NamedImage,
  type SkippedImage,
  type UnreadablePolicy,
} from '../pipeline/images.js';
import { type FittedPipeline, scoreBatch } from '../pipeline/scoring.js';
import type { ScoredImage } from '../pipeline/types.js';

/** One caller's images in a batch: `images` are the caller's images from position `offset`. */
export interface PartInput {
  images: readonly NamedImage[];
  offset: number;
  policy: UnreadablePolicy;
}

/**
 * `taken`: how many of the part's images were decoded or skipped; the others did not fit the
 * batch's decoded-pixel budget and belong to a later batch.
 */
export type PartDecoded =
  { ok: true; decoded: DecodedImage[]; skipped: SkippedImage[]; taken: number } | { ok: false; error: unknown };

/**
 * Decodes every part concurrently (sharp, libuv threads) to the encoder's colour target. The
 * batch stops short of the encoder's per-batch pixel budget (maxBatchPixels), counted over its
 * parts in order from the header of each image (nothing is decoded to find out): the first
 * image always fits, so every batch makes progress.
 */
export async function decodeParts(
  model: FittedPipeline,
  parts: readonly PartInput[],
  size: ImageSize | null,
): Promise<PartDecoded[]> {
  const { encoder } = model;
  const limits = encoder.decodeLimits;
  const colour = encoder.colourTarget();
  let fits = await imagesWithinBudget(
    parts.flatMap((p) => p.images.map((i) => i.image)),
    limits,
  );
  const counts = parts.map((p) => {
    const n = Math.min(fits, p.images.length);
    fits -= n;
    return n;
  });
  // The budget is settled for the whole batch above; each part's own check must not count it again.
  const partLimits = { ...limits, maxBatchPixels: Number.MAX_SAFE_INTEGER };
  return Promise.all(
    parts.map(async (p, i): Promise<PartDecoded> => {
      if (counts[i] === 0) return { ok: true, decoded: [], skipped: [], taken: 0 };
      try {
        const images = p.images.slice(0, counts[i]);
        const { decoded, skipped, taken } = await decodeBatch(images, p.offset, p.policy, size, colour, partLimits);
        return { ok: true, decoded, skipped, taken };
      } catch (error) {
        return { ok: false, error };
      }
    }),
  );
}

/** Encodes the batch's images and scores them; items come back in the order of `images`. */
export async function encodeImages(
  model: FittedPipeline,
  images: readonly DecodedImage[],
  needs: FeatureNeeds,
): Promise<Awaited<ReturnType<typeof encodeBatch>>> {
  return encodeBatch(model.encoder, images, model.config.encoder.output, needs);
}

export async function detectImages(
  model: FittedPipeline,
  images: DecodedImage[],
  features: Awaited<ReturnType<typeof encodeBatch>>,
  heatmaps: boolean,
): Promise<ScoredImage[]> {
  const r = await scoreBatch(model, { images, skipped: [], features }, { heatmaps, keepImages: false });
  return r.items;
}
