/**
 * Resize + normalize decoded images into batch tensors, off the JS thread: the addon's C++ port
 * of resize.ts, patches.ts and normalize.ts (native/core/src/image_preprocess.cpp), bit-identical
 * to them and to python-export/preprocess.py (test/encoder-preprocess.test.ts and
 * test/patch-preprocess.test.ts check it).
 */
import { binding } from '../native.js';
import type { RawImage } from './types.js';

/**
 * Images and outputs of at most this many pixels are preprocessed on the calling thread (a
 * 128 x 128 image in about 0.1 ms): handing them to libuv's pool and back costs more (about
 * 0.2 ms of CPU per call on the 2-core machine), once per image of every batch.
 */
export const SYNC_PREPROCESS_PIXELS = 128 * 128;

/**
 * The image resized to height x width, normalized, as C x H x W floats at out[offset...]. `out` is
 * written when the call settles; it must keep its length until then (a detached or shrunk `out`
 * rejects with ERR_INVALID_ARGUMENT and is left unwritten). Small images are done on the calling
 * thread (SYNC_PREPROCESS_PIXELS), with the same result.
 */
export async function preprocessInto(
  image: RawImage,
  height: number,
  width: number,
  table: Float32Array,
  out: Float32Array,
  offset: number,
): Promise<void> {
  const small = image.width * image.height <= SYNC_PREPROCESS_PIXELS && height * width <= SYNC_PREPROCESS_PIXELS;
  if (small) binding().preprocessImageSync(image, { height, width, table, out, offset });
  else await binding().preprocessImage(image, { height, width, table, out, offset });
}

export interface PatchGridGeometry {
  /** The image is resized to resize x resize before patches are cut. */
  resize: number;
  patchSize: number;
  stride: number;
}

/**
 * The patch grid of each image (as gridPatches of the image resized with resizeU8, each patch
 * resized to height x width when its size differs): images x positions C x H x W tensors,
 * image-major and row-major over positions, in a tensor the call allocates and fills off the JS
 * thread (the images of the batch in parallel). The images must have the same channel count.
 */
export async function preprocessPatches(
  images: readonly RawImage[],
  grid: PatchGridGeometry,
  height: number,
  width: number,
  table: Float32Array,
): Promise<Float32Array> {
  const { resize, patchSize, stride } = grid;
  return binding().preprocessPatches(images, { resize, patchSize, stride, height, width, table });
}
