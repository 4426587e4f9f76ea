/**
 * A shard's embeddings in Redis (distributed fit): the image and patch matrices as raw float32
 * bytes in one hash per shard (keys.embedded), with the shard's skipped images and input size.
 * Written whole by the worker (a retried shard overwrites the same hash), read back and
 * concatenated in shard order by the fit.
 */
import type { Redis } from 'ioredis';

import type { TrainingSet } from '../pipeline/fit.js';
import type { Matrix } from '../validate.js';
import { keys } from './redis.js';

const bytesOf = (m: Matrix) => Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);

export function shardFields(t: TrainingSet): Record<string, string | Buffer> {
  return {
    image: bytesOf(t.image),
    imageRows: String(t.image.rows),
    imageCols: String(t.image.cols),
    patches: t.patches ? bytesOf(t.patches) : Buffer.alloc(0),
    patchRows: String(t.patches?.rows ?? 0),
    patchCols: String(t.patches?.cols ?? 0),
    skipped: JSON.stringify(t.skipped),
    input: JSON.stringify(t.input),
  };
}

function matrixOf(bytes: Buffer, rows: number, cols: number): Matrix {
  // A copy: the Buffer's memory may be shared and unaligned for a Float32Array view.
  const data = new Float32Array(rows * cols);
  new Uint8Array(data.buffer).set(bytes.subarray(0, data.byteLength));
  return { data, rows, cols };
}

export async function readShard(redis: Redis, runId: string, shard: number): Promise<TrainingSet> {
  const h = await redis.hgetallBuffer(keys.embedded(runId, shard));
  const num = (k: string) => Number(h[k]?.toString() ?? 'NaN');
  const patchRows = num('patchRows');
  return {
    image: matrixOf(h.image, num('imageRows'), num('imageCols')),
    patches: patchRows > 0 || h.patches.length > 0 ? matrixOf(h.patches, patchRows, num('patchCols')) : null,
    skipped: JSON.parse(h.skipped.toString()) as TrainingSet['skipped'],
    input: JSON.parse(h.input.toString()) as TrainingSet['input'],
  };
}

/** The shards' training sets as one, rows in shard order (the order of the images). */
export function mergeTraining(parts: readonly TrainingSet[], withPatches: boolean): TrainingSet {
  const concat = (ms: Matrix[]): Matrix => {
    const cols = ms[0]?.cols ?? 0;
    const data = new Float32Array(ms.reduce((s, m) => s + m.data.length, 0));
    let at = 0;
    for (const m of ms) {
      data.set(m.data, at);
      at += m.data.length;
    }
    return { data, rows: ms.reduce((s, m) => s + m.rows, 0), cols };
  };
  const filled = parts.filter((p) => p.image.rows > 0);
  // One size for all only if every shard had that one size (what embedTraining's commonSize gives).
  const sizes = filled.map((p) => p.input.size);
  const first = sizes[0] ?? null;
  const size = first && sizes.every((s) => s?.width === first.width && s?.height === first.height) ? first : null;
  return {
    image: concat(filled.map((p) => p.image)),
    patches: withPatches ? concat(filled.map((p) => p.patches!)) : null,
    skipped: parts.flatMap((p) => p.skipped),
    input: { size, channels: filled[0]?.input.channels ?? 0 },
  };
}
