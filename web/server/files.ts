// Serving files safely: a URL path maps to a file only inside one folder, with a content type by extension.

import { resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.wgsl': 'text/plain; charset=utf-8',
  '.onnx': 'application/octet-stream',
  '.map': 'application/json; charset=utf-8',
};

/** The content type for a file name (application/octet-stream when unknown). */
export function contentType(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot >= 0 && TYPES[name.slice(dot).toLowerCase()]) || 'application/octet-stream';
}

/**
 * The file under `root` that URL path `urlPath` names, or null when it would leave `root` (`..`, encoded slashes
 * or backslashes, NUL bytes, absolute paths) or cannot be decoded.
 */
export function resolveInside(root: string, urlPath: string): string | null {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rel.includes('\0') || rel.includes('\\')) return null;
  const parts = rel.split('/').filter((p) => p.length > 0);
  if (parts.some((p) => p === '..' || p === '.')) return null;
  const base = resolve(root);
  const file = resolve(base, ...parts);
  return file === base || file.startsWith(base + sep) ? file : null;
}
