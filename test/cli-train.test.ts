/**
 * `oneclass train`: stage 1 through the CLI. An RGB dataset in the MVTec layout made of real
 * CIFAR-10 JPEGs trains with python-export's trainer and then fits, scores and evaluates with the
 * CLI end to end; a missing interpreter or missing packages are one coded error; a failed run
 * leaves earlier outputs untouched. Needs Debian's python3-torch & co. (.ci/run installs them);
 * without them the end-to-end part is skipped and says why.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { beforeAll, describe, expect, it } from 'vitest';

import { EXIT } from '../src/cli/exit-codes.js';
import { runCli } from '../src/cli/run.js';
import { checkPython } from '../src/cli/commands/train.js';
import { hasSharedData, REPO, SHARED_DATA } from './helpers.js';
import { tempDir } from './fixtures/eval/pipeline-helpers.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (chunk, _e, cb) => (f(String(chunk)), cb()) });
  const code = await runCli(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) });
  return { code, stdout, stderr };
}

const PYTHON = '/usr/bin/python3';
let pythonProblem: string | null = null;
try {
  checkPython(PYTHON);
} catch (e) {
  pythonProblem = (e as Error).message;
}
if (pythonProblem) console.warn(`cli-train: end-to-end training skipped: ${pythonProblem}`);

const work = tempDir('cli-train');

describe('train.py --budget-minutes: the epoch plan', () => {
  it.skipIf(pythonProblem !== null)('cuts the epochs to the budget, grows back only after the first epoch', () => {
    // 10 minutes, at most 10 epochs of 100 steps; the probe says 0.9 s per step (90 s per epoch).
    const script = `
import json, sys
sys.path.insert(0, 'python-export')
from train import BudgetPlan
b = BudgetPlan(10, 10, 100)
out = [b.plan(0.9)]
out.append(b.replan(1, 50.0))    # 50 s per epoch measured: 10 fit (at most max_epochs)
out.append(b.replan(2, 200.0))   # 100 s per epoch: 6 fit
out.append(b.replan(3, 150.0))   # 50 s per epoch again: no growth after the first epoch
out.append(b.replan(5, 599.0))   # 120 s per epoch: 5 fit, which are done
print(json.dumps([out, BudgetPlan(None, 7, 3).epochs]))
`;
    const r = spawnSync(PYTHON, ['-c', script], { cwd: REPO, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual([[6, 10, 6, 6, 5], 7]);
  });
});

describe('oneclass train: interpreter and packages', () => {
  it('an interpreter that does not exist is ERR_BACKEND_UNAVAILABLE (exit 5) naming --python', async () => {
    const r = await cli(
      'train',
      '--method',
      'rotation',
      '--train',
      work,
      '--out',
      join(work, 'x'),
      '--python',
      join(work, 'no-python'),
    );
    expect(r.code).toBe(EXIT.BACKEND);
    expect(r.stderr).toMatch(/ERR_BACKEND_UNAVAILABLE.*Cannot run Python .*no-python.*--python/);
  });

  it.skipIf(!existsSync(PYTHON))(
    'an interpreter without the packages names them and the Debian packages to install',
    async () => {
      // -S: no site-packages, so none of the dist-packages modules (numpy, torch, ...) is importable.
      const bare = join(work, 'bare-python');
      writeFileSync(bare, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`);
      chmodSync(bare, 0o755);
      const r = await cli('train', '--method', 'rotation', '--train', work, '--out', join(work, 'x'), '--python', bare);
      expect(r.code).toBe(EXIT.BACKEND);
      expect(r.stderr).toMatch(/does not have: numpy, PIL, torch, torchvision, onnx, sklearn/);
      expect(r.stderr).toMatch(
        /apt-get install -y python3-numpy python3-pil python3-torch python3-torchvision python3-onnx python3-sklearn/,
      );
      expect(readdirSync(work).filter((f) => f.startsWith('x.'))).toEqual([]);
    },
  );

  it('a missing data folder is a usage error naming the flag', async () => {
    const r = await cli('train', '--method', 'rotation', '--train', join(work, 'nope'), '--out', join(work, 'x'));
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/--train .*nope is not a folder/);
  });
});

describe.skipIf(pythonProblem !== null || !hasSharedData)(
  'oneclass train: an RGB MVTec-layout dataset end to end',
  () => {
    const data = join(work, 'cifar-airplane');
    const prefix = join(work, 'enc');

    beforeAll(() => {
      // Real RGB JPEGs: CIFAR-10 airplanes are "good", the nine other classes the defects.
      const r = spawnSync(
        PYTHON,
        [
          join(REPO, 'python-export', 'make_cifar_mvtec.py'),
          '--out',
          data,
          '--train',
          '64',
          '--test-good',
          '20',
          '--test-per-defect',
          '3',
          '--data-root',
          SHARED_DATA,
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`make_cifar_mvtec.py failed: ${r.stderr}`);
    });

    it('train refuses an unknown method with exit 2 and leaves an earlier encoder untouched', async () => {
      writeFileSync(`${prefix}.onnx`, 'earlier');
      const r = await cli(
        'train',
        '--method',
        'nonsense',
        '--dataset',
        'mvtec',
        '--data',
        data,
        '--out',
        prefix,
        '--python',
        PYTHON,
      );
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/train.py refused the options: .*invalid choice: 'nonsense'/);
      expect(readFileSync(`${prefix}.onnx`, 'utf8')).toBe('earlier');
      expect(readdirSync(work).filter((f) => f.startsWith('.oneclass-staging'))).toEqual([]);
    });

    it('trains an RGB encoder, then fit, score and eval run on it', { timeout: 600_000 }, async () => {
      const trained = await cli(
        'train',
        '--method',
        'rotation',
        '--dataset',
        'mvtec',
        '--data',
        data,
        // A budget of 0.6 s fits one of the three epochs (the plan keeps at least one).
        '--epochs',
        '3',
        '--budget-minutes',
        '0.01',
        '--threads',
        '1',
        '--out',
        prefix,
        '--python',
        PYTHON,
        '--json',
      );
      expect(trained.code, trained.stderr).toBe(0);
      const manifest = JSON.parse(trained.stdout) as {
        input: { channels: number; colorSpace: string; height: number };
        training: {
          command: string;
          checkpoint: { file: string };
          epochs: number;
          maxEpochs: number;
          budgetMinutes: number;
          epochSeconds: number[];
        };
        metrics: { auroc: Record<string, number>; testImages: number };
      };
      expect(manifest.input).toMatchObject({ channels: 3, colorSpace: 'rgb', height: 32 });
      expect(manifest.training.command).toMatch(/^oneclass train --method rotation --dataset mvtec --data /);
      expect(manifest.training.checkpoint.file).toBe('enc.pt');
      expect(manifest.training).toMatchObject({ epochs: 1, maxEpochs: 3, budgetMinutes: 0.01 });
      expect(manifest.training.epochSeconds).toHaveLength(1);
      expect(manifest.metrics.testImages).toBe(20 + 27);
      expect(JSON.parse(readFileSync(`${prefix}.json`, 'utf8'))).toEqual(manifest);
      for (const ext of ['onnx', 'pt']) expect(readFileSync(`${prefix}.${ext}`).length).toBeGreaterThan(100_000);
      expect(readdirSync(work).filter((f) => f.startsWith('.oneclass-staging'))).toEqual([]);

      const model = join(work, 'airplane.oneclass');
      const fit = await cli(
        'fit',
        '--encoder',
        `${prefix}.onnx`,
        '--dataset',
        'mvtec',
        '--data',
        data,
        '--out',
        model,
        '--detector',
        'knn',
        // One view per image, as train.py's own check (a rotation encoder's default is its four turns).
        '--views',
        'none',
        '--quiet',
      );
      expect(fit.code, fit.stderr).toBe(0);

      const scores = join(work, 'scores.csv');
      const folders = readdirSync(join(data, 'test')).map((d) => join(data, 'test', d));
      const score = await cli('score', '--model', model, '--out', scores, '--quiet', ...folders);
      expect(score.code, score.stderr).toBe(0);
      const rows = readFileSync(scores, 'utf8').trim().split('\n');
      expect(rows.length).toBe(1 + 20 + 27);

      const evaluated = await cli('eval', '--model', model, '--dataset', 'mvtec', '--data', data, '--json');
      expect(evaluated.code, evaluated.stderr).toBe(0);
      const report = JSON.parse(evaluated.stdout) as { images: number; imageAuroc: number };
      expect(report.images).toBe(47);
      // The same detector as train.py's own check (1 - max cosine similarity of pooled embeddings):
      // Node (sharp decode, ONNX Runtime) and Python (Pillow, PyTorch) agree on the AUROC.
      expect(Math.abs(report.imageAuroc - manifest.metrics.auroc.knn1)).toBeLessThan(0.02);
    });
  },
);
