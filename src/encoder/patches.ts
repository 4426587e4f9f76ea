/**
 * Regular grids of square patches, for patch-level encoders (manifest `preprocess.patchFrom`):
 * resize the whole image to patchFrom's size with resizeU8, cut patches with gridPatches, embed
 * them (they are already at the model size, so no further resize happens). Same order as
 * python-export/evaluate.py grid_patches: row-major over patch positions (y outer, x inner).
 */
import { expectInteger } from '../validate.js';
import type { RawImage } from './types.js';

export interface PatchGrid {
  readonly patches: RawImage[];
  /** Top-left corner of each patch in the (resized) image. */
  readonly positions: { readonly x: number; readonly y: number }[];
  readonly rows: number;
  readonly cols: number;
}

export function cropU8(image: RawImage, x: number, y: number, width: number, height: number): RawImage {
  const c = image.channels;
  const data = new Uint8Array(width * height * c);
  for (let r = 0; r < height; r++) {
    const src = ((y + r) * image.width + x) * c;
    data.set(image.data.subarray(src, src + width * c), r * width * c);
  }
  return { data, width, height, channels: c };
}

export function gridPatches(image: RawImage, size: number, stride: number = size): PatchGrid {
  // A patch fits inside the image.
  expectInteger('size', size, 1, Math.min(image.width, image.height));
  expectInteger('stride', stride, 1);
  const ys: number[] = [];
  const xs: number[] = [];
  for (let y = 0; y + size <= image.height; y += stride) ys.push(y);
  for (let x = 0; x + size <= image.width; x += stride) xs.push(x);
  const patches: RawImage[] = [];
  const positions: { x: number; y: number }[] = [];
  for (const y of ys) {
    for (const x of xs) {
      patches.push(cropU8(image, x, y, size, size));
      positions.push({ x, y });
    }
  }
  return { patches, positions, rows: ys.length, cols: xs.length };
}
