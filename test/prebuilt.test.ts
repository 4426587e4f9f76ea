/**
 * When a prebuilt addon may be loaded (scripts/prebuilt.mjs, used by the loader and the install
 * step): only for this platform, with a manifest, for an N-API version this Node has, and built
 * from exactly the native sources beside it: any edit, addition or removal makes it stale, and a
 * stale prebuilt is refused with the reason.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { checkPrebuilt, nativeSourceHash, platformTag, prebuiltDir } from '../scripts/prebuilt.mjs';

let root: string;

function writePackage(manifest: Record<string, unknown> | null): void {
  mkdirSync(join(root, 'native', 'core'), { recursive: true });
  writeFileSync(join(root, 'CMakeLists.txt'), 'project(x)\n');
  writeFileSync(join(root, 'native', 'core', 'a.cpp'), 'int a() { return 1; }\n');
  const dir = prebuiltDir(root);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'oneclass.node'), 'not really a binary');
  if (manifest) writeFileSync(join(dir, 'oneclass.json'), JSON.stringify(manifest));
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'oneclass-prebuilt-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('prebuilt addon checks', () => {
  it('accepts a prebuilt built from these sources', () => {
    writePackage(null);
    writeFileSync(
      join(prebuiltDir(root), 'oneclass.json'),
      JSON.stringify({ sourceHash: nativeSourceHash(root), napiVersion: 8 }),
    );
    const r = checkPrebuilt(root);
    expect(r.ok).toBe(true);
    expect(r.path).toBe(join(root, 'prebuilds', platformTag(), 'oneclass.node'));
  });

  it('refuses it once a native source changes, is added or is removed', () => {
    writePackage(null);
    const manifest = { sourceHash: nativeSourceHash(root), napiVersion: 8 };
    writeFileSync(join(prebuiltDir(root), 'oneclass.json'), JSON.stringify(manifest));
    writeFileSync(join(root, 'native', 'core', 'a.cpp'), 'int a() { return 2; }\n');
    expect(checkPrebuilt(root).reason).toMatch(/built from other native sources/);
    writeFileSync(join(root, 'native', 'core', 'a.cpp'), 'int a() { return 1; }\n');
    expect(checkPrebuilt(root).ok).toBe(true);
    writeFileSync(join(root, 'native', 'core', 'b.h'), '#pragma once\n');
    expect(checkPrebuilt(root).ok).toBe(false);
    rmSync(join(root, 'native', 'core', 'b.h'));
    rmSync(join(root, 'CMakeLists.txt'));
    expect(checkPrebuilt(root).ok).toBe(false);
  });

  it('refuses a missing binary, a missing manifest and a newer N-API version', () => {
    expect(checkPrebuilt(root).reason).toBe(`no prebuilt binary for ${platformTag()}`);
    writePackage(null);
    expect(checkPrebuilt(root).reason).toMatch(/no readable manifest/);
    writeFileSync(
      join(prebuiltDir(root), 'oneclass.json'),
      JSON.stringify({ sourceHash: nativeSourceHash(root), napiVersion: 999 }),
    );
    expect(checkPrebuilt(root).reason).toMatch(/needs N-API 999/);
  });

  it('looks only in the folder of this platform and architecture', () => {
    writePackage({ sourceHash: 'x', napiVersion: 8 });
    expect(checkPrebuilt(root, 'sunos-sparc').reason).toBe('no prebuilt binary for sunos-sparc');
  });
});
