/** toBytes/fromBytes round trips, and hostile bytes get ERR_MODEL_FORMAT, never a crash. */
import { describe, expect, it } from 'vitest';

import {
  decodeSafetensors,
  encodeSafetensors,
  GaussianDensity,
  KernelDensity,
  NearestNeighbors,
  OneclassError,
  tensor,
} from '../src/index.js';
import { randomMatrix } from './helpers.js';

describe('serialization', () => {
  const x = randomMatrix(120, 12, 11);
  const y = randomMatrix(30, 12, 12);

  it('every detector restores to identical scores', async () => {
    const kde = await KernelDensity.fit(x, { bandwidth: 'droc', normalize: true });
    const kde2 = await KernelDensity.fromBytes(kde.toBytes());
    expect(kde2.bandwidth).toBe(kde.bandwidth);
    expect(Array.from(await kde2.scoreSamples(y))).toEqual(Array.from(await kde.scoreSamples(y)));
    const gde = await GaussianDensity.fit(x, { normalize: true });
    const gde2 = await GaussianDensity.fromBytes(gde.toBytes());
    expect(Array.from(await gde2.scoreSamples(y))).toEqual(Array.from(await gde.scoreSamples(y)));
    const nn = await NearestNeighbors.fit(x, { metric: 'cosine' });
    const nn2 = await NearestNeighbors.fromBytes(nn.toBytes());
    expect(Array.from(await nn2.scoreSamples(y, 2))).toEqual(Array.from(await nn.scoreSamples(y, 2)));
  });

  it('the container is plain safetensors', () => {
    const bytes = encodeSafetensors({ a: tensor(new Float32Array([1, 2, 3]), [3]) }, { k: 'v' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.a).toEqual({ dtype: 'F32', shape: [3], data_offsets: [0, 12] });
    expect((8 + headerLength) % 8).toBe(0);
    expect(Array.from(decodeSafetensors(bytes).tensors.a.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('wrong kind, newer versions and truncation are refused with ERR_MODEL_FORMAT', async () => {
    const kde = await KernelDensity.fit(x, { bandwidth: 1 });
    const bytes = kde.toBytes();
    await expect(GaussianDensity.fromBytes(bytes)).rejects.toMatchObject({ code: 'ERR_MODEL_FORMAT' });
    await expect(KernelDensity.fromBytes(bytes.subarray(0, bytes.length - 5))).rejects.toMatchObject({
      code: 'ERR_MODEL_FORMAT',
    });
    const { tensors, metadata } = decodeSafetensors(bytes);
    const newer = encodeSafetensors(tensors, { ...metadata, version: '9' });
    await expect(KernelDensity.fromBytes(newer)).rejects.toThrow(/newer oneclass/);
  });

  it('survives thousands of random mutations of a valid file', async () => {
    const valid = (await NearestNeighbors.fit(randomMatrix(6, 3, 2))).toBytes();
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    let refused = 0;
    let accepted = 0;
    for (let trial = 0; trial < 3000; trial++) {
      let bytes = valid.slice();
      const kind = rand(4);
      if (kind === 0) bytes = bytes.subarray(0, rand(bytes.length));
      else if (kind === 1) for (let i = 0; i < 1 + rand(4); i++) bytes[rand(bytes.length)] = rand(256);
      else if (kind === 2) new DataView(bytes.buffer).setUint32(rand(8), rand(2 ** 32), true);
      else {
        // Mutate digits inside the JSON header (shapes, offsets, lengths).
        const end = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
        for (let i = 0; i < 3; i++) {
          const at = 8 + rand(Math.max(1, end - 8));
          if (bytes[at] >= 48 && bytes[at] <= 57) bytes[at] = 48 + rand(10);
        }
      }
      try {
        const model = await NearestNeighbors.fromBytes(bytes);
        await model.scoreSamples({ data: new Float32Array(model.dim), rows: 1, cols: model.dim });
        accepted++;
      } catch (e) {
        expect(e).toBeInstanceOf(OneclassError);
        expect(['ERR_MODEL_FORMAT', 'ERR_INVALID_ARGUMENT']).toContain((e as OneclassError).code);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
    expect(accepted + refused).toBe(3000);
  });
});
