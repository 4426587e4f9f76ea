#!/usr/bin/env node
// clang-format over the C++/CUDA sources of native/ with the repository's .clang-format, using
// the WebAssembly build of clang-format from npm (@wasm-fmt/clang-format, a devDependency): the
// same formatter version on every machine after `npm ci`, with no system package to install.
//
//   node scripts/clang-format.mjs --check   exit 1 and list the files that are not formatted
//   node scripts/clang-format.mjs --write   format them in place
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
  console.error('usage: node scripts/clang-format.mjs --check | --write');
  process.exit(2);
}

const EXTENSIONS = /\.(h|hpp|cc|cpp|cu|cuh)$/;
function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : EXTENSIONS.test(e.name) ? [join(dir, e.name)] : [],
  );
}

const files = sources(join(root, 'native')).sort();
const cli = join(
  dirname(createRequire(import.meta.url).resolve('@wasm-fmt/clang-format/package.json')),
  'clang-format-cli.cjs',
);
const args = mode === '--check' ? ['--dry-run', '--Werror', '--ferror-limit=1'] : ['-i'];
const r = spawnSync(process.execPath, [cli, ...args, ...files], { cwd: root, encoding: 'utf8' });
if (r.error) throw r.error;
if (mode === '--write') {
  if (r.status !== 0) process.stderr.write(r.stderr);
  else console.log(`clang-format: formatted ${files.length} files in native/`);
  process.exit(r.status ?? 1);
}
// --dry-run reports each violation as "path:line:col: error: code should be clang-formatted".
const bad = [...new Set([...r.stderr.matchAll(/^(?:\x1b\[[0-9;]*m)*(.+?):\d+:\d+: /gm)].map((m) => m[1]))];
if (r.status === 0 && bad.length === 0) {
  console.log(`clang-format: all ${files.length} files in native/ are formatted`);
  process.exit(0);
}
console.error(`clang-format: ${bad.length || 'some'} files in native/ are not formatted (run \`npm run format\`):`);
for (const f of bad) console.error(`  ${relative(root, resolve(root, f))}`);
if (bad.length === 0) process.stderr.write(r.stderr);
process.exit(1);
