/**
 * Outputs that are complete or absent, never half-written, and temporary paths that do not
 * outlive the process that made them.
 *
 * - writeFileAtomic: a temporary file beside the target, fsync, rename over it: a reader (or a
 *   crash, or Ctrl-C) never sees a half-written file and a failed write leaves any previous file
 *   untouched.
 * - Staging: a private folder inside an output folder where a run writes all its files; they are
 *   renamed into the output folder only when the run succeeded (`oneclass localize`).
 *
 * Every temporary path is registered while it exists and removed on every way out: the write's
 * own error path, a signal (removePendingTempFiles from the CLI's handler), process exit (an
 * 'exit' hook). What none of them can see, a SIGKILL or a power cut, leaves a hidden temporary
 * path whose name carries this machine and the process id; the next write into that folder
 * removes those whose process is gone (removeStaleTemps).
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

import { OneclassError } from '../errors.js';

/** Temporary files and staging folders in flight. */
const pending = new Set<string>();
/** Folders already swept for stale temporary paths by this process. */
const swept = new Set<string>();
let stopped = false;
let exitHook = false;

/** Names this machine in temporary names, so one machine never removes another's (shared folders). */
const HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** `.<name>.tmp-<host>-<pid>-<random>` and `.oneclass-staging-<host>-<pid>-<random>`. */
const TEMP_NAME = /^\.(?:.+\.tmp|oneclass-staging)-([0-9a-f]{8})-(\d+)-[0-9a-f]{8}$/;

function tempSuffix(): string {
  return `${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function track(temp: string): void {
  if (stopped) {
    throw new OneclassError('ERR_INTERNAL', 'Interrupted: no new output is written while the process exits', {
      path: temp,
    });
  }
  if (!exitHook) {
    exitHook = true;
    // Runs on process.exit and on a normal end, after any error; not on SIGKILL (see above).
    process.once('exit', () => removePendingTempFiles());
  }
  pending.add(temp);
}

/**
 * The error of a failed write names what the caller asked for (`target`, in `folder`), never the
 * temporary path (which no longer exists).
 */
function writeError(target: string, folder: string, cause: unknown): OneclassError {
  const e = cause as NodeJS.ErrnoException;
  if (e instanceof OneclassError) return e;
  const why =
    e?.code === 'ENOENT'
      ? `the folder ${folder} does not exist`
      : e?.code === 'EACCES' || e?.code === 'EPERM' || e?.code === 'EROFS'
        ? `permission denied in ${folder}`
        : e?.code === 'EISDIR'
          ? 'it is a folder'
          : e?.code === 'ENOSPC'
            ? 'no space left on the device'
            : (e?.message ?? String(cause));
  return new OneclassError('ERR_INVALID_ARGUMENT', `Cannot write ${target}: ${why}`, { path: target, cause });
}

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await removeStaleTemps(dir);
  const temp = path.join(dir, `.${path.basename(file)}.tmp-${tempSuffix()}`);
  track(temp);
  try {
    const handle = await open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw writeError(file, dir, error);
  } finally {
    pending.delete(temp);
  }
}

/**
 * A private folder inside `outDir` (same filesystem, so publishing is a rename per file) where a
 * run writes its files; nothing in `outDir` changes until publish().
 */
export class Staging {
  private constructor(
    readonly outDir: string,
    readonly dir: string,
  ) {}

  static async create(outDir: string): Promise<Staging> {
    await removeStaleTemps(outDir);
    const dir = path.join(outDir, `.oneclass-staging-${tempSuffix()}`);
    track(dir);
    try {
      await mkdir(dir);
    } catch (error) {
      pending.delete(dir);
      throw writeError(`into ${outDir}`, outDir, error);
    }
    return new Staging(outDir, dir);
  }

  /** Where a file named `name` is written during the run. */
  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** Moves staged files (`names`, in that order) into the output folder, replacing files of the same name. */
  async publish(names: readonly string[]): Promise<void> {
    for (const name of names) {
      if (stopped) throw new OneclassError('ERR_INTERNAL', 'Interrupted: the results were not published');
      await rename(this.file(name), path.join(this.outDir, name));
    }
  }

  /** Removes the staging folder and whatever is still in it (a failed or interrupted run). */
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    pending.delete(this.dir);
  }
}

/**
 * Synchronously removes temporary files and staging folders still in flight (for signal
 * handlers and process exit); returns what it removed.
 */
export function removePendingTempFiles(): string[] {
  const removed: string[] = [];
  for (const temp of pending) {
    try {
      rmSync(temp, { recursive: true });
      removed.push(temp);
    } catch {
      // Already renamed, or never created.
    }
  }
  pending.clear();
  return removed;
}

/** After a signal: every later attempt to create a temporary path or publish fails instead. */
export function stopWrites(): void {
  stopped = true;
}

function processIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes, once per folder and process, temporary files and staging folders left in `dir` by
 * processes of this machine that no longer exist (killed mid-write). Returns what it removed.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const folder = path.resolve(dir);
  if (swept.has(folder)) return [];
  swept.add(folder);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || m[1] !== HOST) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || !processIsGone(pid)) continue;
    const stale = path.join(folder, name);
    await rm(stale, { recursive: true, force: true }).catch(() => undefined);
    removed.push(stale);
  }
  return removed;
}
