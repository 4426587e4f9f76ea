/**
 * `oneclass train`: stage 1 from the same tool. Runs python-export/train.py (PyTorch) with the
 * command's options, after checking that the interpreter has the packages it imports, so a
 * missing PyTorch is one clear error instead of a Python traceback. The trainer writes into a
 * staging folder beside --out; PREFIX.onnx, PREFIX.json and PREFIX.pt appear only when training
 * succeeded (an interrupted or failed run leaves earlier files of that name untouched).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { OneclassError } from '../../errors.js';
import { Staging } from '../../pipeline/atomic.js';
import { choice, CliUsageError, type ParsedCommandLine, str } from '../args.js';
import { checkOutputFile } from '../common.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { interrupted } from '../run.js';

export const PYTHON_EXPORT_DIR = fileURLToPath(new URL('../../../python-export/', import.meta.url));

/** Options given to train.py under the same name (the trainer validates their values). */
const PASSED_THROUGH = [
  'method',
  'normal-class',
  'train-limit',
  'test-limit',
  'colour',
  'alpha',
  'background',
  'image-size',
  'patch',
  'width',
  'proj-dim',
  'epochs',
  'batch-size',
  'lr',
  'weight-decay',
  'budget-minutes',
  'seed',
  'threads',
  'precision',
  'channels-last',
  'prefetch',
] as const;

/** The modules python-export imports, with the Debian package that provides each. */
const PYTHON_MODULES: readonly [module: string, debianPackage: string][] = [
  ['numpy', 'python3-numpy'],
  ['PIL', 'python3-pil'],
  ['torch', 'python3-torch'],
  ['torchvision', 'python3-torchvision'],
  ['onnx', 'python3-onnx'],
  ['sklearn', 'python3-sklearn'],
];

/** --python, else $ONECLASS_PYTHON, else Debian's interpreter (TOOLCHAIN.md), else python3 on PATH. */
function pythonInterpreter(values: ParsedCommandLine['values']): string {
  return (
    str(values, 'python') ??
    process.env.ONECLASS_PYTHON ??
    (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3')
  );
}

/** Throws ERR_BACKEND_UNAVAILABLE naming the interpreter or the missing packages. */
export function checkPython(python: string): void {
  const probe = [
    'import importlib.util, json',
    `mods = ${JSON.stringify(PYTHON_MODULES.map(([m]) => m))}`,
    'print(json.dumps([m for m in mods if importlib.util.find_spec(m) is None]))',
  ].join('\n');
  const r = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    throw new OneclassError(
      'ERR_BACKEND_UNAVAILABLE',
      `Cannot run Python '${python}' (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): training needs ` +
        'Python 3 with PyTorch; give its path with --python or ONECLASS_PYTHON',
      { path: '--python' },
    );
  }
  let missing: string[];
  try {
    missing = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as string[];
  } catch {
    throw new OneclassError(
      'ERR_BACKEND_UNAVAILABLE',
      `'${python}' is not a usable Python 3 interpreter: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`,
      { path: '--python' },
    );
  }
  if (missing.length > 0) {
    const packages = PYTHON_MODULES.filter(([m]) => missing.includes(m)).map(([, p]) => p);
    throw new OneclassError(
      'ERR_BACKEND_UNAVAILABLE',
      `Training needs Python packages that '${python}' does not have: ${missing.join(', ')}. ` +
        `On Debian or Ubuntu: sudo apt-get install -y ${packages.join(' ')} ` +
        '(or give --python PATH for an interpreter that has them)',
      { path: '--python' },
    );
  }
}

function existingFolder(dir: string, flag: string): string {
  const s = statSync(dir, { throwIfNoEntry: false });
  if (!s?.isDirectory()) throw new CliUsageError(`${flag} ${dir} is not a folder`, flag);
  return path.resolve(dir);
}

