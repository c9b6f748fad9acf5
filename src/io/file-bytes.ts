// Files by path for platform-free code: the Node entry installs a reader (browsers have no file paths; they pass
// bytes). NOTE: on main this is platform().files.readFile(path, maxBytes).

/** Reads a whole file, refusing one over `maxBytes` before allocating; errors name the path. */
export type FileBytesReader = (path: string, maxBytes: number) => Promise<Uint8Array>;

let reader: FileBytesReader | null = null;

/** Installs the platform's reader (src/index.ts installs Node's). */
export function setFileBytesReader(r: FileBytesReader | null): void {
  reader = r;
}

/** The bytes of the file at `path` through the installed reader. */
export function readFileBytes(path: string, maxBytes: number): Promise<Uint8Array> {
  if (!reader) return Promise.reject(new Error(`Graft: cannot read ${path}: this platform has no file paths; pass the file's bytes instead`));
  return reader(path, maxBytes);
}
