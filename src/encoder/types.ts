/** Public data types of the encoder. */

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

/** Row-major float32 matrix: row i is `data.subarray(i * cols, (i + 1) * cols)`. */
export interface EmbeddingMatrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

export type EncoderOutput = 'pooled' | 'projection';
export type EncoderDevice = 'auto' | 'cuda' | 'cpu';
export type EncoderBackend = 'cuda' | 'cpu';
