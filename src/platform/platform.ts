// What the engine needs from its host, behind one interface: the WebGPU entry object, WGSL text, file storage,
// image decoding and a text sink. The core never imports `node:*` or browser-only APIs; the Node entry
// (src/node/) and the browser entry (src/browser/) each install their implementation with setPlatform().

/** RGB pixels of a decoded image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  /** `height * width * 3` bytes. */
  data: Uint8Array;
}

/** Where ImageSource bytes come from: a path in the platform's file store, a URL, or the bytes themselves. */
export type ImageSource = string | URL | Blob | Uint8Array;

/** Files by path: the file system in Node, the origin-private file system (OPFS) in browsers. */
export interface FileStore {
  /** The whole file; throws naming the path when it is missing, a folder, or larger than `maxBytes`. */
  readFile(path: string, maxBytes?: number): Promise<Uint8Array>;
  /** Replaces the file atomically (temporary file, flush, rename), creating its folder; never leaves a partial file. */
  writeFileAtomic(path: string, bytes: Uint8Array): Promise<void>;
  /** Appends to the file (created with its folder when missing) and flushes it. */
  appendFile(path: string, bytes: Uint8Array): Promise<void>;
  /** Size in bytes, or null when there is no such file. */
  fileSize(path: string): Promise<number | null>;
  /** Whether a folder exists at `path`. */
  isDirectory(path: string): Promise<boolean>;
  /** Entries of a folder, sorted by name; throws naming the path when it is not a folder. */
  list(path: string): Promise<{ name: string; directory: boolean; link?: boolean }[]>;
  /** Creates a folder and its parents. */
  mkdir(path: string): Promise<void>;
  /** Removes a file or an empty folder (no error when it is missing). */
  remove(path: string): Promise<void>;
  /** The path made absolute (Node) or normalised (OPFS), for messages and containment checks. */
  resolve(path: string): string;
}

/** Something that takes text lines: a terminal or a page element. */
export interface TextSink {
  write(text: string): unknown;
  /** A terminal that redraws lines in place (Keras progress bars). */
  isTTY?: boolean;
  columns?: number;
}

/** The host's services. */
export interface Platform {
  /** 'node' or 'browser' (for messages). */
  readonly name: string;
  /** The WebGPU entry object (navigator.gpu, or Dawn's in Node). */
  gpu(): Promise<GPU>;
  /** WGSL text of shaders/NAME.wgsl, or undefined when this platform has none for it. */
  shaderSource(name: string): string | undefined;
  /** Files by path. */
  readonly files: FileStore;
  /** Decodes an encoded image (JPEG, PNG, WebP, GIF) to RGB at its stored size; throws naming `label` when it cannot. */
  decodeImage(bytes: Uint8Array, label: string): Promise<RgbImage>;
  /** Progress output (process.stdout in Node, the console in browsers). */
  readonly stdout: TextSink;
  /** A name for this host in TensorBoard file names. */
  hostname(): string;
}

const browserLike = () => typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== 'undefined';

function missing(what: string): never {
  throw new Error(
    `Graft: ${what} needs a platform: import Graft through its package entry ('graft' picks the Node or browser build), ` +
      `or import 'graft/node' / 'graft/browser' before using it`,
  );
}

/** Until an entry installs a platform: navigator.gpu and fetch work, files and decoding say what is missing. */
const unconfigured: Platform = {
  name: 'none',
  async gpu() {
    const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
    if (browserLike() && nav?.gpu) return nav.gpu;
    return missing('a WebGPU device');
  },
  shaderSource: () => undefined,
  files: new Proxy({} as FileStore, { get: (_, k) => () => missing(`files (${String(k)})`) }),
  decodeImage: async () => missing('image decoding'),
  stdout: { write: (t: string) => console.log(t.replace(/\n$/, '')) },
  hostname: () => 'localhost',
};

let current: Platform = unconfigured;

/** Installs the host's services (the Node and browser entries call this once on import). */
export function setPlatform(p: Platform): void {
  current = p;
}

/** The host's services. */
export function platform(): Platform {
  return current;
}
