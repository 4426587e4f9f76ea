#!/usr/bin/env node
// Runs the test suites once per compiled CPU level this CPU runs, each with ONECLASS_CPU_LEVEL
// set: the C++ tests (scripts/native-tests.mjs, build-native/) and vitest (on the addon the
// suites load: build/ or the prebuilt). Levels this CPU cannot run are reported as skipped with
// the features it lacks (test_cpu_levels --list).
//
//   node scripts/test-cpu-levels.mjs [--cpp-only] [--vitest-only] [--levels baseline,avx2] [--qemu]
//
// --qemu: also runs the C++ tests on an emulated x86-64-v2 CPU without AVX (QEMU user mode,
// `qemu-x86_64 -cpu Nehalem`, Debian's qemu-user), where any instruction above the baseline
// outside a level's kernels dies with SIGILL, and the automatic choice must be the baseline level.
// QEMU 7.2 emulates up to AVX2, not AVX-512, so the avx512 kernels cannot run there either.
//
// Closes with one line per level and "N passed, N failed, N skipped" counting (level, suite)
// runs. Exit code 1 when a run failed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    'cpp-only': { type: 'boolean', default: false },
    'vitest-only': { type: 'boolean', default: false },
    levels: { type: 'string' },
    qemu: { type: 'boolean', default: false },
  },
});
const build = join(root, 'build-native');

function run(cmd, args, env = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

// Build the C++ tests (and with them the level list) first, with the level chosen automatically.
if (!existsSync(join(build, 'CMakeCache.txt'))) {
  if (run('cmake', ['-S', '.', '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DONECLASS_BUILD_TESTS=ON']) !== 0)
    process.exit(1);
}
if (run('cmake', ['--build', build, '--parallel', '2']) !== 0) process.exit(1);
const list = spawnSync(join(build, 'test_cpu_levels'), ['--list'], {
  encoding: 'utf8',
  env: { ...process.env, ONECLASS_CPU_LEVEL: '' },
});
if (list.status !== 0) throw new Error(`test_cpu_levels --list failed: ${list.stderr}`);
let levels = list.stdout
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
if (values.levels) {
  const wanted = values.levels.split(',');
  levels = levels.filter((l) => wanted.includes(l.name));
}

const suites = [];
if (!values['vitest-only']) suites.push(['C++ tests', process.execPath, [join(root, 'scripts', 'native-tests.mjs')]]);
if (!values['cpp-only'])
  suites.push(['vitest', process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run']]);

let passed = 0,
  failed = 0,
  skipped = 0;
const summary = [];
for (const level of levels) {
  if (!level.supported) {
    skipped += suites.length;
    summary.push(`${level.name}: skipped, this CPU lacks ${level.missing}`);
    continue;
  }
  const results = [];
  for (const [name, cmd, args] of suites) {
    console.log(`\n==== ONECLASS_CPU_LEVEL=${level.name}: ${name}`);
    const ok = run(cmd, args, { ONECLASS_CPU_LEVEL: level.name }) === 0;
    if (ok) passed++;
    else failed++;
    results.push(`${name} ${ok ? 'passed' : 'FAILED'}`);
  }
  summary.push(`${level.name}: ${results.join(', ')}`);
}
if (values.qemu) {
  const results = [];
  for (const test of ['test_ops', 'test_fitting', 'test_preprocess', 'test_cpu_levels']) {
    console.log(`\n==== qemu-x86_64 -cpu Nehalem (x86-64-v2, no AVX): ${test}`);
    const ok = run('qemu-x86_64', ['-cpu', 'Nehalem', join(build, test)], { ONECLASS_CPU_LEVEL: '' }) === 0;
    if (ok) passed++;
    else failed++;
    results.push(`${test} ${ok ? 'passed' : 'FAILED'}`);
  }
  summary.push(`emulated x86-64-v2 CPU: ${results.join(', ')}`);
}
console.log(`\n${summary.join('\n')}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
