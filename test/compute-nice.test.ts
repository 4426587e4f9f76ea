/**
 * The threads that run native calls lower their own priority (native/core/include/oneclass/
 * thread_priority.h): ONECLASS_COMPUTE_NICE, default 10, read once per process, so each case runs
 * in a child process that loads the addon, makes one threaded native call and reports every
 * thread's nice value.
 */
import { spawnSync } from 'node:child_process';
import { getPriority } from 'node:os';

import { describe, expect, it } from 'vitest';

import { locateAddon } from '../src/native.js';

const CHILD = `
const { readdirSync, readFileSync } = require('node:fs');
const addon = require(${JSON.stringify(locateAddon().path)});
(async () => {
  const grids = { data: new Float32Array(4 * 8 * 8).fill(1), batch: 4, height: 8, width: 8 };
  const options = { mode: 'bilinear', height: 64, width: 64, sigma: 2, device: 'cpu', threads: 2 };
  for (let i = 0; i < 4; i++) await addon.upsample(grids, options);
  const nices = {};
  for (const tid of readdirSync('/proc/self/task')) {
    const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
    nices[tid] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  }
  console.log(JSON.stringify({ pid: process.pid, nices }));
})();
`;

function childNices(env: string | undefined): { js: number; others: number[] } {
  const childEnv = { ...process.env };
  delete childEnv.ONECLASS_COMPUTE_NICE;
  if (env !== undefined) childEnv.ONECLASS_COMPUTE_NICE = env;
  const r = spawnSync(process.execPath, ['-e', CHILD], { encoding: 'utf8', env: childEnv });
  expect(r.stderr).toBe('');
  const { pid, nices } = JSON.parse(r.stdout) as { pid: number; nices: Record<string, number> };
  return {
    js: nices[String(pid)],
    others: Object.entries(nices)
      .filter(([tid]) => tid !== String(pid))
      .map(([, n]) => n),
  };
}

describe.runIf(process.platform === 'linux')('native compute threads yield the CPU to the JS thread', () => {
  const own = getPriority(0);
  it.each([
    [undefined, 10],
    ['3', 3],
    ['0', 0],
    ['not a number', 10],
  ])('ONECLASS_COMPUTE_NICE=%s: the threads that ran the call at nice +%s, the JS thread at its own', (env, raise) => {
    const { js, others } = childNices(env);
    expect(js).toBe(own);
    const lowered = others.filter((n) => n === Math.min(19, own + raise));
    // The libuv worker that ran the calls and the parallel loop's helper thread.
    expect(lowered.length).toBeGreaterThanOrEqual(raise === 0 ? others.length : 2);
    if (raise > 0) expect(others.filter((n) => n === own).length).toBeGreaterThan(0); // V8's and idle libuv threads
  });
});
