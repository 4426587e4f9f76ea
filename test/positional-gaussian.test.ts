/**
 * PositionalGaussian (PaDiM) against numpy's per-position fit and squared Mahalanobis distances
 * (fixtures written by python-export/refs/ref_positional_gaussian.py), bytes, limits, bad input.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { OneclassError, PositionalGaussian } from '../src/index.js';
import { FIXTURES, loadFixture } from './helpers.js';
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

function grids(t: { data: unknown; shape: number[] }) {
  return { data: t.data as Float32Array, images: t.shape[0], positions: t.shape[1], dim: t.shape[2] };
}

const files = readdirSync(join(FIXTURES, 'positional')).filter((f) => f.endsWith('.safetensors'));

describe('PositionalGaussian matches numpy (PaDiM)', () => {
  it('has fixtures', () => expect(files.length).toBeGreaterThanOrEqual(1));
  for (const file of files) {
    it(file, async () => {
      const { tensors, metadata } = loadFixture(`positional/${file}`);
      const x = grids(tensors.x);
      const y = grids(tensors.y);
      const model = await PositionalGaussian.fit(x, { regularization: Number(metadata.regularization), device: 'cpu' });
      expect(model.positions).toBe(x.positions);
      expect(model.dim).toBe(x.dim);
      const scores = tensors.scores.data as Float64Array;
      expect(toleranceRatio(await model.mahalanobis(y), scores, TOLERANCES.positionalScore)).toBeLessThanOrEqual(1);
      expect(
        toleranceRatio(model.mean, tensors.mean.data as Float64Array, TOLERANCES.positionalMoments),
      ).toBeLessThanOrEqual(1);
      expect(
        toleranceRatio(model.logDet, tensors.logdet.data as Float64Array, TOLERANCES.positionalMoments),
      ).toBeLessThanOrEqual(1);
      // Log-likelihood: -(d log 2 pi + log det + d^2) / 2 per position.
      const ll = await model.scoreSamples(y);
      const logdet = tensors.logdet.data as Float64Array;
      const want = Array.from(scores, (s, i) => -0.5 * (x.dim * Math.log(2 * Math.PI) + logdet[i % x.positions] + s));
      expect(toleranceRatio(ll, want, TOLERANCES.positionalScore)).toBeLessThanOrEqual(1);
      // Restored from bytes: the same scores.
      const back = await PositionalGaussian.fromBytes(model.toBytes(), { device: 'cpu' });
      expect(Array.from(await back.mahalanobis(y))).toEqual(Array.from(await model.mahalanobis(y)));
      expect(back.regularization).toBe(model.regularization);
    });
  }
});

describe('PositionalGaussian limits and bad input', () => {
  const { tensors } = loadFixture(`positional/${files[0]}`);
  const x = grids(tensors.x);

  it('statistics over the memory limit are refused before anything is allocated', async () => {
    const e = await rejection(PositionalGaussian.fit(x, { maxMemory: 10_000 }));
    expect(e.code).toBe('ERR_OUT_OF_MEMORY');
    expect(e.path).toBe('options.maxMemory');
    expect(e.message).toMatch(/nothing was allocated/);
    const model = await PositionalGaussian.fit(x, { device: 'cpu' });
    expect((await rejection(PositionalGaussian.fromBytes(model.toBytes(), { maxMemory: 10_000 }))).code).toBe(
      'ERR_OUT_OF_MEMORY',
    );
  });

  it('NaN named by image, position and dimension; shapes checked', async () => {
    const bad = { ...x, data: x.data.slice() };
    bad.data[(5 * x.positions + 3) * x.dim + 2] = NaN;
    const e = await rejection(PositionalGaussian.fit(bad, { device: 'cpu' }));
    expect(e.message).toMatch(/image 5 at position 3 contain NaN \(dimension 2\)/);
    expect(
      (await rejection(PositionalGaussian.fit({ ...x, images: 1, data: x.data.subarray(0, x.positions * x.dim) })))
        .path,
    ).toBe('features.images');
    expect((await rejection(PositionalGaussian.fit({ ...x, dim: x.dim + 1 }))).path).toBe('features.data');
    const model = await PositionalGaussian.fit(x, { device: 'cpu' });
    const wrong = {
      data: new Float32Array(2 * (x.positions + 1) * x.dim),
      images: 2,
      positions: x.positions + 1,
      dim: x.dim,
    };
    expect((await rejection(model.mahalanobis(wrong))).path).toBe('features.positions');
    expect(
      (await model.mahalanobis({ data: new Float32Array(0), images: 0, positions: x.positions, dim: x.dim })).length,
    ).toBe(0);
    expect((await rejection(PositionalGaussian.fit(x, { regularization: -1 }))).path).toBe('options.regularization');
  });

  it('a singular covariance without regularization names the position', async () => {
    const few = { ...x, images: 3, data: x.data.subarray(0, 3 * x.positions * x.dim) };
    const e = await rejection(PositionalGaussian.fit(few, { regularization: 0, device: 'cpu' }));
    expect(e.code).toBe('ERR_NUMERICAL');
    expect(e.message).toMatch(/position 0 is not positive definite/);
  });
});
