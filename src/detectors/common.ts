/** Options shared by every detector, parsed once. */
import { type Device, expectDevice, expectThreads } from '../validate.js';

export interface ComputeOptions {
  /** 'auto' (default): CUDA when a device is usable, else CPU. 'cuda' fails when it is not. */
  device?: Device;
  /** CPU threads; 0 or undefined = all cores. Ignored on CUDA. */
  threads?: number;
}

export interface ResolvedCompute {
  device: Device;
  threads: number;
}

export function computeOptions(path: string, options: Record<string, unknown>): ResolvedCompute {
  return {
    device: expectDevice(`${path}.device`, options.device),
    threads: expectThreads(`${path}.threads`, options.threads),
  };
}

export const COMPUTE_KEYS = ['device', 'threads'] as const;

/** Copies the training matrix so later changes to the caller's array cannot alter the model. */
export function ownCopy(data: Float32Array): Float32Array {
  return data.slice();
}
