#!/usr/bin/env node
// `npm run bench`: the stage-2 benchmarks against the reference implementations, one after the
// other in this process's environment (each prints its table and writes its JSON):
//   bench/stage2.mjs  KDE, k-NN, Gaussian density and heatmaps vs scikit-learn / numpy / scipy
//   bench/ocsvm.mjs   OneClassSVM fit and decision function vs scikit-learn (libsvm)
// The references run in Debian's /usr/bin/python3 (scikit-learn, scipy; TOOLCHAIN.md).
//
//   npm run bench                    full sizes, results into bench/results/ (an idle machine)
//   npm run bench -- --quick         small sizes, results into bench/out/: checks that it runs
//   npm run bench -- --only ocsvm    one of them (stage2, ocsvm)
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const quickResults = join(root, 'bench', 'out');
const benchmarks = {
  stage2: values.quick
    ? [
        '--n',
        '1000',
        '--m',
        '500',
        '--d',
        '64',
        '--maps',
        '20',
        '--sklearn-kde-queries',
        '100',
        '--results',
        quickResults,
      ]
    : [],
  ocsvm: values.quick ? ['--configs', '1000:scale', '--decision-rows', '1000', '--results', quickResults] : [],
};
const selected = values.only ? values.only.split(',') : Object.keys(benchmarks);
for (const name of selected) {
  if (!(name in benchmarks)) {
    console.error(`unknown benchmark '${name}' (expected ${Object.keys(benchmarks).join(', ')})`);
    process.exit(2);
  }
}
for (const name of selected) {
  console.log(`\n== bench/${name}.mjs ${benchmarks[name].join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'bench', `${name}.mjs`), ...benchmarks[name]], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
