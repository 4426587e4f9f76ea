/**
 * Which compute backends exist here, which one `device: 'auto'` picks and why, the CPU level the
 * CPU kernels run at and why, and which addon file was loaded.
 */
import { addonLocation, binding, type NativeBackendInfo } from './native.js';

export interface BackendInfo extends NativeBackendInfo {
  /** What device 'auto' runs on. */
  auto: 'cpu' | 'cuda';
  /** Why 'auto' does not use CUDA (absent when it does). */
  cudaUnavailableReason?: string;
  /** The addon file: a prebuilt binary, a build from source, or ONECLASS_ADDON. */
  addon: {
    kind: 'prebuilt' | 'source' | 'env';
    path: string;
    /** For a prebuilt: the hash of the native sources it was built from (it matches this package's). */
    sourceHash?: string;
  };
}

export function backendInfo(): BackendInfo {
  const info = binding().backendInfo();
  const location = addonLocation();
  const addon: BackendInfo['addon'] = { kind: location.kind, path: location.path };
  if (location.manifest) addon.sourceHash = location.manifest.sourceHash;
  const auto = info.cuda.usable ? 'cuda' : 'cpu';
  return auto === 'cuda'
    ? { ...info, auto, addon }
    : { ...info, auto, cudaUnavailableReason: info.cuda.reason ?? 'unknown', addon };
}
