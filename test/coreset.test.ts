/**
 * Greedy k-center coreset selection against the float64 numpy reference (fixtures written by
 * python-export/refs/ref_coreset.py, which also re-implements the documented projection), plus
 * progress, cancellation and bad input.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { gaussianProjection, kCenterGreedy, OneclassError } from '../src/index.js';
import { asMatrix, FIXTURES, loadFixture, randomMatrix } from './helpers.js';
import { TOLERANCES, toleranceRatio } from './tolerances.js';

async function rejection(p: Promise<unknown>): Promise<OneclassError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OneclassError);
    return e as OneclassError;
  }
  throw new Error('expected a rejection');
}

const files = readdirSync(join(FIXTURES, 'coreset')).filter((f) => f.endsWith('.safetensors'));

describe('kCenterGreedy equals the float64 numpy reference', () => {
  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(4));
  for (const file of files) {
    it(file, async () => {
      const { tensors, metadata } = loadFixture(`coreset/${file}`);
      const x = asMatrix(tensors.x);
      const projection = Number(metadata.projection);
      const seed = Number(metadata.seed);
      if (projection > 0) {
        // Entry for entry: the same generator, the same libm functions.
        const got = gaussianProjection(projection, x.cols, seed);
        expect(Array.from(got)).toEqual(Array.from(tensors.projection.data as Float64Array));
      }
      for (const threads of [1, 2]) {
        const r = await kCenterGreedy(x, {
          count: Number(metadata.count),
          projection: projection > 0 ? projection : 'none',
          seed,
          start: Number(metadata.start),
          device: 'cpu',
          threads,
        });
        const want = Array.from(tensors.indices.data as BigInt64Array, Number);
        expect(Array.from(r.indices)).toEqual(want);
        expect(
          toleranceRatio([r.coveringRadius], [Number(metadata.covering_radius)], TOLERANCES.coresetRadius),
        ).toBeLessThanOrEqual(1);
        expect(r.projection).toBe(projection);
        expect(r.backend).toBe('cpu');
      }
    });
  }
});

describe('kCenterGreedy options, progress and cancellation', () => {
  const x = randomMatrix(3000, 24, 5);

  it('count from ratio, default projection by width', async () => {
    const r = await kCenterGreedy(x, { ratio: 0.05, device: 'cpu' });
    expect(r.indices.length).toBe(150);
    expect(r.projection).toBe(0); // 24 columns: no projection by default
    expect(new Set(r.indices).size).toBe(150);
    expect(r.indices[0]).toBe(0);
    const wide = randomMatrix(300, 200, 6);
    expect((await kCenterGreedy(wide, { count: 10, device: 'cpu' })).projection).toBe(128);
  });

  it('reports progress up to the count, in order', async () => {
    const seen: Array<[number, number]> = [];
    const big = randomMatrix(60000, 32, 7);
    await kCenterGreedy(big, { count: 2000, projection: 8, onProgress: (d, t) => seen.push([d, t]), device: 'cpu' });
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[seen.length - 1]).toEqual([2000, 2000]);
    for (let i = 1; i < seen.length; i++) expect(seen[i][0]).toBeGreaterThan(seen[i - 1][0]);
  });

  it('an AbortSignal cancels with ERR_ABORTED, and the event loop keeps turning meanwhile', async () => {
    const big = randomMatrix(100000, 32, 8);
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const p = kCenterGreedy(big, {
      count: 50000,
      signal: controller.signal,
      onProgress: (done) => {
        if (done > 50) controller.abort();
      },
      device: 'cpu',
    });
    const e = await rejection(p);
    clearInterval(timer);
    expect(e.code).toBe('ERR_ABORTED');
    expect(ticks).toBeGreaterThan(0);
    // Already aborted: refused at once.
    expect((await rejection(kCenterGreedy(x, { count: 5, signal: AbortSignal.abort() }))).code).toBe('ERR_ABORTED');
  });

  it('an exception in onProgress stops the selection and is what the call rejects with', async () => {
    const big = randomMatrix(100000, 32, 9);
    const boom = new Error('callback failed');
    await expect(
      kCenterGreedy(big, {
        count: 50000,
        onProgress: () => {
          throw boom;
        },
        device: 'cpu',
      }),
    ).rejects.toBe(boom);
  });

  it('bad input gets coded errors naming the parameter', async () => {
    expect((await rejection(kCenterGreedy(x, { count: 0 }))).path).toBe('options.count');
    expect((await rejection(kCenterGreedy(x, { count: 3001 }))).path).toBe('options.count');
    expect((await rejection(kCenterGreedy(x, { ratio: 0 }))).path).toBe('options.ratio');
    expect((await rejection(kCenterGreedy(x, { count: 3, ratio: 0.1 }))).path).toBe('options');
    expect((await rejection(kCenterGreedy(x, {}))).path).toBe('options');
    expect((await rejection(kCenterGreedy(x, { count: 3, start: 3000 }))).path).toBe('options.start');
    expect((await rejection(kCenterGreedy(x, { count: 3, projection: 0 }))).path).toBe('options.projection');
    expect((await rejection(kCenterGreedy(x, { count: 3, seed: -1 }))).path).toBe('options.seed');
    expect((await rejection(kCenterGreedy({ data: new Float32Array(0), rows: 0, cols: 3 }, { count: 1 }))).path).toBe(
      'x.rows',
    );
    const bad = { ...x, data: x.data.slice() };
    bad.data[1234 * 24 + 7] = NaN;
    const e = await rejection(kCenterGreedy(bad, { count: 10, device: 'cpu' }));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toMatch(/row 1234 contains NaN \(column 7\)/);
  });

  it('refuses a selection over the memory limit before allocating', async () => {
    const e = await rejection(kCenterGreedy(x, { count: 100, projection: 64, maxMemory: 100_000 }));
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    expect(e.path).toBe('options.maxMemory');
    expect(e.message).toMatch(/nothing was allocated/);
  });
});
