/**
 * The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length, a JSON header mapping each tensor name to { dtype, shape, data_offsets } plus
 * an optional "__metadata__" map of strings, then the raw little-endian tensor bytes. It is
 * readable from Python (`safetensors.numpy.load_file`) and needs no code execution to parse.
 *
 * The decoder trusts nothing: every length, offset and shape is checked against the buffer
 * before anything is allocated, so a truncated or hostile file gets ERR_MODEL_FORMAT and never
 * a crash or a huge allocation.
 */
import { OneclassError } from '../errors.js';

export type DType = 'F32' | 'F64' | 'I32' | 'I64' | 'U8';

export type TensorData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

export interface Tensor {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

const BYTES: Record<DType, number> = { F32: 4, F64: 8, I32: 4, I64: 8, U8: 1 };
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof BigInt64Array) return 'I64';
  return 'U8';
}

export function tensor(data: TensorData, shape: number[] = [data.length]): Tensor {
  return { dtype: dtypeOf(data), shape, data };
}

export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const entries = Object.entries(tensors);
  for (const [name, t] of entries) {
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (allowed by the format).
  const encoded = new TextEncoder().encode(json);
  const pad = (8 - ((8 + encoded.length) % 8)) % 8;
  json += ' '.repeat(pad);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function bad(source: string, why: string): OneclassError {
  return new OneclassError('ERR_MODEL_FORMAT', `${source} is not a valid safetensors file: ${why}`, { path: source });
}

/**
 * Where the data section ends according to a header (the largest tensor end offset), or null
 * when the header does not parse (decodeSafetensors then says why). Lets a reader take from a
 * file exactly the bytes its header accounts for.
 */
export function dataSectionLength(header: Uint8Array): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(header));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  let end = 0;
  for (const [name, info] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const offsets = (info as { data_offsets?: unknown } | null)?.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !Number.isSafeInteger(offsets[1])) return null;
    end = Math.max(end, offsets[1] as number);
  }
  return end;
}

export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'model bytes',
): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (!(bytes instanceof Uint8Array)) throw bad(source, 'expected a Uint8Array or Buffer');
  if (bytes.length < 8) throw bad(source, `only ${bytes.length} bytes, shorter than the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw bad(source, `header length ${headerLength} exceeds the ${bytes.length - 8} bytes that follow it`);
  }
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (cause) {
    throw bad(source, `header is not UTF-8 JSON (${(cause as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw bad(source, 'header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, Tensor> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw bad(source, '__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(source, `metadata value ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info === null || typeof info !== 'object') throw bad(source, `tensor ${name} has no description`);
    if (typeof info.dtype !== 'string' || !(info.dtype in BYTES))
      throw bad(source, `tensor ${name} has unsupported dtype ${String(info.dtype)}`);
    const dtype = info.dtype as DType;
    if (
      !Array.isArray(info.shape) ||
      info.shape.length > 8 ||
      !info.shape.every((s) => Number.isSafeInteger(s) && s >= 0)
    ) {
      throw bad(source, `tensor ${name} has an invalid shape`);
    }
    const shape = info.shape as number[];
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(source, `tensor ${name} has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end || end > dataLength) {
      throw bad(
        source,
        `tensor ${name} spans bytes [${begin}, ${end}) but the data section holds ${dataLength} bytes (truncated?)`,
      );
    }
    let elements = 1;
    for (const s of shape) elements *= s;
    if (elements * BYTES[dtype] !== end - begin) {
      throw bad(
        source,
        `tensor ${name} of shape [${shape.join(', ')}] needs ${elements * BYTES[dtype]} bytes but spans ${end - begin}`,
      );
    }
    ranges.push([begin, end, name]);
    // Copy: the slice is then aligned for its element type and independent of `bytes`.
    const raw = bytes.slice(dataStart + begin, dataStart + end);
    const data =
      dtype === 'F32'
        ? new Float32Array(raw.buffer, 0, elements)
        : dtype === 'F64'
          ? new Float64Array(raw.buffer, 0, elements)
          : dtype === 'I32'
            ? new Int32Array(raw.buffer, 0, elements)
            : dtype === 'I64'
              ? new BigInt64Array(raw.buffer, 0, elements)
              : raw;
    tensors[name] = { dtype, shape, data };
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i][0] < ranges[i - 1][1]) throw bad(source, `tensors ${ranges[i - 1][2]} and ${ranges[i][2]} overlap`);
  }
  return { tensors, metadata };
}
