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
import { invalidInput, OneclassError } from '../errors.js';
import type { PatchMethod } from './dense-localization.js';
import { expectInteger, type Matrix } from '../validate.js';

/**
 * Bounds of the patch grid, checked before anything is allocated (here for fit options, in
 * model-file.ts for a stored geometry): `--resize 100000 --patch-size 1 --stride 1` used to end
 * in a raw RangeError. A 4096 px square, a 128 x 128 grid, 1 GiB of patch tensor per image.
 */
export const MAX_RESIZE = 4096;
export const MAX_PATCH_POSITIONS = 16384;
export const MAX_PATCH_TENSOR_VALUES = 2 ** 28;
/** Patch tensors are prepared and embedded in slices of at most this many floats (256 MiB). */
const PATCH_SLICE_VALUES = 2 ** 26;

/** Why a grid is too large for an encoder input of `inputValues` floats, or null. */
export function patchGridProblem(g: PatchGeometry, inputValues: number): string | null {
  const positions = g.gridRows * g.gridCols;
  if (positions > MAX_PATCH_POSITIONS)
    return `${g.gridRows} x ${g.gridCols} = ${positions} patches per image, more than ${MAX_PATCH_POSITIONS}`;
  if (positions * inputValues > MAX_PATCH_TENSOR_VALUES)
    return `${positions} patches of ${inputValues} values each make ${positions * inputValues} values per image, more than ${MAX_PATCH_TENSOR_VALUES} (1 GiB)`;
  return null;
}

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
  /**
   * 'segmentation', 'patchcore' or 'padim' for dense encoders (manifest "dense" block; default
   * 'segmentation'), 'crops' for any encoder (the default without a dense block). docs/pipeline.md.
   */
  method?: PatchMethod;
  /** patchcore: fraction of the training images' feature rows kept in the memory bank (default 0.1). */
  coresetRatio?: number;
  /** patchcore / padim: bytes the bank or statistics may use (default half the machine's memory). */
  maxMemory?: number;
  /** crops only: the grid (resize, patchSize, stride) and one detector per position. */
  resize?: number;
  patchSize?: number;
  stride?: number;
  /** One detector per patch position (true) or one shared by all positions (false, default). */
  perPosition?: boolean;
  /**
   * crops: Gaussian sigma (pixels of the resized image) spreading each patch score over its pixels;
   * dense methods: the heatmap's blur in model-input pixels (default 4).
   */
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
  const resize = expectInteger('localization.resize', options.resize ?? patchFrom ?? 2 * input, 1, MAX_RESIZE);
  // A patch fits inside the resized image.
  const patchSize = expectInteger('localization.patchSize', options.patchSize ?? input, 1, resize);
  const stride = expectInteger(
    'localization.stride',
    options.stride ?? Math.max(1, Math.round(patchSize / (patchFrom ? 2 : 4))),
    1,
    resize,
  );
  const gridRows = Math.floor((resize - patchSize) / stride) + 1;
  const g = { resize, patchSize, stride, gridRows, gridCols: gridRows };
  const [c, h, w] = encoder.inputShape;
  const problem = patchGridProblem(g, c * h * w);
  if (problem) {
    throw invalidInput(
      'localization',
      `The localization grid (resize ${resize}, patchSize ${patchSize}, stride ${stride}) is too large: ${problem}; use a larger stride or a smaller resize`,
    );
  }
  return g;
}

/**
 * rows = images.length * positions, image-major: row i * positions + p is image i, position p.
 * Images are prepared in slices whose patch tensor stays under 256 MiB, so memory does not grow
 * with the batch size times the grid.
 */
export async function patchEmbeddings(
  encoder: Encoder,
  images: readonly RawImage[],
  g: PatchGeometry,
  output: EncoderOutput,
  labels: readonly string[] = images.map((_, i) => `image ${i}`),
): Promise<Matrix> {
  const [c, height, width] = encoder.inputShape;
  const positions = g.gridRows * g.gridCols;
  const table = buildNormalizeTable(encoder.manifest.preprocess.mean, encoder.manifest.preprocess.std);
  const perImage = Math.max(1, Math.floor(PATCH_SLICE_VALUES / (positions * c * height * width)));
  const cols = encoder.outputSize(output);
  const data = new Float32Array(images.length * positions * cols);
  for (let start = 0; start < images.length; start += perImage) {
    const slice = images.slice(start, start + perImage);
    // Native and off the JS thread, the images of the slice in parallel.
    const tensor = await preprocessPatches(slice, g, height, width, table).catch((error: unknown) => {
      throw namingImages(error, labels.slice(start, start + perImage));
    });
    // The tensor is ours: its buffer moves to the inference thread without a copy.
    const m = await encoder.embedTensor(tensor, slice.length * positions, { output, transfer: true });
    data.set(m.data, start * positions * cols);
  }
  return { data, rows: images.length * positions, cols };
}

/** A native error about "images[k]" of a call, with image k's name instead of its position. */
function namingImages(error: unknown, labels: readonly string[]): unknown {
  if (!(error instanceof OneclassError)) return error;
  const message = error.message.replace(/images\[(\d+)\]/g, (m, k: string) => labels[Number(k)] ?? m);
  return message === error.message ? error : new OneclassError(error.code, message, { path: error.path, cause: error });
}

/** Rows of `m` whose index is p mod `positions` (the training rows of one patch position). */
export function rowsAtPosition(m: Matrix, positions: number, p: number): Matrix {
  const n = m.rows / positions;
  const data = new Float32Array(n * m.cols);
  for (let i = 0; i < n; i++)
    data.set(m.data.subarray((i * positions + p) * m.cols, (i * positions + p + 1) * m.cols), i * m.cols);
  return { data, rows: n, cols: m.cols };
}
