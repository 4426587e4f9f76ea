/**
 * Conversion of raw decoded samples to the encoder's colour space: the Node half of a contract that
 * python-export/colour.py implements identically for training. Every step is integer arithmetic
 * with one stated rounding, because the libraries' own conversions (libvips and Pillow each have
 * their own gray weights, alpha compositing and 16-bit reduction) do not agree bit for bit.
 *
 * In this order (docs/encoders.md, "Colour and bit depth"):
 *  1. 16-bit samples -> 8 bits: v >> 8.
 *  2. CMYK -> RGB: R = floor(((255 - C) * (255 - K) + 127) / 255), G from M, B from Y; no ICC.
 *  3. Alpha: 'flatten' onto the background, v = floor((v * a + bg * (255 - a) + 127) / 255), in the
 *     image's own family (gray images use the background's gray level, by step 4); or 'drop'.
 *  4. To the model's channels: gray -> RGB replicates; RGB -> gray is
 *     Y = (19595 R + 38470 G + 7471 B + 32768) >> 16 (BT.601 in 16-bit fixed point, = Pillow's 'L').
 */
import type { RawImage } from './types.js';

export type AlphaMode = 'flatten' | 'drop';

/** How an image is turned into the model's colour space; read from the manifest (preprocess.decode). */
export interface ColourPolicy {
  readonly alpha: AlphaMode;
  /** Background that 'flatten' composites onto, 0-255 each. */
  readonly background: readonly [number, number, number];
}

export const DEFAULT_COLOUR_POLICY: ColourPolicy = { alpha: 'flatten', background: [255, 255, 255] };

/** The fixed rules, by the names the manifest's preprocess.decode block records. */
export const DECODE_RULES = {
  bitDepth: 'high-byte',
  cmyk: 'naive-fixed8',
  toGray: 'bt601-fixed16',
  iccProfile: 'ignore',
  exifOrientation: 'ignore',
} as const;

/** What decoding must produce for one model: its channel count, the policy, and strict mode. */
export interface ColourTarget {
  readonly channels: 1 | 3;
  readonly policy: ColourPolicy;
  /** Refuse instead of converting when the colour family differs or the image has alpha. */
  readonly strict: boolean;
}

export type SampleLayout = 'gray' | 'gray-alpha' | 'rgb' | 'rgba' | 'cmyk';

/** Raw decoded samples, interleaved H x W x C: what the file stores, before any conversion. */
export interface Samples {
  readonly data: Uint8Array | Uint16Array;
  readonly width: number;
  readonly height: number;
  readonly layout: SampleLayout;
}

export const LAYOUT_CHANNELS: Readonly<Record<SampleLayout, number>> = {
  gray: 1,
  'gray-alpha': 2,
  rgb: 3,
  rgba: 4,
  cmyk: 4,
};

/** Raw pixels given by the caller: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (sharp's raw layout). */
export const RAW_LAYOUTS: readonly (SampleLayout | undefined)[] = [undefined, 'gray', 'gray-alpha', 'rgb', 'rgba'];

export function grayOf(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 32768) >>> 16;
}

/** 8-bit copy of 16-bit samples (step 1); 8-bit samples are returned as they are. */
function to8(data: Uint8Array | Uint16Array): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] >>> 8;
  return out;
}

function cmykToRgb(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const k = 255 - src[p * 4 + 3];
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.floor(((255 - src[p * 4 + c]) * k + 127) / 255);
  }
  return out;
}

/** Removes the last channel of `channels`-wide pixels, compositing onto `bg` (one value per colour channel) or not. */
function removeAlpha(src: Uint8Array, pixels: number, channels: number, bg: readonly number[] | null): Uint8Array {
  const colour = channels - 1;
  const out = new Uint8Array(pixels * colour);
  for (let p = 0; p < pixels; p++) {
    const a = src[p * channels + colour];
    for (let c = 0; c < colour; c++) {
      const v = src[p * channels + c];
      out[p * colour + c] = bg === null ? v : Math.floor((v * a + bg[c] * (255 - a) + 127) / 255);
    }
  }
  return out;
}

function replicate(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) out[p * 3] = out[p * 3 + 1] = out[p * 3 + 2] = src[p];
  return out;
}

function toGray(src: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) out[p] = grayOf(src[p * 3], src[p * 3 + 1], src[p * 3 + 2]);
  return out;
}

export function isColour(layout: SampleLayout): boolean {
  return layout === 'rgb' || layout === 'rgba' || layout === 'cmyk';
}

export function hasAlpha(layout: SampleLayout): boolean {
  return layout === 'gray-alpha' || layout === 'rgba';
}

/**
 * Why strict mode refuses samples of `layout` for a model of `channels`, or null when it accepts
 * them: same colour family and no alpha, which is what the encoder accepted before it converted.
 */
export function strictMismatch(layout: SampleLayout, channels: 1 | 3): string | null {
  const want = channels === 3 ? 'RGB' : 'grayscale';
  if (hasAlpha(layout)) return `has an alpha channel (${layout}) and the model expects ${want}`;
  if (isColour(layout) !== (channels === 3)) {
    return `is ${isColour(layout) ? `colour (${layout})` : 'grayscale'} but the model expects ${want}`;
  }
  return null;
}

/**
 * Steps 1-3: 8-bit samples in the image's own family, alpha kept when `policy` is null
 * (decodeImage without a target) and removed by the policy otherwise.
 */
export function normalizeSamples(s: Samples, policy: ColourPolicy | null): RawImage {
  const pixels = s.width * s.height;
  let data = to8(s.data);
  let layout = s.layout;
  if (layout === 'cmyk') {
    data = cmykToRgb(data, pixels);
    layout = 'rgb';
  }
  if (policy && hasAlpha(layout)) {
    const channels = LAYOUT_CHANNELS[layout];
    const bg =
      policy.alpha === 'drop' ? null : layout === 'gray-alpha' ? [grayOf(...policy.background)] : policy.background;
    data = removeAlpha(data, pixels, channels, bg);
    layout = layout === 'gray-alpha' ? 'gray' : 'rgb';
  }
  return { data, width: s.width, height: s.height, channels: LAYOUT_CHANNELS[layout] };
}

/** Steps 1-4: samples -> uint8 H x W x channels in the model's colour space. */
export function toModelColour(s: Samples, channels: 1 | 3, policy: ColourPolicy): RawImage {
  const image = normalizeSamples(s, policy);
  const pixels = s.width * s.height;
  if (image.channels === channels) return image;
  const data = channels === 3 ? replicate(image.data, pixels) : toGray(image.data, pixels);
  return { data, width: s.width, height: s.height, channels };
}
