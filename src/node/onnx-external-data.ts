// External tensor data read from files beside the model, confined to the model's folder.

import { closeSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { OnnxError } from '../io/onnx/errors.js';
import type { ExternalDataSource } from '../io/onnx/tensor-data.js';

/**
 * An ExternalDataSource for a model file: locations must be relative, stay inside the model's folder (also after
 * following symlinks), and the requested range must lie inside the data file.
 */
export function folderExternalData(modelFile: string, modelDir: string): ExternalDataSource {
  let realDir: string | null = null;
  return {
    read(location, offset, length, tensor) {
      const fail = (problem: string): never => {
        throw new OnnxError({ file: modelFile, tensor }, problem);
      };
      if (location.includes('\0')) fail('external data location contains a NUL byte');
      if (isAbsolute(location) || /^[A-Za-z]:[\\/]/.test(location) || location.startsWith('\\')) {
        fail(`external data location '${location}' is absolute; it must be relative to the model's folder`);
      }
      realDir ??= realpathSync(modelDir);
      const target = resolve(modelDir, location);
      if (!inside(resolve(modelDir), target)) fail(`external data location '${location}' leads outside the model's folder`);
      let real: string;
      try {
        real = realpathSync(target);
      } catch {
        return fail(`external data file '${location}' does not exist`);
      }
      if (!inside(realDir, real)) fail(`external data location '${location}' leads outside the model's folder (through a link)`);
      const fd = openSync(real, 'r');
      try {
        const stat = fstatSync(fd);
        if (!stat.isFile()) fail(`external data location '${location}' is not a regular file`);
        if (offset + length > stat.size) {
          fail(`external data range [${offset}, ${offset + length}) lies outside '${location}' (${stat.size} bytes)`);
        }
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n <= 0) fail(`external data file '${location}' ended early`);
          done += n;
        }
        return out;
      } finally {
        closeSync(fd);
      }
    },
  };
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel);
}
