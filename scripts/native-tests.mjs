#!/usr/bin/env node
// Builds the native core with plain CMake (no Node involved) into build-native/ and runs its
// C++ tests: every CPU op against naive float64 references, every CPU level against the baseline
// level, every CUDA op against the CPU (skipped without a GPU), and the disassembly check of the
// CPU levels (scripts/check-cpu-levels.mjs). Exit code is non-zero when a test fails.
// The CPU ops run at the level chosen for this machine, or at ONECLASS_CPU_LEVEL
// (scripts/test-cpu-levels.mjs runs this once per level).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const build = join(root, 'build-native');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (!existsSync(join(build, 'CMakeCache.txt'))) {
  if (run('cmake', ['-S', '.', '-B', build, '-DCMAKE_BUILD_TYPE=Release', '-DONECLASS_BUILD_TESTS=ON']) !== 0)
    process.exit(1);
}
if (run('cmake', ['--build', build, '--parallel', '2']) !== 0) process.exit(1);
let failed = 0;
const TESTS = [
  'test_ops',
  'test_fitting',
  'test_preprocess',
  'test_cuda_vs_cpu',
  'test_ocsvm',
  'test_cpu_levels',
  'test_coreset',
  'test_positional_gaussian',
];
const WITH_FIXTURES = new Set(['test_ocsvm', 'test_coreset', 'test_positional_gaussian']);
for (const test of TESTS) {
  const bin = join(build, test);
  if (!existsSync(bin)) continue;
  console.log(`\n== ${test}`);
  const args = WITH_FIXTURES.has(test) ? [join(root, 'test', 'fixtures')] : [];
  if (run(bin, args) !== 0) failed++;
}
console.log('\n== check-cpu-levels');
if (run(process.execPath, [join(root, 'scripts', 'check-cpu-levels.mjs'), build]) !== 0) failed++;
process.exit(failed ? 1 : 0);
