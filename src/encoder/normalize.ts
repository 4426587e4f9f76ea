/**
 * uint8 pixels -> normalized float32 NCHW tensor, exactly as python-export/preprocess.py
 * (`normalize_u8`): float32(float32(float32(u8 / 255) - mean[c]) / std[c]).
 *
 * Each step is rounded to float32 with Math.fround. JavaScript computes in double first, but for
 * a single +, -, * or / of float32 operands, rounding the double result to float32 gives the
 * correctly rounded float32 result (double has more than 2 * 24 + 2 significand bits), so this
 * equals PyTorch's float32 arithmetic bit for bit. A 256-entry table per channel does it once.
 */
import type { RawImage } from './types.js';

export function buildNormalizeTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const table = new Float32Array(mean.length * 256);
  for (let c = 0; c < mean.length; c++) {
    const m = Math.fround(mean[c]);
    const s = Math.fround(std[c]);
    for (let u = 0; u < 256; u++) {
      table[c * 256 + u] = Math.fround(Math.fround(Math.fround(u / 255) - m) / s);
    }
  }
  return table;
}

/** Writes one image (already at model size, H x W x C) as C x H x W floats at `out[offset...]`. */
export function writeNormalizedCHW(image: RawImage, table: Float32Array, out: Float32Array, offset: number): void {
  const { data, width, height, channels } = image;
  const plane = width * height;
  for (let c = 0; c < channels; c++) {
    const lut = c * 256;
    const base = offset + c * plane;
    for (let p = 0; p < plane; p++) out[base + p] = table[lut + data[p * channels + c]];
  }
}
