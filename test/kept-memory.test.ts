/** What the native core keeps between calls, and giving it back (its own file: kept memory is per process). */
import { describe, expect, it } from 'vitest';

import { keptMemory, KernelDensity, OneClassSVM, releaseKeptMemory } from '../src/index.js';
import { randomMatrix } from './helpers.js';

describe('kept memory', () => {
  it('reports the kernel storage of the last fit and the scratch blocks of large calls, and frees them', async () => {
    releaseKeptMemory();
    expect(keptMemory()).toEqual({ kernelStorage: 0, scratch: 0 });
    // A full kernel matrix of 600 x 600 (1.4 MB) is kept after the fit; 1,000 x 512 queries
    // (2 MB) are copied and transformed into scratch blocks of at least 1 MB.
    const train = randomMatrix(600, 8);
    await OneClassSVM.fit(train, { nu: 0.5 });
    const kde = await KernelDensity.fit(randomMatrix(50, 512), { bandwidth: 1 });
    await kde.scoreSamples(randomMatrix(1000, 512));
    const kept = keptMemory();
    expect(kept.kernelStorage).toBeGreaterThanOrEqual(600 * 600 * 4);
    expect(kept.scratch).toBeGreaterThanOrEqual(1000 * 512 * 4);
    expect(releaseKeptMemory()).toEqual(kept);
    expect(keptMemory()).toEqual({ kernelStorage: 0, scratch: 0 });
    // The next calls work as before and keep their blocks again.
    const again = await kde.scoreSamples(randomMatrix(1000, 512));
    expect(again.length).toBe(1000);
    expect(keptMemory().scratch).toBeGreaterThan(0);
  });
});
