/** Backend selection and reporting; CUDA-only checks skip cleanly without a GPU. */
import { describe, expect, it } from 'vitest';

import { backendInfo, KernelDensity, upsampleHeatmaps } from '../src/index.js';
import { randomMatrix } from './helpers.js';
import { TOLERANCES, toleranceRatio } from './tolerances.js';

const info = backendInfo();

describe('backends', () => {
  it('reports the CPU, the CUDA build and why CUDA is or is not used', () => {
    expect(info.cpu.threads).toBeGreaterThanOrEqual(1);
    expect(typeof info.cpu.simd).toBe('string');
    // The CPU level the kernels run at (test/cpu-levels.test.ts checks the choice itself).
    expect(info.cpu.levels.map((l) => l.name)).toContain(info.cpu.level);
    expect(info.cpu.levelReason).toMatch(/\S/);
    expect(info.auto).toBe(info.cuda.usable ? 'cuda' : 'cpu');
    if (!info.cuda.usable) expect(info.cudaUnavailableReason).toMatch(/\S/);
  });

  it('names the addon file it loaded: a source build, the prebuilt, or ONECLASS_ADDON', () => {
    expect(['source', 'prebuilt', 'env']).toContain(info.addon.kind);
    expect(info.addon.path).toMatch(/\.node$/);
    if (info.addon.kind === 'prebuilt') expect(info.addon.sourceHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("'auto' runs where backendInfo says", async () => {
    const kde = await KernelDensity.fit(randomMatrix(20, 4), { bandwidth: 1, device: 'auto' });
    expect(kde.backend).toBe(info.auto);
  });

  it.skipIf(!info.cuda.usable)('CUDA and CPU agree (needs a GPU)', async () => {
    const x = randomMatrix(3000, 64, 1);
    const y = randomMatrix(500, 64, 2);
    const cpu = await KernelDensity.fit(x, { bandwidth: 'droc', normalize: true, device: 'cpu' });
    const gpu = await KernelDensity.fit(x, { bandwidth: 'droc', normalize: true, device: 'cuda' });
    expect(
      toleranceRatio(await gpu.scoreSamples(y), await cpu.scoreSamples(y), TOLERANCES.kdeLogDensity),
    ).toBeLessThanOrEqual(1);
    const grids = { data: randomMatrix(10 * 57, 57).data, batch: 10, height: 57, width: 57 };
    const a = await upsampleHeatmaps(grids, { height: 256, width: 256, device: 'cpu' });
    const b = await upsampleHeatmaps(grids, { height: 256, width: 256, device: 'cuda' });
    expect(toleranceRatio(b.data, a.data, TOLERANCES.heatmap)).toBeLessThanOrEqual(1);
  });
});
