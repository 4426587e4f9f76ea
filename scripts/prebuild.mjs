#!/usr/bin/env node
// Builds the prebuilt addon of this platform into prebuilds/<platform>-<arch>/ (oneclass.node and
// its manifest oneclass.json), from a clean CMake build with fixed flags, and checks it:
//  - CPU kernels for every CPU level (baseline x86-64-v2, avx2, avx512), chosen at load; nothing
//    else above the baseline (no -march=native);
//  - the CUDA backend with the CUDA runtime linked statically, device code for compute
//    capabilities 7.5, 8.0, 8.6, 8.9 and 9.0 plus PTX of 9.0 for newer GPUs;
//  - libstdc++ and libgcc linked in (ONECLASS_PORTABLE_RUNTIME), so the binary needs only glibc:
//    the dynamic libraries it needs and the newest glibc symbol version it uses are recorded and
//    checked against an allowlist;
//  - the hash of the native sources it was built from (scripts/prebuilt.mjs), so a prebuilt that
//    does not match its sources is never loaded.
// `npm pack` / `npm publish` run it (prepack); it rebuilds only when the sources or the flags
// changed since the last prebuild (--force: always).
//
//   node scripts/prebuild.mjs [--force] [--no-cuda] [--jobs N]
//
// --no-cuda (or ONECLASS_PREBUILD_CUDA=OFF) builds without the CUDA backend, for machines
// without nvcc; the manifest says so. Only linux-x64 is produced here (docs/install.md says what
// other platforms need).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { nativeSourceHash, platformTag, prebuiltDir, readManifest } from './prebuilt.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    force: { type: 'boolean', default: false },
    'no-cuda': { type: 'boolean', default: false },
    jobs: { type: 'string', default: process.env.ONECLASS_PREBUILD_JOBS ?? '2' },
  },
});
const tag = platformTag();
if (tag !== 'linux-x64') {
  console.error(`prebuild: only linux-x64 prebuilt binaries are produced by this script (this is ${tag})`);
  process.exit(1);
}
const cuda = !(values['no-cuda'] || process.env.ONECLASS_PREBUILD_CUDA === 'OFF');
const CUDA_ARCHITECTURES = '75-real;80-real;86-real;89-real;90-real;90-virtual';
// The flags of the prebuilt binary. CMake's own defaults are not relied on, so a developer's
// cached options cannot leak into it (the build folder is fresh anyway).
const cmakeArgs = [
  '--CDCMAKE_BUILD_TYPE=Release',
  '--CDONECLASS_NATIVE_ARCH=OFF',
  '--CDONECLASS_PORTABLE_RUNTIME=ON',
  '--CDONECLASS_BUILD_TESTS=OFF',
  `--CDONECLASS_CUDA=${cuda ? 'ON' : 'OFF'}`,
  ...(cuda ? [`--CDCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCHITECTURES}`] : []),
];
// Libraries the binary may need: the C library's parts and the dynamic loader. Anything else
// (libstdc++, libgcc_s, libcudart) would have to be installed on the user's machine.
const ALLOWED_NEEDED = /^(libc|libm|libdl|libpthread|librt|ld-linux-x86-64)\.so\.\d+$/;

const out = prebuiltDir(root, tag);
const sourceHash = nativeSourceHash(root);
const previous = readManifest(out);
if (
  !values.force &&
  previous &&
  existsSync(join(out, 'oneclass.node')) &&
  previous.sourceHash === sourceHash &&
  JSON.stringify(previous.cmakeArgs) === JSON.stringify(cmakeArgs)
) {
  console.log(`prebuild: ${relative(root, out)} is up to date (sources ${sourceHash.slice(0, 12)})`);
  process.exit(0);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28, ...options });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    console.error(r.stdout ?? '', r.stderr ?? '');
    throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  }
  return r.stdout ?? '';
}
const firstLine = (text) => text.trim().split('\n')[0];
const lastLine = (text) => text.trim().split('\n').pop();

const buildDir = join(root, 'build-prebuild');
rmSync(buildDir, { recursive: true, force: true });
const cmakeJs = createRequire(join(root, 'package.json')).resolve('cmake-js/bin/cmake-js');
console.log(`prebuild: building ${tag} in ${relative(root, buildDir)} (${cmakeArgs.join(' ')})`);
run(process.execPath, [cmakeJs, 'compile', '--out', buildDir, '--parallel', values.jobs, ...cmakeArgs], {
  stdio: 'inherit',
});
const built = join(buildDir, 'Release', 'oneclass.node');

// What the binary needs from the system.
const dynamic = run('readelf', ['-d', '-W', built]);
const needed = [...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
const unexpected = needed.filter((n) => !ALLOWED_NEEDED.test(n));
if (unexpected.length) throw new Error(`prebuild: the binary needs ${unexpected.join(', ')} (only glibc allowed)`);
const versions = [...run('objdump', ['-T', built]).matchAll(/GLIBC_(\d+)\.(\d+)(?:\.(\d+))?/g)].map((m) => [
  Number(m[1]),
  Number(m[2]),
  Number(m[3] ?? 0),
]);
versions.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
const glibc = versions.length
  ? versions
      .at(-1)
      .filter((v, i) => i < 2 || v > 0)
      .join('.')
  : null;

// It loads, and reports its levels, CUDA build and JPEG decoder (absent when the build found no
// static libjpeg: then sharp decodes every JPEG for its users).
const probe =
  'const m = require(process.argv[1]); const i = m.backendInfo();' +
  'const jpeg = typeof m.jpegDecoderInfo === "function" ? m.jpegDecoderInfo() : null;' +
  'console.log(JSON.stringify({ levels: i.cpu.levels.map((l) => l.name), cuda: i.cuda.compiled, jpeg }));';
const loaded = JSON.parse(lastLine(run(process.execPath, ['-e', probe, built])));
if (loaded.cuda !== cuda) throw new Error(`prebuild: CUDA backend compiled = ${loaded.cuda}, wanted ${cuda}`);

const tool = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
};
const manifest = {
  platform: tag,
  sourceHash,
  napiVersion: 8,
  glibc,
  cpuLevels: loaded.levels,
  cuda: cuda ? { compiled: true, architectures: CUDA_ARCHITECTURES, runtime: 'static' } : { compiled: false },
  jpegDecoder: loaded.jpeg ? { ...loaded.jpeg, linked: 'static' } : null,
  toolchain: {
    cxx: firstLine(tool('c++', ['--version'])),
    cmake: firstLine(tool('cmake', ['--version'])),
    ...(cuda ? { nvcc: lastLine(tool('nvcc', ['--version'])) } : {}),
    node: process.version,
  },
  cmakeArgs,
  needed,
};
mkdirSync(out, { recursive: true });
copyFileSync(built, join(out, 'oneclass.node'));
writeFileSync(join(out, 'oneclass.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(
  `prebuild: wrote ${relative(root, out)}/oneclass.node (levels ${manifest.cpuLevels.join(', ')}, CUDA ` +
    `${cuda ? CUDA_ARCHITECTURES : 'no'}, JPEG decoder ${loaded.jpeg ? `${loaded.jpeg.library} ${loaded.jpeg.version}` : 'none (sharp)'}, ` +
    `needs ${needed.join(' ')}, glibc >= ${glibc}, sources ${sourceHash.slice(0, 12)})`,
);
