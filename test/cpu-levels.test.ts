/**
 * The CPU levels (issue 18): every op of the addon gives the same results, within the tolerance
 * table, at each level this CPU runs as at the baseline level; levels it cannot run are refused
 * with a coded error, and skipped here with the features the CPU lacks. The addon chooses its level
 * once per process, so each level runs in a child process (test/fixtures/cpu-levels/ops.mjs) with
 * ONECLASS_CPU_LEVEL set, on the same addon file this suite loaded.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { backendInfo } from '../src/index.js';
import { FIXTURES } from './helpers.js';
import { TOLERANCES, toleranceRatio } from './tolerances.js';

const SCRIPT = join(FIXTURES, 'cpu-levels', 'ops.mjs');
const info = backendInfo();

type Results = Record<string, any>;

function runAt(level: string): Promise<Results> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT], {
      env: { ...process.env, ONECLASS_CPU_LEVEL: level, ONECLASS_ADDON: info.addon.path },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`ops.mjs at ${level} exited with ${code}: ${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop() as string) as Results);
    });
  });
}

describe('CPU levels', () => {
  const levels = info.cpu.levels;
  const base = levels[0].name;

  it('backendInfo names the chosen level, why, and every compiled level', () => {
    expect(levels.length).toBeGreaterThanOrEqual(1);
    expect(info.cpu.levelReason).toMatch(/\S/);
    const requested = process.env.ONECLASS_CPU_LEVEL;
    const supported = levels.filter((l) => l.supported).map((l) => l.name);
    if (!requested || requested === 'auto') expect(info.cpu.level).toBe(supported[supported.length - 1]);
    else expect(info.cpu.level).toBe(requested);
    for (const l of levels) expect(l.supported).toBe(l.missing.length === 0);
  });

  it('a level name this build lacks is refused, and CPU ops fail with ERR_BACKEND_UNAVAILABLE', async () => {
    const r = await runAt('no-such-level');
    expect(r.cpu.level).toBeNull();
    expect(r.cpu.levelError).toMatch(/ONECLASS_CPU_LEVEL='no-such-level' is not a CPU level of this build/);
    expect(r.rejected.code).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(r.rejected.message).toContain('no-such-level');
  });

  for (const level of levels.slice(1)) {
    it.skipIf(!level.supported)(
      `${level.name} gives the ${base} level's results (${level.supported ? 'runs here' : `this CPU lacks ${level.missing.join(', ')}`})`,
      async () => {
        const [a, b] = await Promise.all([runAt(level.name), runAt(base)]);
        expect(a.cpu.level).toBe(level.name);
        expect(b.cpu.level).toBe(base);
        const within = (name: string, tol: { atol: number; rtol: number }) =>
          expect(toleranceRatio(a[name], b[name], tol), name).toBeLessThanOrEqual(1);
        within('kde', TOLERANCES.kdeLogDensity);
        within('kdeWeighted', TOLERANCES.kdeLogDensity);
        expect(a.knnIndices).toEqual(b.knnIndices);
        within('knnDistances', TOLERANCES.knnDistance);
        within('kernelSum', TOLERANCES.kernelSumLevels);
        within('kernelRows', TOLERANCES.kernelRowsLevels);
        within('covariance', TOLERANCES.gdeCovariance);
        within('mahalanobis', TOLERANCES.gdeScore);
        within('heatmaps', TOLERANCES.heatmap);
        expect(Math.abs(a.ocsvm.objective - b.ocsvm.objective) / Math.abs(b.ocsvm.objective)).toBeLessThanOrEqual(1e-5);
      },
    );
    it.skipIf(level.supported)(`${level.name} is refused on this CPU, naming what it lacks`, async () => {
      const r = await runAt(level.name);
      expect(r.cpu.level).toBeNull();
      expect(r.cpu.levelError).toContain(level.missing[0]);
      expect(r.rejected.code).toBe('ERR_BACKEND_UNAVAILABLE');
    });
  }
});
