/**
 * Dense patch embeddings for localization (CutPaste), and the patch grid: the image is resized
 * to resize x resize, cut into patchSize patches at `stride` (row-major over positions, as
 * python-export/evaluate.py), each patch resized to the encoder's input size when it differs,
 * normalized with the manifest's statistics and embedded.
 *
 * Patches are prepared by the native port of the encoder's own preprocessing (resizeU8,
 * gridPatches, writeNormalizedCHW; src/encoder/preprocess.ts), bit-identical to it, and embedded
 * with embedTensor.
 */
import { buildNormalizeTable, type Encoder, type EncoderOutput, type RawImage } from '../encoder/index.js';
import { preprocessPatches } from '../encoder/preprocess.js';
import { expectInteger, type Matrix } from '../validate.js';

export interface PatchGeometry {
  /** The image is resized to resize x resize before patches are cut. */
  resize: number;
  patchSize: number;
  stride: number;
  /** Grid size that results. */
  gridRows: number;
  gridCols: number;
}

export interface LocalizationOptions {
  resize?: number;
  patchSize?: number;
  stride?: number;
  /** One detector per patch position (true) or one shared by all positions (false, default). */
  perPosition?: boolean;
  /** Gaussian sigma (pixels of the resized image) spreading each patch score over its pixels. */
  sigma?: number;
}

/**
 * Defaults: a patch-level encoder (manifest preprocess.patchFrom) cuts input-sized patches out of
 * the patchFrom size at half-patch stride; an image-level encoder sees input-sized patches of the
 * image resized to twice its input, at quarter-patch stride (5 x 5 patches). Patches are never
 * upsampled by default: on magnetic tile, 64 px patches upsampled to the 128 px input gave pixel
 * AUROC 62.5 against 84.4 for 128 px patches (docs/results.md).
 */
export function patchGeometry(encoder: Encoder, options: LocalizationOptions = {}): PatchGeometry {
  const input = encoder.manifest.input.height;
  const patchFrom = encoder.manifest.preprocess.patchFrom?.resize.height;
  const resize = expectInteger('localization.resize', options.resize ?? patchFrom ?? 2 * input, 1);
  // A patch fits inside the resized image.
  const patchSize = expectInteger('localization.patchSize', options.patchSize ?? input, 1, resize);
  const stride = expectInteger(
    'localization.stride',
    options.stride ?? Math.max(1, Math.round(patchSize / (patchFrom ? 2 : 4))),
    1,
  );
  const gridRows = Math.floor((resize - patchSize) / stride) + 1;
  return { resize, patchSize, stride, gridRows, gridCols: gridRows };
}

/** rows = images.length * positions, image-major: row i * positions + p is image i, position p. */
export async function patchEmbeddings(
  encoder: Encoder,
  images: readonly RawImage[],
  g: PatchGeometry,
  output: EncoderOutput,
): Promise<Matrix> {
  const [, height, width] = encoder.inputShape;
  const positions = g.gridRows * g.gridCols;
  const table = buildNormalizeTable(encoder.manifest.preprocess.mean, encoder.manifest.preprocess.std);
  // Native and off the JS thread, the images of the batch in parallel.
  const tensor = await preprocessPatches(images, g, height, width, table);
  const m = await encoder.embedTensor(tensor, images.length * positions, { output });
  return { data: m.data, rows: m.rows, cols: m.cols };
}

/** Rows of `m` whose index is p mod `positions` (the training rows of one patch position). */
export function rowsAtPosition(m: Matrix, positions: number, p: number): Matrix {
  const n = m.rows / positions;
  const data = new Float32Array(n * m.cols);
  for (let i = 0; i < n; i++)
    data.set(m.data.subarray((i * positions + p) * m.cols, (i * positions + p + 1) * m.cols), i * m.cols);
  return { data, rows: n, cols: m.cols };
}
