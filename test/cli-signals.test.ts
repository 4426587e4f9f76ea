/**
 * Signals on the real executable (dist/cli/main.js, built by `npm run build:ts`): SIGINT and
 * SIGTERM exit 130 and leave no partial file; SIGKILL (which nothing can catch) may leave a
 * hidden temporary file or staging folder, which the next run into that folder removes. Tried at
 * seeded random points while a model file is read (score), fitted and written (fit), and while a
 * folder is localized. Skipped when dist/ has not been built.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { seededRandom } from '../src/datasets/subsample.js';
import { REPO } from './helpers.js';
import { EXAMPLES, exampleFiles, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

const MAIN = join(REPO, 'dist', 'cli', 'main.js');

describe.skipIf(!existsSync(MAIN))('oneclass executable', () => {
  it('SIGINT during fit exits 130 and leaves no partial file', async () => {
    const dir = tempDir('sigint');
    const out = join(dir, 'model.oneclass');
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'fit',
        '--encoder',
        TILE_ENCODER,
        '--train',
        join(EXAMPLES, 'train', 'good'),
        '--localize',
        '--resize',
        '512',
        '--stride',
        '16',
        '--out',
        out,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    // Listen from the start: an early exit must not be missed.
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    // Interrupt once it is working (it prints nothing before finishing, so wait a fixed time that
    // is past start-up but well before the end: 36 images x 625 patches takes tens of seconds).
    const early = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 2500))]);
    if (early) {
      expect(await exited, `exited before the signal: ${stderr}`).toBe(0);
      return; // finished before the signal on a fast machine: nothing to check
    }
    child.kill('SIGINT');
    const code = await exited;
    if (code === 0) return; // finished before the signal on a fast machine: nothing to check
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted by SIGINT/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("opts out of ONNX Runtime's telemetry: nothing in TMPDIR or ~/.cache after a run", async () => {
    const tmp = tempDir('telemetry-tmp');
    const home = tempDir('telemetry-home');
    const { ORT_DISABLE_TELEMETRY: _unset, ...env } = process.env;
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'score',
        '--model',
        join(REPO, 'test', 'fixtures', 'model', 'v1-ocsvm-knn.oneclass'),
        exampleFiles('test/good', 1)[0],
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...env, TMPDIR: tmp, HOME: home } },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code, stderr).toBe(0);
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(home)).toEqual([]);
  });

  it('prints help with exit code 0 and names the exit codes', async () => {
    const child = spawn(process.execPath, [MAIN, '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(stdout).toMatch(/Exit codes: 0 ok/);
  });
});

/** Temporary files and staging folders of oneclass, anywhere below `dir`. */
function leftovers(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (/\.tmp-|\.oneclass-staging-|^oneclass-encoder-/.test(name)) found.push(p);
    else if (statSync(p).isDirectory()) found.push(...leftovers(p));
  }
  return found;
}

/** What a run left in its temporary folder, minus ONNX Runtime's telemetry (docs/pipeline.md). */
function tmpLeftovers(tmp: string): string[] {
  return readdirSync(tmp).filter((f) => !/^mat-debug-\d+\.log$|^\.ses$/.test(f));
}

function digest(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => statSync(join(dir, f)).isFile())
      .map((f) => [
        f,
        createHash('sha256')
          .update(readFileSync(join(dir, f)))
          .digest('hex'),
      ]),
  );
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the executable; `signal` is sent after `delayMs` unless it exited first. */
function run(args: string[], tmp: string, signal?: NodeJS.Signals, delayMs = 0): Promise<Run> {
  const child = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TMPDIR: tmp },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += String(d)));
  const timer = signal ? setTimeout(() => child.kill(signal), delayMs) : undefined;
  return new Promise((resolve) =>
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ code, signal: sig, stderr });
    }),
  );
}

describe.skipIf(!existsSync(MAIN))('signals at random points during load, fit and localize', () => {
  const work = tempDir('signals');
  const model = join(work, 'model.oneclass');
  const images = join(work, 'images');
  const FAST = ['--resize', '128', '--patch-size', '64', '--stride', '32'];
  const random = seededRandom(2026);

  beforeAll(async () => {
    mkdirSync(images);
    for (const f of [...exampleFiles('test/good', 8), ...exampleFiles('test/crack', 2)])
      copyFileSync(f, join(images, f.split('/').pop()!));
    const r = await run(
      [
        'fit',
        '--encoder',
        TILE_ENCODER,
        '--train',
        join(EXAMPLES, 'train', 'good'),
        '--localize',
        ...FAST,
        '--out',
        model,
        '--quiet',
      ],
      tempDir('tmp'),
    );
    if (r.code !== 0) throw new Error(`fit failed: ${r.stderr}`);
  }, 120_000);

  const commands: Record<string, (out: string) => string[]> = {
    load: (out) => ['score', '--model', model, '--out', join(out, 'scores.csv'), images],
    fit: (out) => [
      'fit',
      '--encoder',
      TILE_ENCODER,
      '--train',
      images,
      '--localize',
      ...FAST,
      '--out',
      join(out, 'fitted.oneclass'),
      '--quiet',
    ],
    localize: (out) => ['localize', '--model', model, '--out-dir', join(out, 'maps'), '--quiet', images],
  };

  for (const [name, args] of Object.entries(commands)) {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
      it(`${signal} during ${name}: ${signal === 'SIGKILL' ? 'the next run removes what it left' : 'exit 130, earlier outputs intact, nothing left'}`, async () => {
        const out = tempDir(`sig-${name}`);
        const tmp = tempDir('tmp');
        // Earlier results of the same command, which an interrupted run must not damage.
        const first = await run(args(out), tmp);
        expect(first.code, first.stderr).toBe(0);
        const before = digest(out);
        const delay = 200 + Math.floor(random() * 2500);
        const r = await run(args(out), tmp, signal, delay);
        if (signal === 'SIGKILL') {
          // Whatever it left, the next run into the same folder cleans it up.
          const next = await run(args(out), tmp);
          expect(next.code, next.stderr).toBe(0);
        } else if (r.code !== 0) {
          expect(r.code, `${signal} after ${delay} ms: ${r.stderr}`).toBe(130);
          expect(r.stderr).toMatch(new RegExp(`interrupted by ${signal}`));
          expect(digest(out)).toEqual(before);
        }
        expect(leftovers(out)).toEqual([]);
        expect(tmpLeftovers(tmp)).toEqual([]);
      }, 120_000);
    }
  }
});
