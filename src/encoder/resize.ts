/**
 * Separable triangle-filter resize on uint8 images with integer fixed-point weights.
 *
 * This is a line-for-line mirror of python-export/preprocess.py (`triangle_taps`, `resize_u8`);
 * the models were trained on images resized by that code, and bit-exact parity depends on both
 * sides computing the same integer weights (same double arithmetic, same order) and the same
 * integer rounding. Change one, change both, and regenerate the test fixtures.
 * Manifest name of the method: 'triangle-fixed14'.
 */
import type { RawImage } from './types.js';

export const RESIZE_METHOD = 'triangle-fixed14';
const RESIZE_BITS = 14;
const ROUND = 1 << (RESIZE_BITS - 1);

export interface ResizeTaps {
  /** First source index contributing to each output index. */
  readonly starts: Int32Array;
  /** Number of weights per output index. */
  readonly counts: Int32Array;
  /** Weights, `maxTaps` per output index (unused entries are 0). */
  readonly weights: Int32Array;
  readonly maxTaps: number;
}

export function triangleTaps(inSize: number, outSize: number): ResizeTaps {
  const scale = inSize / outSize;
  // Shrinking widens the filter so every source pixel contributes (antialiasing, as PIL does).
  const support = scale > 1.0 ? scale : 1.0;
  const perOutput: { lo: number; fixed: number[] }[] = [];
  let maxTaps = 1;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.floor(center - support + 0.5), 0);
    const hi = Math.min(Math.floor(center + support + 0.5), inSize);
    const ws: number[] = [];
    let total = 0.0;
    for (let j = lo; j < hi; j++) {
      const t = Math.abs((j + 0.5 - center) / support);
      const w = t < 1.0 ? 1.0 - t : 0.0;
      ws.push(w);
      total = total + w;
    }
    const fixed = ws.map((w) => Math.floor((w / total) * (1 << RESIZE_BITS) + 0.5));
    perOutput.push({ lo, fixed });
    maxTaps = Math.max(maxTaps, fixed.length);
  }
  const starts = new Int32Array(outSize);
  const counts = new Int32Array(outSize);
  const weights = new Int32Array(outSize * maxTaps);
  perOutput.forEach(({ lo, fixed }, i) => {
    starts[i] = lo;
    counts[i] = fixed.length;
    weights.set(fixed, i * maxTaps);
  });
  return { starts, counts, weights, maxTaps };
}

function clampU8(acc: number): number {
  const v = (acc + ROUND) >> RESIZE_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resizeHorizontal(src: Uint8Array, h: number, w: number, c: number, outW: number): Uint8Array {
  const { starts, counts, weights, maxTaps } = triangleTaps(w, outW);
  const out = new Uint8Array(h * outW * c);
  for (let y = 0; y < h; y++) {
    const row = y * w * c;
    for (let x = 0; x < outW; x++) {
      const lo = starts[x];
      const n = counts[x];
      const wo = x * maxTaps;
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += weights[wo + k] * src[row + (lo + k) * c + ch];
        out[(y * outW + x) * c + ch] = clampU8(acc);
      }
    }
  }
  return out;
}

function resizeVertical(src: Uint8Array, h: number, w: number, c: number, outH: number): Uint8Array {
  const { starts, counts, weights, maxTaps } = triangleTaps(h, outH);
  const out = new Uint8Array(outH * w * c);
  const stride = w * c;
  for (let y = 0; y < outH; y++) {
    const lo = starts[y];
    const n = counts[y];
    const wo = y * maxTaps;
    for (let i = 0; i < stride; i++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += weights[wo + k] * src[(lo + k) * stride + i];
      out[y * stride + i] = clampU8(acc);
    }
  }
  return out;
}

/**
 * Resizes an interleaved uint8 image (H x W x C) to height x width: horizontal pass first, then
 * vertical, each rounded to uint8 (the order matters for the intermediate rounding). A pass whose
 * size does not change is skipped, so images already at the model size pass through untouched.
 */
export function resizeU8(image: RawImage, height: number, width: number): RawImage {
  let data: Uint8Array = image.data;
  let w = image.width;
  let h = image.height;
  if (w !== width) {
    data = resizeHorizontal(data, h, w, image.channels, width);
    w = width;
  }
  if (h !== height) {
    data = resizeVertical(data, h, w, image.channels, height);
    h = height;
  }
  return { data, width: w, height: h, channels: image.channels };
}
