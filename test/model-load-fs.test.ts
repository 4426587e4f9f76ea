/**
 * Loading a model file touches the filesystem only to read that file: the embedded ONNX encoder
 * goes to ONNX Runtime from memory (Encoder.fromBytes), never through a temporary file.
 *
 * Observed from outside, in a child process (test/fixtures/child/load-model.ts) with its own empty
 * TMPDIR: (1) nothing appears in TMPDIR while the model loads (fs.watch, always run); (2) under
 * strace, the system calls between the two markers around Detector.load create, write, rename or
 * delete nothing, and open nothing but the model file, /proc, /sys, /dev files and code (the
 * encoder's worker thread loads its modules) (skipped where strace is not installed). The loaded model scores as it does in this process. The child loads
 * code and starts ONNX Runtime before the window (see the child for why).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { Detector } from '../src/pipeline/detector.js';
import { FIXTURES, REPO } from './helpers.js';
import { CIFAR_ENCODER, exampleFiles, tempDir } from './fixtures/eval/pipeline-helpers.js';

const MODEL = join(FIXTURES, 'model', 'v1-ocsvm-knn.oneclass');
const IMAGE = exampleFiles('test/crack', 1)[0];
const CHILD = ['--import', './test/fixtures/child/ts-loader.mjs', './test/fixtures/child/load-model.ts'];
const hasStrace = spawnSync('strace', ['-V']).status === 0;

interface ChildReport {
  raw: number;
  tmpdirEvents: string[];
}

function runChild(prefix: string[] = []): ChildReport {
  const tmp = tempDir('load-tmpdir');
  const [command, ...args] = [...prefix, process.execPath, ...CHILD, MODEL, IMAGE, CIFAR_ENCODER];
  const r = spawnSync(command, args, { cwd: REPO, env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' });
  // The child's TMPDIR also holds ONNX Runtime's telemetry files of its warm-up session.
  rmSync(tmp, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildReport;
}

let expectedRaw: number;
beforeAll(async () => {
  const det = await Detector.load(MODEL, { device: 'cpu' });
  expectedRaw = (await det.score([IMAGE])).items[0].raw;
  await det.release();
});

describe('Detector.load reads the model file and nothing else', () => {
  it('writes nothing to TMPDIR (an embedded encoder is not unpacked to a temporary file)', () => {
    const report = runChild();
    expect(report.tmpdirEvents).toEqual([]);
    expect(report.raw).toBe(expectedRaw);
  });

  describe.skipIf(!hasStrace)('system calls while loading (strace)', () => {
    let window: string[];
    beforeAll(() => {
      const dir = tempDir('load-strace');
      const log = join(dir, 'load.strace');
      const report = runChild(['strace', '-f', '-qq', '-e', 'trace=%file', '-o', log]);
      expect(report.raw).toBe(expectedRaw);
      const lines = readFileSync(log, 'utf8').split('\n');
      rmSync(dir, { recursive: true, force: true });
      const begin = lines.findIndex((l) => l.includes('/oneclass-trace-mark-load-begin'));
      const end = lines.findIndex((l) => l.includes('/oneclass-trace-mark-load-end'));
      expect(begin, 'markers found in the strace log').toBeGreaterThanOrEqual(0);
      window = lines.slice(begin + 1, end);
    });
    /** The first quoted path of a syscall line, resolved against the repository (the child's cwd). */
    const pathOf = (line: string) => {
      const m = /^\d+\s+\w+\((?:AT_FDCWD, |\d+, )?"([^"]*)"/.exec(line);
      return m ? (m[1].startsWith('/') ? m[1] : join(REPO, m[1])) : null;
    };
    const syscallOf = (line: string) => /^\d+\s+(\w+)\(/.exec(line)?.[1] ?? null;

    it('creates, writes, renames and deletes nothing', () => {
      const modifying =
        /^(mkdir|mkdirat|rmdir|unlink|unlinkat|rename|renameat2?|creat|link|linkat|symlink|symlinkat|truncate|chmod|fchmodat|chown|fchownat|lchown|utimensat|mknod|mknodat)$/;
      const writes = window.filter((l) => {
        const call = syscallOf(l);
        if (!call) return false;
        if (modifying.test(call)) return true;
        return /^open/.test(call) && /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(l);
      });
      expect(writes).toEqual([]);
    });

    it('opens only the model file, kernel pseudo-files and code', () => {
      // The encoder's worker thread starts while the model loads (src/encoder/inference-pool.ts) and
      // loads its code: modules, package.json files, shared libraries. No data file (an image, an
      // .onnx model, a manifest) but the model file.
      const code = (p: string) =>
        p === process.execPath || /\/package\.json$|\.(m?js|cjs|ts|node)$|\.so(\.\d+)*$/.test(p);
      const allowed = (p: string) => p === MODEL || /^\/(proc|sys|dev)\//.test(p) || code(p);
      const opened = window
        .filter((l) => /^open/.test(syscallOf(l) ?? '') && !/= -1 ENOENT/.test(l))
        .map(pathOf)
        .filter((p): p is string => p !== null);
      expect(opened).toContain(MODEL);
      expect(opened.filter((p) => !allowed(p))).toEqual([]);
    });
  });
});
