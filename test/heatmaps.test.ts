/** upsampleHeatmaps against PyTorch (interpolate + reflect-padded Gaussian; conv_transpose2d). */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { upsampleHeatmaps } from '../src/index.js';
import { FIXTURES, loadFixture } from './helpers.js';
import { TOLERANCES, toleranceRatio } from './tolerances.js';

describe('upsampleHeatmaps matches PyTorch', () => {
  for (const file of readdirSync(join(FIXTURES, 'stage2')).filter((f) => f.startsWith('heatmap_'))) {
    it(file, async () => {
      const { tensors, metadata } = loadFixture(`stage2/${file}`);
      const [batch, gh, gw] = tensors.grids.shape;
      const receptive = 'patchSize' in metadata;
      const r = await upsampleHeatmaps(
        { data: tensors.grids.data as Float32Array, batch, height: gh, width: gw },
        {
          height: Number(metadata.height),
          width: Number(metadata.width),
          sigma: Number(metadata.sigma),
          mode: receptive ? 'receptive-field' : 'bilinear',
          ...(receptive ? { patchSize: Number(metadata.patchSize), stride: Number(metadata.stride) } : {}),
          device: 'cpu',
        },
      );
      expect(r.backend).toBe('cpu');
      expect([r.batch, r.height, r.width]).toEqual(tensors.maps.shape);
      expect(toleranceRatio(r.data, tensors.maps.data as Float32Array, TOLERANCES.heatmap)).toBeLessThanOrEqual(1);
    });
  }

  it('writes into a caller-owned output array', async () => {
    const grids = { data: new Float32Array(2 * 5 * 5).map((_, i) => i), batch: 2, height: 5, width: 5 };
    const fresh = await upsampleHeatmaps(grids, { height: 20, width: 30 });
    const out = new Float32Array(2 * 20 * 30).fill(Number.NaN);
    const reused = await upsampleHeatmaps(grids, { height: 20, width: 30, out });
    expect(reused.data).toBe(out);
    expect(Array.from(out)).toEqual(Array.from(fresh.data));
    await expect(upsampleHeatmaps(grids, { height: 20, width: 30, out: new Float32Array(5) })).rejects.toMatchObject({
      path: 'options.out',
    });
  });

  it('keeps the scale of the scores (no per-map normalization)', async () => {
    const grids = new Float32Array(2 * 4 * 4).fill(3);
    grids.fill(7, 16);
    const r = await upsampleHeatmaps({ data: grids, batch: 2, height: 4, width: 4 }, { height: 32, width: 32 });
    expect(Math.max(...r.data.subarray(0, 1024))).toBeCloseTo(3, 5);
    expect(Math.min(...r.data.subarray(1024))).toBeCloseTo(7, 5);
  });
});
