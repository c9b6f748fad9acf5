// Indexing a class-folder tree the way Keras does: one label per subfolder (sorted names), images found recursively.

import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

/** File extensions read as images (case-insensitive). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.gif'];

/** Every image under a class-folder tree, in Keras' order: by class, then by folder path, then by file name. */
export interface ImageIndex {
  /** Absolute file paths. */
  paths: string[];
  /** Class index of each path. */
  labels: number[];
  /** Class folder names; the label of a file is its folder's index here. */
  classNames: string[];
}

/** How the tree is read. */
export interface IndexOptions {
  /** Explicit classes (folder names) and their order; default: every subfolder, sorted. */
  classNames?: readonly string[];
  /** Descend into symbolically linked folders below the class folders (default false, as in Keras). */
  followLinks?: boolean;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

const isImage = (name: string) => IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

/** Collects [folder, sorted image names] pairs below `root`. */
async function walk(root: string, followLinks: boolean, out: [string, string[]][]): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    const full = join(root, e.name);
    if (e.isDirectory() || (followLinks && e.isSymbolicLink() && (await isDirectory(full)))) {
      await walk(full, followLinks, out);
    } else if ((e.isFile() || e.isSymbolicLink()) && isImage(e.name)) {
      files.push(e.name);
    }
  }
  out.push([root, files.sort()]);
}

/** Lists the images of a class-folder tree; throws naming `op` and the path when it is missing or holds no images. */
export async function indexImageFolder(op: string, dir: string, options: IndexOptions = {}): Promise<ImageIndex> {
  const root = resolve(dir);
  let info;
  try {
    info = await stat(root);
  } catch {
    throw new Error(`Graft ${op}: directory not found: ${dir}`);
  }
  if (!info.isDirectory()) throw new Error(`Graft ${op}: not a directory: ${dir}`);
  const subfolders: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (await isDirectory(join(root, e.name))) subfolders.push(e.name);
  }
  subfolders.sort();
  const classNames = options.classNames ? [...options.classNames] : subfolders;
  for (const c of classNames) {
    if (!subfolders.includes(c)) throw new Error(`Graft ${op}: class folder '${c}' not found in ${dir} (found: ${subfolders.join(', ') || 'none'})`);
  }
  if (classNames.length === 0) throw new Error(`Graft ${op}: no class subfolders in ${dir} (expected ${dir}/<class>/<image files>)`);
  const paths: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of classNames.entries()) {
    const folders: [string, string[]][] = [];
    await walk(join(root, name), options.followLinks ?? false, folders);
    // NOTE: Keras sorts os.walk's folders by path string before listing their files.
    folders.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [folder, files] of folders) {
      for (const f of files) {
        paths.push(join(folder, f));
        labels.push(label);
      }
    }
  }
  if (paths.length === 0) {
    throw new Error(`Graft ${op}: no images found in ${dir} (looked for ${IMAGE_EXTENSIONS.join(', ')} in ${classNames.length} class folders)`);
  }
  return { paths, labels, classNames };
}
