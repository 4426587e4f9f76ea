/**
 * Distributed fit: the training images are embedded by the workers, shard by shard (the encoder is
 * what costs), and the fit itself runs here on the merged embeddings. The merge is what each
 * detector needs, exactly: KDE and k-NN banks are the embedding rows, the Gaussian's sums and
 * covariance are computed from them, a coreset (when a detector has one) is taken from the merged
 * bank; rows are concatenated in the images' order, so the held-out split, calibration and the
 * model are those of Detector.fit on the same images (Detector.fitFromTraining).
 *
 * Embedding jobs form a flow like scoring runs (submit.ts): a parent per fit, one child per shard,
 * retries with backoff, a dead worker's shard recovered after its lock expires. An image that
 * cannot be decoded fails the fit at once (no retry) unless onUnreadable is 'skip'.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { Encoder } from '../encoder/index.js';
import { type ErrorCode, invalidInput, OneclassError } from '../errors.js';
import { Detector, type FitOptions } from '../pipeline/detector.js';
import { fitGeometry, fitPlan, localizationMethod, resolveViews } from '../pipeline/fit.js';
import { sha256 } from '../pipeline/model-file.js';
import type { PatchGeometry } from '../pipeline/features.js';
import type { EncoderOutput, ImageViews } from '../encoder/index.js';
import type { UnreadablePolicy } from '../pipeline/images.js';
import { expectInteger } from '../validate.js';
import { mergeTraining, readShard } from './embeddings.js';
import { addShardFlow } from './flow.js';
import { checkRunId, connectCommand, EMBED_QUEUE, execAll, keys } from './redis.js';

export interface DistributedFitOptions {
  redisUrl: string;
  /** Detector.fit's options; `encoder` must be a path and `images` paths, both readable by every worker. */
  fit: FitOptions;
  /** Images per embedding shard (default 500). */
  shardSize?: number;
  runId?: string;
  attempts?: number;
  /** Shards embedded so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface EmbedData {
  runId: string;
  shard: number;
  images: string[];
  encoder: string;
  encoderSha256: string;
  output: EncoderOutput;
  /** The views of each image embedding (absent in jobs queued before views existed: 'none'). */
  views?: ImageViews;
  geometry: PatchGeometry | null;
  batchSize: number;
  onUnreadable: UnreadablePolicy;
}

export async function fitDistributed(options: DistributedFitOptions): Promise<Detector> {
  const plan = fitPlan(options.fit);
  const encoderPath = options.fit.encoder;
  if (typeof encoderPath !== 'string')
    throw invalidInput('encoder', 'A distributed fit needs the encoder as a path every worker can read');
  const images = plan.images.map((i) => {
    if (typeof i.image !== 'string')
      throw invalidInput('images', `A distributed fit needs image paths; ${i.id} is not one`);
    return path.resolve(i.image);
  });
  const shardSize = expectInteger('shardSize', options.shardSize ?? 500, 1, 1_000_000);
  const attempts = expectInteger('attempts', options.attempts ?? 5, 1, 1000);
  const runId = checkRunId(options.runId ?? randomUUID());
  // The encoder here: the patch grid the workers embed, then the fit's calibration and config.
  const encoder = await Encoder.load(encoderPath, options.fit.encoderOptions);
  try {
    // Workers embed images and crops; a dense method's per-position outputs do not travel yet.
    const method = localizationMethod(encoder, plan);
    if (method !== null && method !== 'crops')
      throw invalidInput(
        'localization.method',
        `A distributed fit supports the 'crops' localization only, not '${method}'; fit a dense method with oneclass fit`,
      );
  } catch (error) {
    await encoder.release().catch(() => undefined);
    throw error;
  }
  const redis = await connectCommand(options.redisUrl);
  const shards = Math.ceil(images.length / shardSize);
  try {
    if ((await redis.hsetnx(keys.run(runId), 'state', 'running')) === 0)
      throw invalidInput('run', `A run '${runId}' exists already; choose another id`);
    await redis.hset(keys.run(runId), { kind: 'fit', images: String(images.length), shards: String(shards) });
    await addShardFlow(redis, {
      runId,
      name: 'fit',
      shardName: 'embed',
      shardQueue: EMBED_QUEUE,
      shards,
      attempts,
      data: (shard): EmbedData => ({
        runId,
        shard,
        images: images.slice(shard * shardSize, (shard + 1) * shardSize),
        encoder: encoder.modelPath!,
        encoderSha256: sha256(encoder.modelBytes),
        output: plan.output,
        views: resolveViews(encoder, plan),
        geometry: fitGeometry(encoder, plan),
        batchSize: plan.batchSize,
        onUnreadable: plan.onUnreadable,
      }),
    });
    for (;;) {
      const [state, done, failed] = await Promise.all([
        redis.hget(keys.run(runId), 'state'),
        redis.scard(keys.shardsDone(runId)),
        redis.hgetall(keys.shardsFailed(runId)),
      ]);
      options.onProgress?.(done, shards);
      const reasons = Object.entries(failed);
      if (state === 'failed' || reasons.length > 0) {
        const [shard, reason] = reasons[0] ?? ['?', 'see oneclass jobs status'];
        // A bad image's shard fails with "[ERR_...] message" (worker.ts); anything else gave up on retries.
        const coded = /^\[(ERR_[A-Z_]+)\] (.*)$/s.exec(reason);
        throw new OneclassError(
          (coded?.[1] as ErrorCode | undefined) ?? 'ERR_UNAVAILABLE',
          `Distributed fit ${runId} failed: shard ${shard}: ${coded?.[2] ?? reason}`,
        );
      }
      if (state === 'completed') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const parts = [];
    for (let k = 0; k < shards; k++) parts.push(await readShard(redis, runId, k));
    const training = mergeTraining(parts, plan.localization !== null);
    const tx = redis.multi();
    for (let k = 0; k < shards; k++) tx.del(keys.embedded(runId, k));
    await execAll(tx);
    if (training.image.rows === 0) {
      throw invalidInput(
        'images',
        `The training set is empty: all ${images.length} images were unreadable (${training.skipped.map((s) => s.id).join(', ')})`,
      );
    }
    return await Detector.fitFromTraining({ ...options.fit, encoder }, training);
  } catch (error) {
    await encoder.release().catch(() => undefined);
    throw error;
  } finally {
    redis.disconnect();
  }
}
