/**
 * The envelope every fitted detector uses for toBytes()/fromBytes(): a safetensors file whose
 * metadata says what it is ("format": "oneclass/<Kind>"), which version of the layout wrote it,
 * and the detector's parameters as JSON. The full model file of the pipeline builds on this.
 */
import { OneclassError } from '../errors.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export const LAYOUT_VERSION = 1;

export function encodeModel(
  kind: string,
  params: Record<string, unknown>,
  tensors: Record<string, Tensor>,
): Uint8Array {
  return encodeSafetensors(tensors, {
    format: `oneclass/${kind}`,
    version: String(LAYOUT_VERSION),
    params: JSON.stringify(params),
  });
}

export function decodeModel(
  bytes: Uint8Array,
  kind: string,
  required: string[],
): { params: Record<string, unknown>; tensors: Record<string, Tensor> } {
  const { tensors, metadata } = decodeSafetensors(bytes, `${kind} model bytes`);
  const bad = (why: string) => new OneclassError('ERR_MODEL_FORMAT', `Cannot read ${kind} model bytes: ${why}`);
  if (metadata.format !== `oneclass/${kind}`)
    throw bad(`they hold '${metadata.format ?? 'no format'}', not oneclass/${kind}`);
  const version = Number(metadata.version);
  if (!Number.isInteger(version) || version < 1) throw bad(`invalid layout version '${metadata.version}'`);
  if (version > LAYOUT_VERSION) {
    throw bad(
      `they were written by a newer oneclass (layout version ${version}; this one reads up to ${LAYOUT_VERSION})`,
    );
  }
  let params: unknown;
  try {
    params = JSON.parse(metadata.params ?? 'null');
  } catch {
    throw bad('the params metadata is not JSON');
  }
  if (params === null || typeof params !== 'object') throw bad('the params metadata is missing');
  for (const name of required) if (!(name in tensors)) throw bad(`tensor '${name}' is missing`);
  return { params: params as Record<string, unknown>, tensors };
}

/** A 2-D F32 tensor read back as a Matrix with at least `minRows` rows. */
export function matrixTensor(tensors: Record<string, Tensor>, name: string, kind: string, minRows: number) {
  const t = tensors[name];
  if (t.dtype !== 'F32' || t.shape.length !== 2 || t.shape[0] < minRows || t.shape[1] < 1) {
    throw new OneclassError(
      'ERR_MODEL_FORMAT',
      `Cannot read ${kind} model bytes: '${name}' must be a 2-D F32 tensor with at least ${minRows} rows, found ${t.dtype} [${t.shape.join(', ')}]`,
    );
  }
  return { data: t.data as Float32Array, rows: t.shape[0], cols: t.shape[1] };
}
