/**
 * Heatmap images: an 8-bit grayscale PNG of the heatmap and a colour overlay on the input image.
 * Every image uses the same fixed scale from the model's pixel calibration: 0 = the median
 * held-out normal patch score, 1 = twice the pixel threshold (so the threshold sits mid-scale).
 * Never per-image min-max: a good part must not glow just because something is its maximum.
 */
import sharp from 'sharp';

import type { RawImage } from '../encoder/index.js';
import type { Heatmap } from '../pipeline/detector.js';

/** The "jet" colour map (as matplotlib's), 256 RGB entries. */
export const JET: Uint8Array = (() => {
  const lut = new Uint8Array(256 * 3);
  const ramp = (x: number) => Math.max(0, Math.min(1, x));
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    lut[i * 3] = Math.round(255 * ramp(1.5 - Math.abs(4 * t - 3)));
    lut[i * 3 + 1] = Math.round(255 * ramp(1.5 - Math.abs(4 * t - 2)));
    lut[i * 3 + 2] = Math.round(255 * ramp(1.5 - Math.abs(4 * t - 1)));
  }
  return lut;
})();

export function heatmapLevels(map: Heatmap, threshold: number): Uint8Array {
  const hi = Math.max(2 * threshold, 1e-6);
  const out = new Uint8Array(map.data.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(255 * Math.max(0, Math.min(1, map.data[i] / hi)));
  return out;
}

export async function heatmapPng(levels: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(Buffer.from(levels.buffer, levels.byteOffset, levels.byteLength), {
    raw: { width, height, channels: 1 },
  })
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

export async function overlayPng(image: RawImage, levels: Uint8Array, alpha: number): Promise<Buffer> {
  const { width, height, channels } = image;
  const out = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const l = levels[p];
    for (let c = 0; c < 3; c++) {
      const base = image.data[p * channels + (channels === 1 ? 0 : c)];
      out[p * 3 + c] = Math.round((1 - alpha) * base + alpha * JET[l * 3 + c]);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
