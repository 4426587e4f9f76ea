#!/usr/bin/env node
// npm's install step for oneclass (package.json "install"). Uses the prebuilt addon for this
// platform when it matches (scripts/prebuilt.mjs: same native sources, N-API version) and loads
// here, so no compiler, CMake or nvcc is needed; otherwise, or when asked, builds the addon from
// source with cmake-js into build/ (which the loader then prefers: src/native.ts).
//
// Asking for a source build: `npm install --build-from-source` (npm passes it to this script as
// npm_config_build_from_source) or ONECLASS_BUILD_FROM_SOURCE=1.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkPrebuilt } from './prebuilt.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v !== 'false';
const asked = truthy(process.env.ONECLASS_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source);

function log(line) {
  console.log(`oneclass: ${line}`);
}

/** Loads the binary in a child process (a failed load cannot take this process down with it). */
function tryLoad(path) {
  const probe =
    'const i = require(process.argv[1]).backendInfo();' +
    'console.log(JSON.stringify({ level: i.cpu.level, levels: i.cpu.levels.map((l) => l.name), cuda: i.cuda.compiled }));';
  const r = spawnSync(process.execPath, ['-e', probe, path], { encoding: 'utf8' });
  if (r.status === 0) return { ok: true, info: JSON.parse(r.stdout.trim().split('\n').pop()) };
  return { ok: false, error: (r.stderr || String(r.error)).trim().split('\n').slice(0, 3).join(' ') };
}

let reason = 'asked for (--build-from-source or ONECLASS_BUILD_FROM_SOURCE)';
if (!asked) {
  const prebuilt = checkPrebuilt(root);
  if (prebuilt.ok) {
    const loaded = tryLoad(prebuilt.path);
    if (loaded.ok) {
      const { level, levels, cuda } = loaded.info;
      log(
        `using the prebuilt addon ${relative(root, prebuilt.path)} (CPU levels ${levels.join(', ')}; ` +
          `this CPU runs ${level ?? 'none'}; CUDA backend ${cuda ? 'included' : 'not included'}); nothing to compile`,
      );
      process.exit(0);
    }
    reason = `the prebuilt addon ${relative(root, prebuilt.path)} does not load here (it needs glibc ${prebuilt.manifest?.glibc ?? '?'} or newer): ${loaded.error}`;
  } else {
    reason = prebuilt.reason;
  }
}

log(`building the addon from source: ${reason}`);
const cmakeJs = createRequire(join(root, 'package.json')).resolve('cmake-js/bin/cmake-js');
const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(
    'oneclass: the source build failed. It needs CMake >= 3.18 and a C++17 compiler (g++ or clang++), and nvcc ' +
      'for the CUDA backend (optional). Prebuilt binaries exist for linux-x64 with glibc; see docs/install.md.',
  );
  process.exit(build.status ?? 1);
}
