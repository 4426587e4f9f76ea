/**
 * The parts the Detector facade is made of: the one prefetching loop (src/prefetch.ts), the
 * typed detector registry, and the decode stage's policies. Detector-level behaviour is in
 * pipeline-detector.test.ts.
 */
import { describe, expect, it } from 'vitest';

import { prefetched } from '../src/prefetch.js';
import { decodeBatch, nameImages } from '../src/pipeline/images.js';
import { type DetectorSpec, detectorKinds, resolveDetector, restoreDetector } from '../src/pipeline/registry.js';
import { randomMatrix } from './helpers.js';

describe('prefetched: the one prefetching loop', () => {
  it('starts loading step k+1 before the consumer is done with step k, and visits every item once', async () => {
    const events: string[] = [];
    const load = async (start: number, end: number) => {
      events.push(`load ${start}-${end}`);
      await new Promise((r) => setTimeout(r, 5));
      return end - start;
    };
    const sizes: number[] = [];
    for await (const step of prefetched(10, 4, load)) {
      events.push(`consume ${step.start}`);
      await new Promise((r) => setTimeout(r, 20));
      sizes.push(step.value);
      events.push(`done ${step.start}`);
    }
    expect(sizes).toEqual([4, 4, 2]);
    expect(events.filter((e) => e.startsWith('load'))).toEqual(['load 0-4', 'load 4-8', 'load 8-10']);
    expect(events.indexOf('load 4-8')).toBeLessThan(events.indexOf('done 0'));
    expect(events.indexOf('load 8-10')).toBeLessThan(events.indexOf('done 4'));
  });

  it('a failing prefetch throws at its own step, and is no unhandled rejection when the consumer fails first', async () => {
    const failing = (bad: number) => async (start: number) => {
      if (start === bad) throw new Error(`step ${start} failed`);
      return start;
    };
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const s of prefetched(6, 2, failing(4))) seen.push(s.value);
      })(),
    ).rejects.toThrow('step 4 failed');
    expect(seen).toEqual([0, 2]);
    // The consumer throws while step 2's load (which fails) is in flight: only the consumer's error surfaces.
    await expect(
      (async () => {
        for await (const _ of prefetched(6, 2, failing(2))) throw new Error('consumer failed');
      })(),
    ).rejects.toThrow('consumer failed');
    await new Promise((r) => setTimeout(r, 10));
  });

  it('walks nothing for an empty list', async () => {
    let calls = 0;
    for await (const _ of prefetched(0, 8, async () => ++calls)) calls += 100;
    expect(calls).toBe(0);
  });
});

describe('detector registry', () => {
  it('lists the kinds and fills in each kind’s defaults, leaving undefined options to them', () => {
    expect(detectorKinds()).toEqual(['kde', 'gde', 'knn', 'ocsvm']);
    expect(resolveDetector({ kind: 'knn', metric: undefined, k: 3 }, 'detector').options).toEqual({
      metric: 'cosine',
      k: 3,
    });
    expect(resolveDetector({ kind: 'ocsvm', nu: 0.1 }, 'detector').options).toEqual({
      nu: 0.1,
      gamma: 'droc',
      normalize: true,
    });
  });

  it('DetectorSpec is typed per kind', () => {
    const specs: DetectorSpec[] = [
      { kind: 'kde', bandwidth: 'scott' },
      { kind: 'gde', shrinkage: 0.1 },
      { kind: 'knn', metric: 'euclidean', k: 2 },
      { kind: 'ocsvm', nu: 0.2, gamma: 'scale' },
      // @ts-expect-error nu is an OC-SVM option, not a KDE one
      { kind: 'kde', nu: 0.5 },
      // @ts-expect-error not a kind
      { kind: 'svm' },
      // @ts-expect-error compute placement is chosen per call, not stored in the spec
      { kind: 'knn', device: 'cpu' },
    ];
    expect(specs).toHaveLength(7);
  });

  it('refuses an unknown kind naming the valid ones, and k beyond the training rows', async () => {
    expect(() => resolveDetector({ kind: 'svm' } as never, 'localization.detector')).toThrow(
      "Expected one of 'kde', 'gde', 'knn', 'ocsvm' for localization.detector.kind but received 'svm' of type string",
    );
    expect(() => resolveDetector(null as never, 'detector')).toThrow(/for detector but received null/);
    const knn = resolveDetector({ kind: 'knn', k: 5 }, 'detector');
    await expect(knn.fit(randomMatrix(4, 3), {})).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      path: 'detector.k',
      message: 'Expected integer in [1, 4] for detector.k but received 5 of type number',
    });
    await expect(
      restoreDetector({ kind: 'lof', options: {} }, new Uint8Array(8), {}, 'detector'),
    ).rejects.toMatchObject({ path: 'detector.kind' });
  });

  it('a fitted kind round-trips through its bytes with its stored options', async () => {
    const x = randomMatrix(30, 4, 7);
    const spec = resolveDetector({ kind: 'knn', k: 2 }, 'detector');
    const fitted = await spec.fit(x, { device: 'cpu' });
    const restored = await restoreDetector(
      { kind: spec.kind, options: { ...spec.options } },
      fitted.toBytes(),
      {},
      'detector',
    );
    const q = randomMatrix(5, 4, 8);
    expect(Array.from(await restored.scoreSamples(q))).toEqual(Array.from(await fitted.scoreSamples(q)));
  });
});

describe('decode stage', () => {
  it('names inputs once: paths by themselves, buffers and raw images by position, dataset items by id', () => {
    const raw = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(nameImages(['a.png', raw, { id: 'set#3', image: raw }]).map((n) => n.id)).toEqual([
      'a.png',
      'image 1',
      'set#3',
    ]);
    expect(() => nameImages('a.png' as never)).toThrow("Expected an array of images for images but received 'a.png'");
  });

  it('refuses another size than the fixed one, naming the image and both sizes', async () => {
    const raw = (w: number) => ({ data: new Uint8Array(w * 4), width: w, height: 4, channels: 1 });
    const batch = nameImages([raw(4), raw(6)]);
    await expect(decodeBatch(batch, 10, 'error', { width: 4, height: 4 }, null)).rejects.toMatchObject({
      path: 'image 1',
      message: expect.stringMatching(/^image 1 is 6x4 but the model was fitted on 4x4 images/),
    });
    const ok = await decodeBatch(batch, 10, 'error', null, null);
    expect(ok.decoded.map((d) => d.index)).toEqual([10, 11]);
  });
});
