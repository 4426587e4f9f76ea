/**
 * What the server answers to a scoring request (docs/serving.md): the JSON body of scores (and
 * heatmaps as grids), heatmaps as PNG, the model list, and the Server-Timing header.
 */
import type { FastifyReply } from 'fastify';

import { heatmapLevels, heatmapPng } from '../cli/render.js';
import type { ScoredImage } from '../pipeline/types.js';
import type { BatchedResult, RequestTimings } from './request.js';
import type { ModelEntry } from './models.js';

export function describeModel(e: ModelEntry) {
  const c = e.detector.config;
  return {
    name: e.name,
    file: e.file,
    detector: c.detector.kind,
    threshold: c.image.threshold,
    localization: c.localization !== null,
    input: c.input,
    encoder: { file: c.encoder.file, sha256: c.encoder.sha256, backend: e.detector.encoder.backend },
  };
}

function itemJson(item: ScoredImage) {
  return { image: item.id, score: item.score, rawScore: item.raw, anomalous: item.anomalous };
}

export function answer(entry: ModelEntry, result: BatchedResult, heatmaps: boolean) {
  return {
    model: entry.name,
    threshold: entry.detector.threshold,
    ...(heatmaps ? { pixelThreshold: entry.detector.config.localization!.calibration.threshold } : {}),
    items: result.items.map((item) =>
      heatmaps && item.heatmap
        ? {
            ...itemJson(item),
            heatmap: { width: item.heatmap.width, height: item.heatmap.height, data: Array.from(item.heatmap.data) },
          }
        : itemJson(item),
    ),
    skipped: result.skipped.map((s) => ({ image: s.id, reason: s.reason })),
  };
}

/** The standard Server-Timing header: clients (browsers, `oneclass bench --url`) read the split. */
export function serverTiming(t: RequestTimings): string {
  const f = (v: number) => v.toFixed(3);
  return `queue;dur=${f(t.queueMs)}, decode;dur=${f(t.decodeMs)}, encode;dur=${f(t.encodeMs)}, detect;dur=${f(t.detectMs)}, batch;desc="${t.batchSize} images"`;
}

/** One image: the heatmap PNG itself, scores in headers; several: JSON with base64 PNGs. */
export async function pngAnswer(entry: ModelEntry, result: BatchedResult, reply: FastifyReply): Promise<unknown> {
  const pixelThreshold = entry.detector.config.localization!.calibration.threshold;
  const png = (item: ScoredImage) =>
    heatmapPng(heatmapLevels(item.heatmap!, pixelThreshold), item.heatmap!.width, item.heatmap!.height);
  if (result.items.length === 1 && result.skipped.length === 0) {
    const item = result.items[0];
    return reply
      .type('image/png')
      .header('x-oneclass-model', entry.name)
      .header('x-oneclass-score', String(item.score))
      .header('x-oneclass-raw-score', String(item.raw))
      .header('x-oneclass-anomalous', String(item.anomalous))
      .header('x-oneclass-threshold', String(entry.detector.threshold))
      .send(await png(item));
  }
  const body = answer(entry, { ...result, items: [] }, false);
  return {
    ...body,
    items: await Promise.all(
      result.items.map(async (item) => ({ ...itemJson(item), heatmapPng: (await png(item)).toString('base64') })),
    ),
  };
}
