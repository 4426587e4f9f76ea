/** Overlapping calls give the sequential results, and the event loop keeps turning meanwhile. */
import { describe, expect, it } from 'vitest';

import { GaussianDensity, KernelDensity, NearestNeighbors, upsampleHeatmaps } from '../src/index.js';
import { randomMatrix } from './helpers.js';

describe('concurrency', () => {
  it('many overlapping calls on one model equal sequential calls', async () => {
    const x = randomMatrix(800, 32, 5);
    const kde = await KernelDensity.fit(x, { bandwidth: 'droc', normalize: true });
    const gde = await GaussianDensity.fit(x);
    const nn = await NearestNeighbors.fit(x);
    const queries = Array.from({ length: 12 }, (_, i) => randomMatrix(300, 32, 100 + i));
    const sequential: Float64Array[] = [];
    for (const q of queries)
      sequential.push(await kde.scoreSamples(q), await gde.scoreSamples(q), await nn.scoreSamples(q, 3));
    const overlapping = await Promise.all(
      queries.flatMap((q) => [kde.scoreSamples(q), gde.scoreSamples(q), nn.scoreSamples(q, 3)]),
    );
    expect(overlapping.length).toBe(sequential.length);
    overlapping.forEach((r, i) => expect(Array.from(r)).toEqual(Array.from(sequential[i])));
  });

  it('timers keep firing while a long call runs', async () => {
    const x = randomMatrix(4000, 256, 6);
    const kde = await KernelDensity.fit(x, { bandwidth: 1 });
    const q = randomMatrix(6000, 256, 7);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    const call = kde.scoreSamples(q).then(() => performance.now() - started);
    const heat = upsampleHeatmaps(
      { data: new Float32Array(400 * 57 * 57), batch: 400, height: 57, width: 57 },
      { height: 256, width: 256 },
    );
    const elapsed = await call;
    await heat;
    clearInterval(timer);
    // The call does ~12 GFLOP; whatever it took, the loop was free to run the timer meanwhile.
    expect(elapsed).toBeGreaterThan(20);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
  });
});
