/** Row bookkeeping of embedding matrices during fit: accumulating batches, picking subsets. */
import type { Matrix } from '../validate.js';

/** Appends matrices of equal width without knowing the total in advance. */
export class RowBuffer {
  private chunks: Matrix[] = [];
  add(m: Matrix): void {
    this.chunks.push(m);
  }
  matrix(): Matrix {
    const cols = this.chunks[0]?.cols ?? 0;
    const rows = this.chunks.reduce((s, m) => s + m.rows, 0);
    const data = new Float32Array(rows * cols);
    let at = 0;
    for (const m of this.chunks) {
      data.set(m.data, at);
      at += m.data.length;
    }
    return { data, rows, cols };
  }
}

/**
 * The rows of `m` belonging to the given images, in that order; `per` rows per image (the patch
 * positions of image-major patch matrices, 1 for image embeddings).
 */
export function selectRows(m: Matrix, images: readonly number[], per = 1): Matrix {
  const width = m.cols * per;
  const data = new Float32Array(images.length * width);
  images.forEach((r, i) => data.set(m.data.subarray(r * width, (r + 1) * width), i * width));
  return { data, rows: images.length * per, cols: m.cols };
}
