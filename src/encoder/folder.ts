/** Embedding every image of a folder (or a list of files) in a stable order. */
import { readdir } from 'node:fs/promises';
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

/** Image files of a folder, sorted by path (byte order, so the row order does not depend on locale). */
export async function listImageFiles(folder: string, recursive = false): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true, recursive });
  } catch (cause) {
    throw invalidInput(folder, `Cannot list image folder ${folder}: ${(cause as Error).message}`, cause);
  }
  return entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase()))
    .map((e) => path.join(e.parentPath ?? folder, e.name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
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
