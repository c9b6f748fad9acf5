// Slash-separated path helpers for FileStore paths (Node accepts '/' on every OS; OPFS paths are slash-separated).

/** Joins path parts with '/', collapsing repeated separators and '.' parts. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  const absolute = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split(/[\\/]+/)) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(seg);
  }
  const body = out.join('/');
  return absolute ? `/${body}` : body || '.';
}

/** The folder part of a path ('.' when there is none). */
export function dirName(path: string): string {
  const i = path.replace(/[\\/]+$/, '').search(/[\\/][^\\/]*$/);
  if (i < 0) return '.';
  return i === 0 ? '/' : path.slice(0, i);
}

/** The last part of a path. */
export function baseName(path: string): string {
  return path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? '';
}

/** The extension with its dot, lower-cased ('' when there is none). */
export function extName(path: string): string {
  const b = baseName(path);
  const i = b.lastIndexOf('.');
  return i > 0 ? b.slice(i).toLowerCase() : '';
}
