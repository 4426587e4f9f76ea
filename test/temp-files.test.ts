/**
 * Temporary paths (src/pipeline/atomic.ts): what a process killed mid-write leaves (SIGKILL during a
 * save: a hidden .tmp- file; during localize: a staging folder) is removed by the next write into
 * that folder when its process is gone, and kept while it lives or when another machine made it;
 * a failed write names its target, never the temporary file.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { removePendingTempFiles, Staging, writeFileAtomic } from '../src/pipeline/atomic.js';
import { tempDir } from './fixtures/eval/pipeline-helpers.js';

const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** The id of a process that has exited. */
function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  );
}

describe('temporary paths left by killed processes', () => {
  it('the next write into the folder removes those of dead processes of this machine, and only those', async () => {
    const dir = tempDir('stale');
    const dead = deadPid();
    const staleFile = `.model.oneclass.tmp-${HOST}-${dead}-0badc0de`;
    const staleStaging = `.oneclass-staging-${HOST}-${dead}-0badc0de`;
    const living = `.model.oneclass.tmp-${HOST}-${process.ppid}-0badc0de`;
    const otherHost = `.model.oneclass.tmp-${HOST === '00000000' ? '11111111' : '00000000'}-${dead}-0badc0de`;
    const mine = '.model.oneclass.tmp-notes';
    for (const f of [staleFile, living, otherHost, mine]) writeFileSync(join(dir, f), 'x');
    mkdirSync(join(dir, staleStaging));
    writeFileSync(join(dir, staleStaging, 'a_heatmap.png'), 'x');
    await writeFileAtomic(join(dir, 'model.oneclass'), 'new');
    expect(readdirSync(dir).sort()).toEqual([mine, living, otherHost, 'model.oneclass'].sort());
  });

  it('a failed write names its target and leaves no temporary file', async () => {
    const dir = tempDir('failed');
    await expect(writeFileAtomic(join(dir, 'missing', 'out.csv'), 'x')).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/^Cannot write .*missing\/out\.csv: the folder .*missing does not exist$/),
    });
    mkdirSync(join(dir, 'out.csv'));
    await expect(writeFileAtomic(join(dir, 'out.csv'), 'x')).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(readdirSync(dir)).toEqual(['out.csv']);
  });

  it('a staging folder is removed when discarded, and by removePendingTempFiles (the signal handler)', async () => {
    const dir = tempDir('staging');
    const a = await Staging.create(dir);
    writeFileSync(a.file('x_heatmap.png'), 'x');
    await a.discard();
    const b = await Staging.create(dir);
    writeFileSync(b.file('x_heatmap.png'), 'x');
    expect(removePendingTempFiles()).toEqual([b.dir]);
    expect(existsSync(b.dir)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
