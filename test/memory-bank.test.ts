/** MemoryBank: coreset-subsampled nearest-neighbour scoring (PatchCore), bytes, limits, bad input. */
import { describe, expect, it } from 'vitest';

import { kCenterGreedy, MemoryBank, NearestNeighbors, OneclassError } from '../src/index.js';
import { randomMatrix } from './helpers.js';

async function rejection(p: Promise<unknown>): Promise<OneclassError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(OneclassError);
    return e as OneclassError;
  }
  throw new Error('expected a rejection');
}

describe('MemoryBank', () => {
  const x = randomMatrix(4000, 20, 11);
  const y = randomMatrix(50, 20, 12, 1.3);

  it('keeps the k-center coreset rows and scores by distance to them', async () => {
    const bank = await MemoryBank.fit(x, { coreset: { ratio: 0.05, projection: 8, seed: 3 }, device: 'cpu' });
    const selection = await kCenterGreedy(x, { ratio: 0.05, projection: 8, seed: 3, device: 'cpu' });
    expect(bank.rows).toBe(200);
    expect(bank.sourceRows).toBe(4000);
    expect(bank.coresetRatio).toBeCloseTo(0.05, 12);
    expect(Array.from(bank.selected!)).toEqual(Array.from(selection.indices));
    expect(bank.coveringRadius).toBe(selection.coveringRadius);
    // The same scores as a NearestNeighbors index of the selected rows.
    const rows = new Float32Array(200 * 20);
    selection.indices.forEach((r, i) => rows.set(x.data.subarray(r * 20, r * 20 + 20), i * 20));
    const nn = await NearestNeighbors.fit({ data: rows, rows: 200, cols: 20 }, { device: 'cpu' });
    expect(Array.from(await bank.scoreSamples(y, 3))).toEqual(Array.from(await nn.scoreSamples(y, 3)));
    const k = await bank.kneighbors(y, 1);
    expect(k.distances.length).toBe(50);
  });

  it('defaults to a 10% coreset; coreset false keeps every row', async () => {
    expect((await MemoryBank.fit(x, { device: 'cpu' })).rows).toBe(400);
    const all = await MemoryBank.fit(x, { coreset: false, device: 'cpu' });
    expect(all.rows).toBe(4000);
    expect(all.coresetRatio).toBe(1);
  });

  it('round-trips through bytes', async () => {
    const bank = await MemoryBank.fit(x, { coreset: { count: 123 }, metric: 'cosine', device: 'cpu' });
    const back = await MemoryBank.fromBytes(bank.toBytes(), { device: 'cpu' });
    expect(back.rows).toBe(123);
    expect(back.metric).toBe('cosine');
    expect(back.sourceRows).toBe(4000);
    expect(back.coveringRadius).toBe(bank.coveringRadius);
    expect(Array.from(await back.scoreSamples(y))).toEqual(Array.from(await bank.scoreSamples(y)));
  });

  it('a bank over the memory limit is refused before anything is allocated', async () => {
    let e = await rejection(MemoryBank.fit(x, { coreset: false, maxMemory: 1_000_000 }));
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    expect(e.path).toBe('options.maxMemory');
    e = await rejection(MemoryBank.fit(x, { coreset: { ratio: 0.5 }, maxMemory: 500_000 }));
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    const bytes = (await MemoryBank.fit(x, { coreset: { count: 500 }, device: 'cpu' })).toBytes();
    e = await rejection(MemoryBank.fromBytes(bytes, { maxMemory: 100_000 }));
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
  });

  it('bad input: NaN rows named, unknown options, empty input', async () => {
    const bad = { ...x, data: x.data.slice() };
    bad.data[77 * 20 + 3] = NaN;
    expect((await rejection(MemoryBank.fit(bad, { device: 'cpu' }))).message).toMatch(/row 77 contains NaN/);
    expect((await rejection(MemoryBank.fit(x, { coreset: { ratio: 2 } }))).path).toBe('options.coreset.ratio');
    expect((await rejection(MemoryBank.fit(x, { coreset: { size: 3 } as never }))).code).toBe('ERR_INVALID_ARGUMENT');
    expect((await rejection(MemoryBank.fit({ data: new Float32Array(0), rows: 0, cols: 2 }))).path).toBe('x.rows');
  });
});
