// A backup's bytes: a full checkpoint (weights, optimizer slots and iterations, epochs done, random stream) as
// safetensors, with the fit position in its metadata under `backup`.

import { checkpointContents } from '../checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsFile } from '../../io/safetensors.js';
import type { TrainingModel } from '../training-model.js';
import type { FitPosition } from './fit-position.js';

const KEY = 'backup';

/** Encodes the model's full state and the position fit continues from. */
export async function encodeBackup(model: TrainingModel, position: FitPosition): Promise<Uint8Array> {
  const { entries, metadata } = await checkpointContents(model);
  return encodeSafetensors(entries, { ...metadata, [KEY]: JSON.stringify(position) });
}

/** Decodes a backup; throws naming `label` when it is not one. */
export function decodeBackup(bytes: Uint8Array, label: string): { file: SafetensorsFile; position: FitPosition } {
  const file = decodeSafetensors(bytes, label);
  const raw = file.metadata[KEY];
  if (raw === undefined) throw new Error(`Graft BackupAndRestore: ${label} is not a backup (no '${KEY}' metadata)`);
  let p: Partial<FitPosition>;
  try {
    p = JSON.parse(raw) as Partial<FitPosition>;
  } catch {
    throw new Error(`Graft BackupAndRestore: ${label} has unreadable '${KEY}' metadata`);
  }
  const ints = ['epoch', 'step', 'epochRngState', 'rngState'] as const;
  for (const k of ints) {
    if (!Number.isSafeInteger(p[k]) || p[k]! < 0) throw new Error(`Graft BackupAndRestore: ${label}: '${k}' in its '${KEY}' metadata must be a non-negative integer, got ${JSON.stringify(p[k])}`);
  }
  if (p.dataOrder !== null && !Number.isSafeInteger(p.dataOrder)) throw new Error(`Graft BackupAndRestore: ${label}: 'dataOrder' must be an integer or null`);
  const l = p.epochLogs;
  if (l !== undefined && !(Array.isArray(l.sums) && Array.isArray(l.counts) && [...l.sums, ...l.counts].every((v) => typeof v === 'number'))) {
    throw new Error(`Graft BackupAndRestore: ${label}: 'epochLogs' must hold arrays of numbers 'sums' and 'counts'`);
  }
  return { file, position: p as FitPosition };
}
