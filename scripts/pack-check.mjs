#!/usr/bin/env node
// The packed package installs and runs without a compiler: `npm pack` (which builds the prebuilt
// addon, scripts/prebuild.mjs, unless it is up to date), then `npm install <tarball>` into a fresh
// folder with a PATH that holds only node, npm and sh (no cc, c++, cmake, make or nvcc), then
// `oneclass demo` and `oneclass info` from there. Checks that the install used the prebuilt binary
// (no build/ folder, its log line) and that backendInfo() names the CPU level, also when forced.
// Dependencies come from npm's cache when it has them (--prefer-offline), else from the registry.
//
//   node scripts/pack-check.mjs [--keep]   (npm run test:pack)
//
// Prints PASS/FAIL lines and "N passed, N failed, N skipped"; exit code 1 on a failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'oneclass-pack-'));
let passed = 0,
  failed = 0;
function check(ok, name, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}
function finish() {
  console.log(`${passed} passed, ${failed} failed, 0 skipped`);
  if (!keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
  process.exit(failed ? 1 : 0);
}
const tail = (text, lines = 15) => text.trim().split('\n').slice(-lines).join('\n');

// 1. Pack (prepack builds or reuses the prebuilt; prepare compiles the TypeScript). Without nvcc
// the prebuilt is built without the CUDA backend, which this check does not need.
const hasNvcc =
  spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' }).status === 0 ||
  existsSync('/usr/local/cuda/bin/nvcc');
if (!hasNvcc) console.log('pack-check: no nvcc here; the prebuilt is built without the CUDA backend');
const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', work], {
  cwd: root,
  env: hasNvcc ? process.env : { ...process.env, ONECLASS_PREBUILD_CUDA: 'OFF' },
  encoding: 'utf8',
  maxBuffer: 1 << 28,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let pack;
try {
  // npm's JSON closes its output; lifecycle scripts (the prebuild's build log) print before it.
  const out = packed.stdout;
  const start = out.startsWith('[\n') ? 0 : out.lastIndexOf('\n[\n') + 1;
  pack = JSON.parse(out.slice(start))[0];
} catch {
  pack = null;
}
if (!check(packed.status === 0 && pack, 'npm pack', pack ? pack.filename : tail(packed.stdout))) finish();
const files = new Set(pack.files.map((f) => f.path));
const wanted = [
  'prebuilds/linux-x64/oneclass.node',
  'prebuilds/linux-x64/oneclass.json',
  'dist/index.js',
  'dist/cli/main.js',
  'scripts/install.mjs',
  'scripts/prebuilt.mjs',
  'CMakeLists.txt',
  'native/core/cpu/cpu_dispatch.cpp',
  // `oneclass train` runs the trainer from the installed package.
  'python-export/train.py',
];
const missing = wanted.filter((f) => !files.has(f));
const stray = [...files].filter((f) => /^(build|build-[^/]*)\//.test(f));
check(
  missing.length === 0 && stray.length === 0,
  'the tarball holds the prebuilt, its manifest, dist/, the install script and the native sources',
  `${(pack.size / 2 ** 20).toFixed(1)} MiB packed, ${(pack.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked, ` +
    `${files.size} files` +
    (missing.length ? `; missing ${missing.join(', ')}` : '') +
    (stray.length ? `; build output ${stray.slice(0, 3).join(', ')}` : ''),
);

// 2. A PATH with node, npm and sh only (npm runs install scripts through sh).
const bin = join(work, 'bin');
mkdirSync(bin);
symlinkSync(process.execPath, join(bin, 'node'));
symlinkSync('/bin/sh', join(bin, 'sh'));
const npmCli = realpathSync(
  spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim() || '/usr/bin/npm',
);
const npxCli = join(dirname(npmCli), 'npx-cli.js');
symlinkSync(npmCli, join(bin, 'npm'));
if (existsSync(npxCli)) symlinkSync(npxCli, join(bin, 'npx'));
const TOOLS = ['cc', 'gcc', 'c++', 'g++', 'clang', 'clang++', 'cmake', 'make', 'ninja', 'nvcc'];
const reachable = TOOLS.filter((t) => bin.split(delimiter).some((dir) => existsSync(join(dir, t))));
check(reachable.length === 0, 'the install PATH has no compiler, cmake, make or nvcc', `PATH=${bin}`);
const env = {
  PATH: bin,
  HOME: process.env.HOME ?? work,
  TMPDIR: process.env.TMPDIR ?? tmpdir(),
  // onnxruntime-node's own install step downloads a CUDA provider from a host that may be unreachable.
  ONNXRUNTIME_NODE_INSTALL: 'skip',
  CC: '/nonexistent/cc',
  CXX: '/nonexistent/c++',
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => /^npm_config_(registry|cache)$/i.test(k))),
};

// 3. Install the tarball into a fresh project.
const app = join(work, 'app');
mkdirSync(app);
writeFileSync(
  join(app, 'package.json'),
  JSON.stringify({ name: 'oneclass-pack-check', version: '1.0.0', private: true }),
);
const install = spawnSync(
  'npm',
  ['install', join(work, pack.filename), '--no-audit', '--no-fund', '--foreground-scripts', '--prefer-offline'],
  { cwd: app, env, encoding: 'utf8', maxBuffer: 1 << 28 },
);
const installLog = `${install.stdout}\n${install.stderr}`;
const usedPrebuilt = /oneclass: using the prebuilt addon/.test(installLog);
if (
  !check(
    install.status === 0 && usedPrebuilt,
    'npm install <tarball> without a compiler uses the prebuilt addon',
    (installLog.match(/oneclass: .*/g) ?? []).join(' | ') || tail(installLog),
  )
)
  finish();
const pkg = join(app, 'node_modules', 'oneclass');
check(!existsSync(join(pkg, 'build')), 'nothing was compiled (no build/ in the installed package)');

// 4. Run the CLI from the installed package.
const cli = join(app, 'node_modules', '.bin', 'oneclass');
const demo = spawnSync(cli, ['demo', '--out-dir', join(work, 'demo')], {
  cwd: app,
  env,
  encoding: 'utf8',
  maxBuffer: 1 << 28,
});
check(
  demo.status === 0 && /image AUROC/.test(demo.stdout),
  'oneclass demo runs from the installed package',
  demo.status === 0 ? (demo.stdout.match(/image AUROC.*/) ?? [''])[0] : tail(`${demo.stdout}\n${demo.stderr}`),
);
function info(extraEnv) {
  const r = spawnSync(cli, ['info', '--json'], { cwd: app, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout).stage2;
  } catch {
    return { error: `${r.stdout}\n${r.stderr}` };
  }
}
const auto = info({});
const levels = (auto.cpu?.levels ?? []).map((l) => l.name);
check(
  auto.addon?.kind === 'prebuilt' && levels.includes(auto.cpu?.level),
  'backendInfo() names the prebuilt addon and the CPU level it chose',
  auto.cpu ? `level ${auto.cpu.level} of ${levels.join(', ')}: ${auto.cpu.levelReason}` : JSON.stringify(auto),
);
const forced = info({ ONECLASS_CPU_LEVEL: 'baseline' });
check(
  forced.cpu?.level === 'baseline',
  'ONECLASS_CPU_LEVEL=baseline is obeyed by the installed package',
  forced.cpu ? forced.cpu.levelReason : JSON.stringify(forced),
);
finish();
