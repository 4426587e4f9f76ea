/**
 * Resize + normalize decoded images into a batch tensor, off the JS thread: the addon's C++ port
 * of resize.ts, patches.ts and normalize.ts (native/core/src/image_preprocess.cpp), bit-identical
 * to them and to python-export/preprocess.py (test/encoder-preprocess.test.ts and
 * test/patch-preprocess.test.ts check it).
 *
 * `out` is written when the call settles; it must keep its length until then (a detached or
 * shrunk `out` rejects with ERR_INVALID_ARGUMENT and is left unwritten).
 */
import { binding } from '../native.js';
import type { RawImage } from './types.js';

/** The image resized to height x width, normalized, as C x H x W floats at out[offset...]. */
export async function preprocessInto(
  image: RawImage,
  height: number,
  width: number,
  table: Float32Array,
  out: Float32Array,
  offset: number,
): Promise<void> {
  await binding().preprocessImage(image, { height, width, table, out, offset });
}

export interface PatchGridGeometry {
  /** The image is resized to resize x resize before patches are cut. */
  resize: number;
  patchSize: number;
  stride: number;
}

/**
 * The patch grid of an image (as gridPatches of the image resized with resizeU8, each patch
 * resized to height x width when its size differs): one C x H x W tensor per position, row-major
 * over positions, from out[offset...].
 */
export async function preprocessPatchesInto(
  image: RawImage,
  grid: PatchGridGeometry,
  height: number,
  width: number,
  table: Float32Array,
  out: Float32Array,
  offset: number,
): Promise<void> {
  const { resize, patchSize, stride } = grid;
  await binding().preprocessPatches(image, { resize, patchSize, stride, height, width, table, out, offset });
}
