// A resumed run redoes the epochs after its checkpoint, so their TensorBoard records from the interrupted run are
// dropped first: the logs then hold each epoch once, and never more epochs than the checkpoint.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/node/atomic-write.js';
import { decodeRecords } from '../../src/io/tensorboard/index.js';
import { EventType } from '../../src/io/tensorboard/proto.js';

interface RawEvent {
  step?: number;
  summary?: { value?: { tag?: string }[] };
}

/**
 * The event-file bytes without epoch scalars (`epoch_*` tags) at steps >= upTo, and without a torn last record (a
 * process killed mid-write); null when nothing changes.
 */
export function dropEpochsFrom(bytes: Uint8Array, upTo: number, label: string): Uint8Array | null {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kept: Uint8Array[] = [];
  let pos = 0;
  let changed = false;
  while (pos < bytes.length) {
    const n = pos + 12 <= bytes.length ? Number(dv.getBigUint64(pos, true)) : Infinity;
    if (pos + 16 + n > bytes.length) {
      changed = true; // NOTE: a torn tail; TensorBoard would stop reading there too.
      break;
    }
    const rec = bytes.subarray(pos, pos + 16 + n);
    const [data] = decodeRecords(rec, label);
    const ev = EventType.toObject(EventType.decode(data!), { longs: Number }) as RawEvent;
    const tags = ev.summary?.value?.map((v) => v.tag ?? '') ?? [];
    if (tags.length > 0 && tags.every((t) => t.startsWith('epoch_')) && (ev.step ?? 0) >= upTo) changed = true;
    else kept.push(rec);
    pos += 16 + n;
  }
  if (!changed) return null;
  const out = new Uint8Array(kept.reduce((k, r) => k + r.length, 0));
  let off = 0;
  for (const r of kept) {
    out.set(r, off);
    off += r.length;
  }
  return out;
}

/** Rewrites (atomically) every event file under `logDir/<kind>/` so that it holds only epochs below `upTo`. */
export async function trimTensorBoardLogs(logDir: string, upTo: number): Promise<void> {
  if (!existsSync(logDir)) return;
  for (const kind of readdirSync(logDir, { withFileTypes: true })) {
    if (!kind.isDirectory()) continue;
    for (const name of readdirSync(join(logDir, kind.name))) {
      if (!name.startsWith('events.out.tfevents.')) continue;
      const path = join(logDir, kind.name, name);
      const trimmed = dropEpochsFrom(readFileSync(path), upTo, path);
      if (trimmed) await writeFileAtomic(path, trimmed);
    }
  }
}
