/**
 * sharp calls are admitted a few at a time (src/encoder/sharp-slots.ts), so that a batch of images
 * does not start 64 decodes in one turn of the event loop; every call still runs, in order, and a
 * failing one frees its slot.
 */
import { describe, expect, it } from 'vitest';

import { decodeImage, type RawImage } from '../src/encoder/index.js';
import { withSharp } from '../src/encoder/sharp-slots.js';
import { exampleFiles } from './fixtures/eval/pipeline-helpers.js';

const SLOTS = (Number(process.env.UV_THREADPOOL_SIZE) || 4) + 2;

describe('sharp slots', () => {
  it(`at most UV_THREADPOOL_SIZE + 2 = ${SLOTS} calls in flight; all run, in the order given`, async () => {
    let inFlight = 0;
    let most = 0;
    const started: number[] = [];
    const calls = Array.from({ length: 40 }, (_, i) =>
      withSharp(async () => {
        started.push(i);
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        if (i % 7 === 3) throw new Error(`call ${i} failed`);
        return i;
      }),
    );
    const settled = await Promise.allSettled(calls);
    expect(most).toBe(SLOTS);
    expect(started).toEqual([...Array(40).keys()]);
    expect(settled.filter((s) => s.status === 'rejected')).toHaveLength(6);
    expect(
      settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<number>).value),
    ).toHaveLength(34);
  });

  it('decodes queued behind the slots give the same pixels as one at a time', async () => {
    const files = exampleFiles('train/good', 3);
    const one: RawImage[] = [];
    for (const f of files) one.push(await decodeImage(f));
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => decodeImage(files[i % files.length])));
    many.forEach((img, i) =>
      expect(Buffer.compare(Buffer.from(img.data), Buffer.from(one[i % files.length].data))).toBe(0),
    );
  });
});
