/** Which compute backends exist here, and which one `device: 'auto'` picks and why. */
import { binding, type NativeBackendInfo } from './native.js';

export interface BackendInfo extends NativeBackendInfo {
  /** What device 'auto' runs on. */
  auto: 'cpu' | 'cuda';
  /** Why 'auto' does not use CUDA (absent when it does). */
  cudaUnavailableReason?: string;
}

export function backendInfo(): BackendInfo {
  const info = binding().backendInfo();
  const auto = info.cuda.usable ? 'cuda' : 'cpu';
  return auto === 'cuda' ? { ...info, auto } : { ...info, auto, cudaUnavailableReason: info.cuda.reason ?? 'unknown' };
}
