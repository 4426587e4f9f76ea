/**
 * Test-time views of an image (Sohn et al. 2021, the rotation-prediction recipe's
 * `aug_list_for_test`): each image is embedded as it is and rotated by 90, 180 and 270 degrees,
 * and its embedding is the concatenation of the four, each scaled to unit length. The detectors
 * then see a 4 x D row per image. Training and scoring use the same views, so a model file
 * records them (src/pipeline/model-file.ts).
 *
 * The rotations are applied to the preprocessed input tensor (C x H x W, after resize and
 * normalization), as training turns its batches at the model's input size
 * (python-export/augment.py): that equals turning the image resized to the input size, then
 * normalizing. (Turning an image before a resize may differ by one level of 255 here and there:
 * the resize rounds to 8 bits between its horizontal and vertical passes, resize.ts.) The
 * direction is numpy's `rot90` (and torch.rot90 over dims (2, 3)): out[i][j] = in[j][W - 1 - i]
 * for one quarter turn.
 */
import { invalidInput } from '../errors.js';
import type { Matrix } from '../validate.js';

export const IMAGE_VIEWS = ['none', 'rotations'] as const;
/** 'none': the image as it is; 'rotations': the image and its three quarter turns. */
export type ImageViews = (typeof IMAGE_VIEWS)[number];

export function viewCount(views: ImageViews): number {
  return views === 'rotations' ? 4 : 1;
}

/** Refuses views an input of this shape cannot have (a quarter turn needs a square input). */
export function checkViews(views: ImageViews, height: number, width: number, name = 'views'): void {
  if (views === 'rotations' && height !== width) {
    throw invalidInput(
      name,
      `views 'rotations' needs a square encoder input, but this encoder takes ${height} x ${width} (height x width)`,
    );
  }
}

/**
 * The four quarter turns of n images (n x C x S x S, row-major), view-major: rows k * n + i of
 * the result are image i turned k times.
 */
export function rotatedViews(input: Float32Array, n: number, channels: number, size: number): Float32Array {
  const plane = size * size;
  const per = channels * plane;
  if (input.length !== n * per)
    throw new RangeError(`rotatedViews: ${input.length} values for ${n} x ${channels} x ${size} x ${size}`);
  const out = new Float32Array(4 * n * per);
  out.set(input, 0);
  for (let k = 1; k < 4; k++) {
    const base = k * n * per;
    for (let p = 0; p < n * channels; p++) {
      const src = input.subarray(p * plane, (p + 1) * plane);
      const dst = base + p * plane;
      for (let i = 0; i < size; i++) {
        const row = dst + i * size;
        for (let j = 0; j < size; j++) {
          // Source pixel of out[i][j] after k quarter turns (np.rot90 with k = 1, 2, 3).
          let v: number;
          if (k === 1) v = src[j * size + (size - 1 - i)];
          else if (k === 2) v = src[(size - 1 - i) * size + (size - 1 - j)];
          else v = src[(size - 1 - j) * size + i];
          out[row + j] = v;
        }
      }
    }
  }
  return out;
}

/**
 * Joins view-major rows (viewCount x n rows of `cols`) into n rows of viewCount x cols: row i is
 * [view 0 of i, view 1 of i, ...], each view scaled to unit length (an all-zero view stays zero).
 */
export function joinViews(m: Matrix, n: number, views: number): Matrix {
  if (views === 1) return m;
  const cols = m.cols;
  if (m.rows !== views * n) throw new RangeError(`joinViews: ${m.rows} rows for ${views} views of ${n} images`);
  const out = new Float32Array(n * views * cols);
  for (let k = 0; k < views; k++) {
    for (let i = 0; i < n; i++) {
      const src = m.data.subarray((k * n + i) * cols, (k * n + i + 1) * cols);
      let ss = 0;
      for (let c = 0; c < cols; c++) ss += src[c] * src[c];
      const scale = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      const dst = (i * views + k) * cols;
      for (let c = 0; c < cols; c++) out[dst + c] = src[c] * scale;
    }
  }
  return { data: out, rows: n, cols: views * cols };
}
