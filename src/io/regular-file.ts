/**
 * Reading a file whose path came from someone else (a model file, the encoder a model file
 * references) without trusting the path: only a regular file is read, never a device, a FIFO or
 * a folder (/dev/zero read as a model grew to 16 GB of memory in 60 s), and never more bytes than
 * the caller's limit. The kind and size are taken from the open descriptor, so the path cannot
 * be swapped between the check and the read; the open does not wait for a FIFO's writer.
 */
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

import { modelFormat } from '../errors.js';

export interface RegularFile {
  handle: FileHandle;
  size: number;
}

function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Opens `file` (symbolic links followed) when it is a regular file of at most `maxBytes`;
 * otherwise ERR_MODEL_FORMAT naming `what` and the reason. The caller closes the handle.
 */
export async function openRegularFile(file: string, what: string, maxBytes: number): Promise<RegularFile> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'not found'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ELOOP'
            ? 'a loop of symbolic links'
            : (cause as Error).message;
    throw modelFormat(file, `Cannot read ${what} ${file}: ${why}`, cause);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw modelFormat(file, `Cannot read ${what} ${file}: it is ${kindOf(st)}, not a regular file`);
    if (st.size > maxBytes)
      throw modelFormat(file, `Cannot read ${what} ${file}: ${st.size} bytes, more than the limit of ${maxBytes}`);
    return { handle, size: st.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** Exactly `length` bytes from `position` (a file that shrank meanwhile is an error, not a short read). */
export async function readExactly(
  handle: FileHandle,
  length: number,
  position: number,
  describe: () => string,
): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw modelFormat(undefined, `${describe()}: the file ended after ${done} of ${length} bytes`);
    done += bytesRead;
  }
  return out;
}
