/**
 * Ctrl-C on the real executable (dist/cli/main.js, built by `npm run build:ts`): exit code 130,
 * and no model file or temporary file left behind. Skipped when dist/ has not been built.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { REPO } from './helpers.js';
import { EXAMPLES, TILE_ENCODER, tempDir } from './fixtures/eval/pipeline-helpers.js';

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

  it('prints help with exit code 0 and names the exit codes', async () => {
    const child = spawn(process.execPath, [MAIN, '--help'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(stdout).toMatch(/Exit codes: 0 ok/);
  });
});
