/**
 * Which compute backends exist here, which one `device: 'auto'` picks and why, the CPU level the
 * CPU kernels run at and why, and which addon file was loaded.
 */
import { addonLocation, binding, type KeptMemory, type NativeBackendInfo } from './native.js';

export type { KeptMemory } from './native.js';

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

/**
 * Bytes the native core keeps between calls so that later calls do not page-fault fresh memory:
 * the one-class SVM's kernel storage of the last fit (up to 512 MB of it written) and the blocks
 * of large call-private buffers (input copies, transformed queries: at most 128 MB). The kernel
 * may reclaim the first under memory pressure (it is marked MADV_FREE); both count in the
 * process's RSS until then. See docs/native.md.
 */
export function keptMemory(): KeptMemory {
  return binding().keptMemory();
}

/**
 * Frees what {@link keptMemory} reports (blocks held by calls in flight are kept again when those
 * calls end) and returns the bytes freed. For long-running processes that fitted or scored large
 * batches once and want the memory back; the next large call pays its page faults again.
 */
export function releaseKeptMemory(): KeptMemory {
  return binding().releaseKeptMemory();
}
