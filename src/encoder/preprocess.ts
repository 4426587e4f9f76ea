/**
 * Resize + normalize one decoded image into a batch tensor, off the JS thread: the addon's C++
 * port of resize.ts and normalize.ts (native/core/src/image_preprocess.cpp), bit-identical to
 * them and to python-export/preprocess.py (test/encoder-preprocess.test.ts checks all three).
 */
import { binding } from '../native.js';
import type { RawImage } from './types.js';

export async function preprocessInto(
  image: RawImage,
  height: number,
  width: number,
  table: Float32Array,
  out: Float32Array,
  offset: number,
): Promise<void> {
  await binding().preprocessImage(
    image.data,
    image.width,
    image.height,
    image.channels,
    height,
    width,
    table,
    out,
    offset,
  );
}
