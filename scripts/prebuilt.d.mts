// Types of scripts/prebuilt.mjs for src/native.ts.
export interface PrebuiltManifest {
  platform: string;
  sourceHash: string;
  napiVersion: number;
  glibc: string | null;
  cpuLevels: string[];
  cuda: { compiled: boolean; architectures?: string; runtime?: string };
  toolchain: Record<string, string>;
  cmakeArgs: string[];
  needed: string[];
}

export interface PrebuiltCheck {
  ok: boolean;
  path: string;
  manifest: PrebuiltManifest | null;
  /** Why it may not be loaded ('' when ok). */
  reason: string;
}

export const NATIVE_SOURCES: readonly string[];
export function platformTag(): string;
export function prebuiltDir(root: string, tag?: string): string;
export function nativeSourceHash(root: string): string;
export function readManifest(dir: string): PrebuiltManifest | null;
export function checkPrebuilt(root: string, tag?: string): PrebuiltCheck;
