/** Public data types of the encoder (matrices, devices and backends are the library's: validate.ts). */

/** Decoded pixels: uint8, interleaved H x W x C, row-major (sharp's raw layout). */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA; the encoder converts to its model's colour space (colour.ts). */
  readonly channels: number;
}

/** An image given to the encoder: a file path, an encoded image (JPEG, PNG, ...) or raw pixels. */
export type ImageInput = string | Buffer | Uint8Array | RawImage;

export type EncoderOutput = 'pooled' | 'projection';
export const ENCODER_OUTPUTS: readonly EncoderOutput[] = ['pooled', 'projection'];
