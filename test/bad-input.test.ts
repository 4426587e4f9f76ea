/** Bad input gets an error with a stable code and a message naming the problem; never a crash. */
import { describe, expect, it } from 'vitest';

import {
  GaussianDensity,
  KernelDensity,
  NearestNeighbors,
  OneClassSVM,
  OneclassError,
  upsampleHeatmaps,
} from '../src/index.js';
import { randomMatrix } from './helpers.js';

async function rejection(p: Promise<unknown> | (() => Promise<unknown>)): Promise<OneclassError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(OneclassError);
    return e as OneclassError;
  }
  throw new Error('expected a rejection');
}

describe('bad input', () => {
  const x = randomMatrix(50, 8, 3);

  it('NaN and Infinity name the row', async () => {
    const bad = { data: x.data.slice(), rows: 50, cols: 8 };
    bad.data[17 * 8 + 3] = Number.NaN;
    let e = await rejection(KernelDensity.fit(bad, { bandwidth: 1, device: 'cpu' }));
    expect(e.code).toBe('ERR_INVALID_ARGUMENT');
    expect(e.message).toMatch(/row 17 contains NaN \(column 3\)/);
    const kde = await KernelDensity.fit(x, { bandwidth: 1, device: 'cpu' });
    const q = randomMatrix(5, 8, 4);
    q.data[2 * 8] = Number.POSITIVE_INFINITY;
    e = await rejection(kde.scoreSamples(q));
    expect(e.message).toMatch(/query data row 2 contains Infinity/);
    e = await rejection(GaussianDensity.fit(bad));
    expect(e.message).toMatch(/row 17/);
    e = await rejection(NearestNeighbors.fit(bad));
    expect(e.message).toMatch(/row 17/);
  });

  it('dimension mismatch between fit and score', async () => {
    for (const model of [
      await KernelDensity.fit(x, { bandwidth: 1 }),
      await GaussianDensity.fit(x),
      await NearestNeighbors.fit(x),
    ]) {
      const e = await rejection(model.scoreSamples(randomMatrix(3, 9)));
      expect(e.code).toBe('ERR_INVALID_ARGUMENT');
      expect(e.message).toMatch(/8 columns .* but it has 9/);
    }
  });

  it('empty and one-row training sets', async () => {
    const one = randomMatrix(1, 8);
    expect((await rejection(KernelDensity.fit(one, { bandwidth: 1 }))).message).toMatch(/x.rows/);
    expect((await rejection(GaussianDensity.fit(one))).message).toMatch(/x.rows/);
    const empty = { data: new Float32Array(0), rows: 0, cols: 8 };
    expect((await rejection(NearestNeighbors.fit(empty))).code).toBe('ERR_INVALID_ARGUMENT');
    // One row is a valid memory bank for nearest neighbours.
    const nn = await NearestNeighbors.fit(one);
    expect((await nn.kneighbors(one, 1)).distances[0]).toBe(0);
  });

  it('non-positive bandwidth, sigma and other bad options', async () => {
    expect((await rejection(KernelDensity.fit(x, { bandwidth: -3 }))).message).toBe(
      'Expected positive finite number for options.bandwidth but received -3 of type number',
    );
    expect((await rejection(KernelDensity.fit(x, { bandwidth: 'wide' as never }))).message).toMatch(
      /one of 'scott', 'silverman', 'droc'/,
    );
    expect((await rejection(KernelDensity.fit(x, { bandwidth: 1, device: 'tpu' as never }))).path).toBe(
      'options.device',
    );
    expect((await rejection(KernelDensity.fit(x, { bandwidth: 1, bandwith: 2 } as never))).message).toMatch(
      /Unknown option options.bandwith/,
    );
    expect((await rejection(GaussianDensity.fit(x, { shrinkage: 1.5 }))).path).toBe('options.shrinkage');
    const grids = { data: new Float32Array(16), batch: 1, height: 4, width: 4 };
    expect((await rejection(upsampleHeatmaps(grids, { height: 8, width: 8, sigma: -1 }))).path).toBe('options.sigma');
    expect((await rejection(upsampleHeatmaps(grids, { height: 8, width: 8, mode: 'receptive-field' }))).path).toBe(
      'options.patchSize',
    );
    const nn = await NearestNeighbors.fit(x);
    expect((await rejection(nn.kneighbors(x, 51))).path).toBe('k');
  });

  it('wrong array types and inconsistent shapes', async () => {
    const asF64 = { data: new Float64Array(400), rows: 50, cols: 8 } as never;
    expect((await rejection(KernelDensity.fit(asF64, { bandwidth: 1 }))).message).toBe(
      'Expected Float32Array for x.data but received Float64Array(400)',
    );
    expect((await rejection(KernelDensity.fit([[1, 2]] as never, { bandwidth: 1 }))).code).toBe('ERR_INVALID_ARGUMENT');
    expect((await rejection(KernelDensity.fit({ data: x.data, rows: 51, cols: 8 }, { bandwidth: 1 }))).message).toMatch(
      /rows \* cols = 51 \* 8 = 408 values but it holds 400/,
    );
    expect((await rejection(KernelDensity.fit({ data: x.data, rows: 2.5, cols: 8 }, { bandwidth: 1 }))).path).toBe(
      'x.rows',
    );
  });

  it('absurd sizes are refused before allocating', async () => {
    const nn = await NearestNeighbors.fit(x);
    const huge = { data: new Float32Array(8), rows: 1, cols: 8 };
    expect(
      (
        await rejection(
          upsampleHeatmaps({ data: new Float32Array(4), batch: 1, height: 2, width: 2 }, { height: 16385, width: 10 }),
        )
      ).path,
    ).toBe('options.height');
    expect(
      (
        await rejection(
          upsampleHeatmaps(
            { data: new Float32Array(4 * 40), batch: 40, height: 2, width: 2 },
            { height: 16384, width: 16384 },
          ),
        )
      ).message,
    ).toMatch(/would hold .* values/);
    expect((await rejection(nn.kneighbors(huge, 2 ** 31))).path).toBe('k');
  });

  it("device 'cuda' without a usable GPU fails clearly", async () => {
    const { backendInfo } = await import('../src/index.js');
    if (backendInfo().cuda.usable) return;
    const e = await rejection(KernelDensity.fit(x, { bandwidth: 1, device: 'cuda' }));
    expect(e.code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(e.message).toMatch(/CUDA is not usable/);
  });

  it('a singular covariance without shrinkage is a numerical error, not a crash', async () => {
    const few = randomMatrix(4, 8, 9);
    const e = await rejection(GaussianDensity.fit(few, { shrinkage: 'none', regCovar: 0 }));
    expect(e.code).toBe('ERR_NUMERICAL');
  });
});

describe('every numeric option bounded, checked before allocating (issue 11, item 6)', () => {
  const grids = { data: new Float32Array(49), batch: 1, height: 7, width: 7 };

  it('heatmap sigma: 3e8 (a 19 GB kernel) and 1e307 (an overflowed size, no blur) are refused', async () => {
    for (const sigma of [3e8, 1e307, 4096.5]) {
      const e = await rejection(upsampleHeatmaps(grids, { height: 64, width: 64, sigma }));
      expect(e.path).toBe('options.sigma');
      expect(e.message).toMatch(/number in \[0, 4096\]/);
    }
    const widest = await upsampleHeatmaps(grids, { height: 64, width: 64, sigma: 4096 });
    expect(widest.data.every(Number.isFinite)).toBe(true);
  });

  it('heatmap grids, patch sizes and strides have bounds', async () => {
    const wide = { data: new Float32Array(4097), batch: 1, height: 1, width: 4097 };
    expect((await rejection(upsampleHeatmaps(wide, { height: 8, width: 8 }))).path).toBe('grids.width');
    const rf = { height: 64, width: 64, mode: 'receptive-field' as const, sigma: 2 };
    expect((await rejection(upsampleHeatmaps(grids, { ...rf, patchSize: 2 ** 20, stride: 1 }))).path).toBe(
      'options.patchSize',
    );
    expect((await rejection(upsampleHeatmaps(grids, { ...rf, patchSize: 8, stride: 1e6 }))).path).toBe(
      'options.stride',
    );
  });

  it('localization geometry: a 100000 px square, or 16 million 1 px patches, is a coded error before any image is read', async () => {
    const { Detector, Encoder } = await import('../src/index.js');
    const { exampleFiles, TILE_ENCODER } = await import('./fixtures/eval/pipeline-helpers.js');
    const encoder = await Encoder.load(TILE_ENCODER, { device: 'cpu' });
    try {
      // Images that do not exist: the options are checked before any is opened.
      const images = ['/nonexistent/a.png', '/nonexistent/b.png'];
      const fit = (localization: object) => Detector.fit({ encoder, images, detector: { kind: 'knn' }, localization });
      let e = await rejection(fit({ resize: 100000, patchSize: 1, stride: 1 }));
      expect(e.path).toBe('localization.resize');
      expect(e.message).toMatch(/integer in \[1, 4096\]/);
      e = await rejection(fit({ resize: 4096, patchSize: 1, stride: 1 }));
      expect(e.path).toBe('localization');
      expect(e.message).toMatch(/4096 x 4096 = 16777216 patches per image, more than 16384/);
      e = await rejection(fit({ resize: 256, patchSize: 64, stride: 1000 }));
      expect(e.path).toBe('localization.stride');
      expect(exampleFiles('train/good', 1)).toHaveLength(1);
    } finally {
      await encoder.release();
    }
  });
});

describe('float32 precision warning', () => {
  it('features of very different magnitudes warn at fit (ONECLASS_FLOAT32_PRECISION); ordinary ones do not', async () => {
    const warnings: Error[] = [];
    const listener = (w: Error) => warnings.push(w);
    process.on('warning', listener);
    try {
      const clean = randomMatrix(200, 8, 21);
      for (let i = 0; i < clean.data.length; i++) clean.data[i] = Math.abs(clean.data[i]) % 1;
      await NearestNeighbors.fit(clean);
      await KernelDensity.fit(clean, { bandwidth: 0.5 });
      await OneClassSVM.fit(clean, { nu: 0.5 });
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => (w as { code?: string }).code === 'ONECLASS_FLOAT32_PRECISION')).toEqual([]);
      const wild = { ...clean, data: clean.data.slice() };
      wild.data[5] = 1e6;
      await NearestNeighbors.fit(wild);
      await KernelDensity.fit(wild, { bandwidth: 0.5 });
      // The OC-SVM's comes from the native column statistics, not a JavaScript scan.
      await OneClassSVM.fit(wild, { nu: 0.5 });
      // Normalized rows cannot lose precision this way: no warning.
      await NearestNeighbors.fit(wild, { metric: 'cosine' });
      await OneClassSVM.fit(wild, { nu: 0.5, normalize: true });
      await new Promise((r) => setImmediate(r));
      const precision = warnings.filter((w) => (w as { code?: string }).code === 'ONECLASS_FLOAT32_PRECISION');
      expect(precision.map((w) => w.message.split(':')[0])).toEqual([
        'NearestNeighbors',
        'KernelDensity',
        'OneClassSVM',
      ]);
      expect(precision[0].message).toMatch(/largest \|value\| 1\.0e\+6/);
      // The same figures from either computation.
      expect(precision[2].message.split(':')[1]).toBe(precision[1].message.split(':')[1]);
    } finally {
      process.off('warning', listener);
    }
  });
});

describe('release', () => {
  it('Detector.release() twice is harmless; scoring afterwards is ERR_RELEASED', async () => {
    const { Detector } = await import('../src/index.js');
    const { FIXTURES } = await import('./helpers.js');
    const { exampleFiles } = await import('./fixtures/eval/pipeline-helpers.js');
    const det = await Detector.load(`${FIXTURES}/model/v1-ocsvm-knn.oneclass`, { device: 'cpu' });
    await det.release();
    await det.release();
    const e = await rejection(det.score(exampleFiles('test/good', 1)));
    expect(e.code).toBe('ERR_RELEASED');
  });
});
