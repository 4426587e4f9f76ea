/**
 * The three stages of one batch formed from several callers' images, built from the pipeline's
 * own per-batch functions (decodeBatch of images.ts, encodeBatch of batches.ts, scoreBatch of
 * scoring.ts), as batches.ts invites a scheduler that forms batches differently to do. Only what
 * changes when one batch holds several callers is here: every caller's images are decoded and
 * checked on their own, so one caller's bad image fails that caller and not the batch.
 */
import { encodeBatch, type FeatureNeeds } from '../pipeline/batches.js';
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

export type PartDecoded =
  { ok: true; decoded: DecodedImage[]; skipped: SkippedImage[] } | { ok: false; error: unknown };

/**
 * Decodes every part concurrently (sharp, libuv threads) and checks each image's channels against
 * the encoder, so that encodeBatch, which checks the whole batch at once, cannot fail on one image.
 */
export async function decodeParts(
  model: FittedPipeline,
  parts: readonly PartInput[],
  size: ImageSize | null,
): Promise<PartDecoded[]> {
  return Promise.all(
    parts.map(async (p): Promise<PartDecoded> => {
      try {
        const { decoded, skipped } = await decodeBatch(p.images, p.offset, p.policy, size);
        for (const d of decoded) model.encoder.checkImage(d.raw, d.id);
        return { ok: true, decoded, skipped };
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
