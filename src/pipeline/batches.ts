/**
 * The pipeline's one batch loop, shared by fit, score, localize and evaluation:
 *
 *   decode (sharp, libuv threads)  ->  encode (native preprocessing + ONNX Runtime)  ->  caller
 *
 * Batch k+1 is decoded while batch k is encoded and while the caller detects on it (prefetch.ts),
 * the two stages taking similar time. Each stage is a plain function of one batch (decodeBatch,
 * encodeBatch), so a scheduler that forms batches differently (several callers' images in one
 * batch, inference in worker threads) reuses them as they are.
 */
import type { Encoder, EncoderOutput, ImageViews } from '../encoder/index.js';
import { prefetched } from '../prefetch.js';
import type { Matrix } from '../validate.js';
import type { DenseFeatures } from './dense-localization.js';
import { type PatchGeometry, patchEmbeddings } from './features.js';
import {
  decodeBatch,
  type DecodedImage,
  type ImageSize,
  type NamedImage,
  type SkippedImage,
  type UnreadablePolicy,
} from './images.js';
import type { Progress } from './types.js';

/** Default images per batch: whole-image scoring, and batches that also embed patches. */
export const DEFAULT_BATCH = 32;
export const PATCH_BATCH = 8;

/** Which embeddings a batch needs. */
export interface FeatureNeeds {
  /** One embedding per image (the encoder output the model was fitted on). */
  image: boolean;
  /** The views that image embedding is made of (default 'none'; src/encoder/views.ts). */
  views?: ImageViews;
  /** Patch embeddings on this grid (image-major: row i * positions + p), or null. */
  patches: PatchGeometry | null;
  /** A dense encoder's per-position outputs, from the same forward pass as the image embedding. */
  dense?: { scores: boolean; features: boolean } | null;
}

export interface Features {
  image: Matrix | null;
  patches: Matrix | null;
  /** Dense per-position scores (images x positions) and feature rows (images*positions x dim). */
  dense?: DenseFeatures | null;
}

export interface EncodedBatch {
  images: DecodedImage[];
  skipped: SkippedImage[];
  features: Features;
}

export interface BatchPlan {
  encoder: Encoder;
  output: EncoderOutput;
  needs: FeatureNeeds;
  batchSize: number;
  onUnreadable: UnreadablePolicy;
  /** The size every image must have (a model fitted on one fixed size), or null. */
  size: ImageSize | null;
  /** Reported after the caller is done with each batch. */
  stage: Progress['stage'];
  onProgress?: (p: Progress) => void;
}

/** The encode stage of one decoded batch. */
export async function encodeBatch(
  encoder: Encoder,
  images: readonly DecodedImage[],
  output: EncoderOutput,
  needs: FeatureNeeds,
): Promise<Features> {
  if (images.length === 0) return { image: null, patches: null, dense: null };
  // decodeBatch decoded them to the encoder's colour space, which the patch path relies on.
  const raws = images.map((d) => d.raw);
  const labels = images.map((d) => d.id);
  const views = needs.views ?? 'none';
  if (needs.dense) {
    // One forward pass for the image embedding and the per-position outputs (the image
    // embedding's views, when it has several, take passes of their own).
    const together = needs.image && views === 'none';
    const r = await encoder.forwardDecoded(raws, {
      output: together ? output : null,
      scores: needs.dense.scores,
      features: needs.dense.features,
      labels,
    });
    const f = r.features;
    return {
      image: needs.image && !together ? await encoder.embedDecoded(raws, { output, labels, views }) : r.image,
      patches: null,
      dense: { scores: r.scores, features: f ? { data: f.data, rows: f.images * f.positions, cols: f.dim } : null },
    };
  }
  const image = needs.image ? await encoder.embedDecoded(raws, { output, labels, views }) : null;
  const patches = needs.patches ? await patchEmbeddings(encoder, raws, needs.patches, output, labels) : null;
  return { image, patches };
}

export async function* encodedBatches(images: readonly NamedImage[], plan: BatchPlan): AsyncGenerator<EncodedBatch> {
  const colour = plan.encoder.colourTarget();
  const decoded = prefetched(
    images.length,
    plan.batchSize,
    (start, end) =>
      decodeBatch(images.slice(start, end), start, plan.onUnreadable, plan.size, colour, plan.encoder.decodeLimits),
    (batch) => batch.taken,
  );
  // As many batches encode at once as the encoder has inference workers (two on a CPU by
  // default); they are handed out in order. Runs still in flight when the consumer stops early or
  // a batch fails are waited for, so none outlives the iteration.
  const inFlight: { end: number; value: Awaited<ReturnType<typeof decodeBatch>>; features: Promise<Features> }[] = [];
  try {
    for await (const { end, value } of decoded) {
      const features = encodeBatch(plan.encoder, value.decoded, plan.output, plan.needs);
      features.catch(() => undefined); // awaited below
      inFlight.push({ end, value, features });
      if (inFlight.length < Math.max(1, plan.encoder.workers)) continue;
      const next = inFlight.shift()!;
      yield { images: next.value.decoded, skipped: next.value.skipped, features: await next.features };
      plan.onProgress?.({ stage: plan.stage, done: next.end, total: images.length });
    }
    while (inFlight.length > 0) {
      const next = inFlight.shift()!;
      yield { images: next.value.decoded, skipped: next.value.skipped, features: await next.features };
      plan.onProgress?.({ stage: plan.stage, done: next.end, total: images.length });
    }
  } finally {
    await Promise.allSettled(inFlight.map((b) => b.features));
  }
}
