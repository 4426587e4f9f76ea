// The prebuilt addon of one platform (prebuilds/<platform>-<arch>/oneclass.node) and the manifest
// beside it (oneclass.json), written by scripts/prebuild.mjs. Shared by the loader
// (src/native.ts), the install step (scripts/install.mjs), the prebuild and the pack check, so
// they agree on what "matches" means: a binary for this platform and architecture, built from
// exactly the native sources next to it (the manifest's sourceHash), for an N-API version this
// Node has. A prebuilt that does not match is never loaded: it cannot go stale silently.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** What the source hash covers: everything the addon is compiled from. */
export const NATIVE_SOURCES = ['CMakeLists.txt', 'native'];

export function platformTag() {
  return `${process.platform}-${process.arch}`;
}

export function prebuiltDir(root, tag = platformTag()) {
  return join(root, 'prebuilds', tag);
}

function files(path) {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((name) => files(join(path, name)));
}

/**
 * sha256 over the native sources: each file's path relative to root ('/'-separated) and its
 * bytes, in path order, so it is the same on every machine and changes with any edit, addition,
 * removal or rename.
 */
export function nativeSourceHash(root) {
  const hash = createHash('sha256');
  const all = NATIVE_SOURCES.flatMap((p) => files(join(root, p)))
    .map((f) => ({ f, rel: relative(root, f).split(sep).join('/') }))
    .sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  for (const { f, rel } of all) {
    const bytes = readFileSync(f);
    hash.update(`${rel}\0${bytes.length}\0`);
    hash.update(bytes);
  }
  return hash.digest('hex');
}

export function readManifest(dir) {
  try {
    return JSON.parse(readFileSync(join(dir, 'oneclass.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether the prebuilt binary for this platform may be loaded: { ok, path, manifest, reason }
 * (reason says why not). Loading it is the last test (glibc version, CPU): callers do that.
 */
export function checkPrebuilt(root, tag = platformTag()) {
  const dir = prebuiltDir(root, tag);
  const path = join(dir, 'oneclass.node');
  if (!existsSync(path)) return { ok: false, path, manifest: null, reason: `no prebuilt binary for ${tag}` };
  const manifest = readManifest(dir);
  if (!manifest)
    return { ok: false, path, manifest, reason: `the prebuilt binary for ${tag} has no readable manifest` };
  const napi = Number(process.versions.napi ?? 0);
  if (Number(manifest.napiVersion) > napi)
    return {
      ok: false,
      path,
      manifest,
      reason: `the prebuilt binary for ${tag} needs N-API ${manifest.napiVersion}; this Node has ${napi}`,
    };
  const sourceHash = nativeSourceHash(root);
  if (manifest.sourceHash !== sourceHash)
    return {
      ok: false,
      path,
      manifest,
      reason:
        `the prebuilt binary for ${tag} was built from other native sources (sourceHash ` +
        `${String(manifest.sourceHash).slice(0, 12)}, these sources ${sourceHash.slice(0, 12)}); ` +
        'rebuild it with `npm run prebuild`',
    };
  return { ok: true, path, manifest, reason: '' };
}
