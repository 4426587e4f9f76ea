/**
 * Atomic file output: write a temporary file beside the target, fsync, then rename over it, so a
 * reader (or a crash, or Ctrl-C) never sees a half-written file and a failed run leaves any
 * previous file untouched. Temporary files in flight are tracked so a signal handler can remove
 * them (see removePendingTempFiles, used by the CLI's SIGINT handler).
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

const pending = new Set<string>();

export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  pending.add(temp);
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
    throw error;
  } finally {
    pending.delete(temp);
  }
}

/** Synchronously removes temporary files of writes still in flight (for signal handlers). */
export function removePendingTempFiles(): string[] {
  const removed: string[] = [];
  for (const temp of pending) {
    try {
      unlinkSync(temp);
      removed.push(temp);
    } catch {
      // Already renamed or never created.
    }
  }
  pending.clear();
  return removed;
}
