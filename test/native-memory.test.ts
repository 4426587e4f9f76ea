/**
 * Native calls own what they read and write while they run (issue 11): a caller that transfers an
 * input's ArrayBuffer to a worker, or resizes a resizable ArrayBuffer to 0, while a call is
 * pending gets the result of an untouched call; one that takes away a caller-owned output gets a
 * coded error and nothing written. Before the fix, both killed the process with SIGSEGV, so the
 * hostile calls run in a child process (test/fixtures/native-memory/hostile-calls.mjs) and this
 * suite checks that it survived and what each call answered. Arrays over a SharedArrayBuffer,
 * read and written in place, give the same results.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { FIXTURES } from './helpers.js';

const SCRIPT = join(FIXTURES, 'native-memory', 'hostile-calls.mjs');
const OPS = [
  'kernelLogSum',
  'nearest',
  'projectedSquaredNorm',
  'kernelWeightedSum',
  'kernelRows',
  'prepare',
  'columnStats',
  'fitGaussian',
  'factorGaussian',
  'fitOneClassSvm',
  'upsample grids',
  'preprocessImage pixels',
  'preprocessPatches pixels',
  'upsample out',
  'preprocessImage out',
];

function runChild(mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stdout += String(d)));
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout }));
  });
}

describe('native calls survive their memory being taken away', () => {
  for (const mode of ['transfer', 'resize', 'shared']) {
    const what =
      mode === 'transfer'
        ? 'transferred to a worker that exits'
        : mode === 'resize'
          ? 'resized to 0'
          : 'shared (SharedArrayBuffer) with a worker that exits';
    it(`buffers ${what} during pending calls`, async () => {
      const { code, signal, stdout } = await runChild(mode);
      expect(signal, stdout).toBeNull();
      expect(code, stdout).toBe(0);
      const lines = stdout.trim().split('\n');
      expect(lines.at(-1)).toBe('done');
      for (const op of OPS) expect(lines, stdout).toContain(`${op} ok`);
    });
  }
});
