// Image folders the user drops or picks become labelled images: the class of a file is the folder it sits in.

import type { ImageEntry } from './messages.js';

/** A file with its path relative to what was dropped or picked ('food/apple_pie/1.jpg'). */
export interface PathedFile {
  path: string;
  file: File;
}

/** What a drop or pick gave: images by class, and the files left out with the reason. */
export interface CollectedImages {
  images: ImageEntry[];
  skipped: { path: string; reason: string }[];
}

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp']);
const IMAGE_EXT = /\.(jpe?g|png|webp|gif|bmp)$/i;

/** Whether the browser says (by type, else by extension) that a file is an image Chromium decodes. */
export function looksLikeImage(file: File): boolean {
  return file.type ? IMAGE_TYPES.has(file.type) : IMAGE_EXT.test(file.name);
}

/** Labels each image by its parent folder; loose files and non-images are listed as skipped. */
export function labelByFolder(files: readonly PathedFile[]): CollectedImages {
  const images: ImageEntry[] = [];
  const skipped: CollectedImages['skipped'] = [];
  for (const { path, file } of files) {
    const parts = path.split('/').filter(Boolean);
    if (parts.some((p) => p.startsWith('.'))) continue; // NOTE: hidden files (.DS_Store) are not the user's images
    if (!looksLikeImage(file)) skipped.push({ path, reason: `not an image (${file.type || 'unknown type'})` });
    else if (parts.length < 2) skipped.push({ path, reason: 'not inside a class folder' });
    else images.push({ name: path, label: parts[parts.length - 2]!, blob: file });
  }
  images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { images, skipped };
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const out: FileSystemEntry[] = [];
    // NOTE: readEntries returns at most 100 entries per call; an empty batch means the end.
    const next = (): void => reader.readEntries((batch) => {
      if (batch.length === 0) return resolve(out);
      out.push(...batch);
      next();
    }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, prefix: string, out: PathedFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    out.push({ path, file });
  } else if (entry.isDirectory) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) await walk(child, path, out);
  }
}

/** Every file of a drop, folders walked recursively, with paths relative to the drop. */
export async function filesFromDrop(dt: DataTransfer): Promise<PathedFile[]> {
  // NOTE: the entries must be taken synchronously, before the first await, or the DataTransfer is emptied.
  const entries = Array.from(dt.items).map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  const out: PathedFile[] = [];
  if (entries.length === 0) return Array.from(dt.files).map((file) => ({ path: file.name, file }));
  for (const e of entries) await walk(e, '', out);
  return out;
}

/** Every file of an `<input type=file webkitdirectory>` pick, with its relative path. */
export function filesFromPicker(list: FileList): PathedFile[] {
  return Array.from(list).map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}