/** The training data as train.py's --data / --train-dir / --mvtec-dir / --data-root. */
function dataArguments(values: ParsedCommandLine['values']): string[] {
  const train = str(values, 'train');
  const kind = choice(values, 'dataset', ['mvtec', 'cifar10', 'fashion-mnist'] as const);
  if (train && kind) throw new CliUsageError('Give either --train or --dataset/--data, not both');
  if (train) return ['--data', 'folder', '--train-dir', existingFolder(train, '--train')];
  if (!kind) throw new CliUsageError('Missing training images: give --train DIR or --dataset KIND --data DIR');
  const data = existingFolder(str(values, 'data', true), '--data');
  return kind === 'mvtec' ? ['--data', 'mvtec', '--mvtec-dir', data] : ['--data', kind, '--data-root', data];
}

/** Runs train.py, its messages to stderr (unless quiet); resolves with its exit code or signal. */
function runTrainer(
  python: string,
  args: string[],
  ctx: CliContext,
  quiet: boolean,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; lastLine: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [path.join(PYTHON_EXPORT_DIR, 'train.py'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Keeps PyTorch's OpenMP threads from spinning while the other core is busy (TOOLCHAIN.md).
      env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env },
    });
    let tail = '';
    const forward = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4000);
      if (!quiet) ctx.stderr.write(text);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    // The CLI's signal handler ends this process; the trainer must not outlive it.
    const stop = () => child.kill('SIGTERM');
    process.once('exit', stop);
    child.on('error', (error) => {
      process.off('exit', stop);
      reject(error);
    });
    child.on('close', (code, signal) => {
      process.off('exit', stop);
      const lines = tail.trim().split('\n');
      resolve({ code, signal, lastLine: lines[lines.length - 1] ?? '' });
    });
  });
}

/** The command as the user gave it (options in the table's order), for the manifest's provenance. */
function commandLine(values: ParsedCommandLine['values']): string {
  const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", "'\\''")}'`);
  const parts = ['oneclass', 'train'];
  for (const [flag, v] of Object.entries(values)) {
    if (v === undefined || v === false || flag === 'quiet' || flag === 'json') continue;
    parts.push(`--${flag}`);
    if (v !== true) parts.push(quote(String(v)));
  }
  return parts.join(' ');
}

export async function trainCommand(args: ParsedCommandLine, ctx: CliContext): Promise<number> {
  const { values } = args;
  str(values, 'method', true);
  const out = path.resolve(str(values, 'out', true));
  const name = path.basename(out);
  const files = [`${name}.onnx`, `${name}.json`, `${name}.pt`];
  for (const f of files) await checkOutputFile(path.join(path.dirname(out), f), '--out');
  const data = dataArguments(values);
  const python = pythonInterpreter(values);
  checkPython(python);

  const passed: string[] = [];
  for (const flag of PASSED_THROUGH) {
    const v = str(values, flag);
    if (v !== undefined) passed.push(`--${flag}`, v);
  }
  const staging = await Staging.create(path.dirname(out));
  try {
    const trainerArgs = [
      ...data,
      ...passed,
      '--out',
      path.join(staging.dir, name),
      '--checkpoint',
      staging.file(`${name}.pt`),
    ];
    ctx.info(`training with ${python} ${path.join(PYTHON_EXPORT_DIR, 'train.py')} ${trainerArgs.join(' ')}`);
    const r = await runTrainer(python, trainerArgs, ctx, ctx.quiet || ctx.json);
    if (r.signal || interrupted()) return EXIT.INTERRUPTED;
    if (r.code === 2) throw new CliUsageError(`train.py refused the options: ${r.lastLine}`);
    if (r.code !== 0) {
      throw new OneclassError('ERR_INVALID_ARGUMENT', `Training failed (train.py exited ${r.code}): ${r.lastLine}`);
    }
    const manifestFile = staging.file(`${name}.json`);
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
      training?: Record<string, unknown>;
      metrics?: { auroc?: unknown };
    };
    // train.py recorded its own command line, with the staging paths; the user ran this one.
    if (manifest.training) {
      manifest.training.command = commandLine(values);
      writeFileSync(manifestFile, JSON.stringify(manifest, null, 2) + '\n');
    }
    await staging.publish(files);
    if (ctx.json) ctx.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
    else
      ctx.info(
        `wrote ${out}.onnx, ${out}.json and ${out}.pt; test AUROC ${JSON.stringify(manifest.metrics?.auroc ?? null)}`,
      );
    return EXIT.OK;
  } finally {
    await staging.discard();
  }
}
