/** Embedding every image of a folder (or a list of files) in a stable order. */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

import { invalidArgument, invalidInput } from '../errors.js';
import type { Matrix } from '../validate.js';
import type { Encoder } from './encoder.js';
import type { EmbedOptions } from './options.js';

/** Extensions sharp decodes that image datasets use. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif'];

export interface FolderOptions extends EmbedOptions {
  /** Descend into subfolders (default false). */
  readonly recursive?: boolean;
}

/**
 * Image files of a folder, sorted by path (byte order, so the row order does not depend on locale).
 * Symbolic links are followed: a link to an image is listed under the link's path, a link to a
 * folder is walked when `recursive` (each real folder once, so a link back to a parent cannot
 * loop), and a broken link with an image extension is listed so that decoding reports it instead
 * of the image vanishing without a word.
 */
export async function listImageFiles(folder: string, recursive = false): Promise<string[]> {
  const found: string[] = [];
  const walked = new Set<string>();
  const isImage = (name: string) => IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
  const walk = async (dir: string): Promise<void> => {
    let entries;
    let real;
    try {
      real = await realpath(dir);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (cause) {
      throw invalidInput(dir, `Cannot list image folder ${dir}: ${(cause as Error).message}`, cause);
    }
    if (walked.has(real)) return;
    walked.add(real);
    for (const e of entries) {
      const file = path.join(dir, e.name);
      let kind: 'file' | 'folder' | 'other' | 'broken' = e.isFile() ? 'file' : e.isDirectory() ? 'folder' : 'other';
      if (e.isSymbolicLink()) {
        const target = await stat(file).catch(() => null);
        kind = !target ? 'broken' : target.isFile() ? 'file' : target.isDirectory() ? 'folder' : 'other';
      }
      if (kind === 'folder' && recursive) await walk(file);
      else if ((kind === 'file' || kind === 'broken') && isImage(e.name)) found.push(file);
    }
  };
  await walk(folder);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Embeds a folder's images (or the given list of files). Row i of `embeddings` is `files[i]`.
 */
export async function embedFolder(
  encoder: Encoder,
  folderOrFiles: string | readonly string[],
  options: FolderOptions = {},
): Promise<{ files: string[]; embeddings: Matrix }> {
  let files: string[];
  if (typeof folderOrFiles === 'string') {
    files = await listImageFiles(folderOrFiles, options.recursive ?? false);
  } else if (Array.isArray(folderOrFiles) && folderOrFiles.every((f) => typeof f === 'string')) {
    files = [...folderOrFiles];
  } else {
    throw invalidArgument('folderOrFiles', 'a folder path or an array of file paths', folderOrFiles);
  }
  const { recursive: _recursive, ...embedOptions } = options;
  return { files, embeddings: await encoder.embed(files, embedOptions) };
}
