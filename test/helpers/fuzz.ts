// Seeded byte-level mutations of valid files, and a runner that sorts each case into "loaded", "the module's own
// clear error" or "defect" (any other exception, or a load that keeps far more memory than the file holds).

import { rng } from '../../src/tensor/tensor.js';

/** The mutation kinds, in the order they are cycled through. */
export const MUTATIONS = ['bitflip', 'overwrite', 'truncate', 'splice', 'size-field'] as const;
export type MutationKind = (typeof MUTATIONS)[number] | 'structured';

/** Huge or degenerate values written into length/size fields. */
export const HUGE_VALUES: readonly bigint[] = [2n ** 53n, 0xffffffffn, 2n ** 40n, 2n ** 31n, 2n ** 64n - 1n, 0n, 1n, 2n ** 32n];

/** A random integer in [0, n). */
export type Pick = (n: number) => number;

/** A seeded picker (mulberry32 from src/tensor). */
export function picker(seed: number): Pick {
  const r = rng(seed);
  return (n) => Math.min(n - 1, Math.floor(r() * n));
}

/** Where a format keeps its size fields (byte offset and width), for the 'size-field' mutation. */
export interface SizeField {
  offset: number;
  width: 2 | 4 | 8;
}

/** Writes `value` (truncated to the width) little-endian at a field. */
function writeLE(out: Uint8Array, f: SizeField, value: bigint): void {
  for (let i = 0; i < f.width && f.offset + i < out.length; i++) out[f.offset + i] = Number((value >> BigInt(8 * i)) & 0xffn);
}

// NOTE: a real copy: a Node Buffer's slice() shares memory (protobufjs and readFileSync hand out Buffers).
const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** One mutation of `bytes` (never in place); `others` are the valid files to splice with. */
export function mutate(bytes: Uint8Array, kind: (typeof MUTATIONS)[number], pick: Pick, others: readonly Uint8Array[], sizeFields: readonly SizeField[] = []): Uint8Array {
  const n = bytes.length;
  switch (kind) {
    case 'bitflip': {
      const out = copy(bytes);
      const flips = 1 + pick(8);
      for (let i = 0; i < flips; i++) out[pick(n)]! ^= 1 << pick(8);
      return out;
    }
    case 'overwrite': {
      const out = copy(bytes);
      const at = pick(n);
      const len = 1 + pick(16);
      const fill = pick(4);
      for (let i = at; i < Math.min(n, at + len); i++) out[i] = fill === 0 ? 0 : fill === 1 ? 0xff : pick(256);
      return out;
    }
    case 'truncate':
      // NOTE: half the cuts land in the first 256 bytes, where the headers and size fields are.
      return copy(bytes.subarray(0, pick(2) === 0 ? pick(Math.min(n, 256)) : pick(n)));
    case 'splice': {
      const other = others[pick(others.length)]!;
      const a = pick(n + 1);
      const b = pick(other.length + 1);
      const out = new Uint8Array(a + other.length - b);
      out.set(bytes.subarray(0, a));
      out.set(other.subarray(b), a);
      return out;
    }
    case 'size-field': {
      const out = copy(bytes);
      const value = HUGE_VALUES[pick(HUGE_VALUES.length)]!;
      // NOTE: a known size field when the format has one, else any aligned position as a 4- or 8-byte field.
      const f: SizeField = sizeFields.length > 0 && pick(4) !== 0
        ? sizeFields[pick(sizeFields.length)]!
        : { offset: pick(Math.max(1, n - 8)) & ~3, width: pick(2) === 0 ? 4 : 8 };
      writeLE(out, f, value);
      return out;
    }
  }
}

/** What the runner found. */
export interface FuzzReport {
  cases: number;
  /** Cases per mutation kind. */
  byKind: Record<string, number>;
  /** Cases that loaded (the mutation hit bytes the format does not check, such as weight values). */
  loaded: number;
  /** Cases that ended in the module's own error. */
  rejected: number;
  /** Distinct own-error messages with digits collapsed, with counts (what kinds of problem were named). */
  messages: Map<string, number>;
  /** Defects: a non-library exception or an oversized result, with the case that caused it. */
  defects: { kind: string; index: number; problem: string }[];
}

/** One fuzz case. */
export interface FuzzCase {
  kind: MutationKind;
  bytes: Uint8Array;
}

/** How to run one format. */
export interface FuzzTarget<R> {
  /** Parses (and checks) the bytes; throws on bad input. */
  parse: (bytes: Uint8Array) => R;
  /** True for the module's own, clear error (its class, naming the file or the problem). */
  isOwnError: (e: unknown) => boolean;
  /** Bytes the result keeps (typed arrays); must stay within `factor` times the file size plus 64 KiB. */
  retainedBytes: (r: R) => number;
  /** Allowed ratio of retained bytes to file bytes (e.g. 8 when int64 varints decode to float64). */
  factor: number;
  /** Optional further use of a loaded result (e.g. import it); its errors are judged like parse errors. */
  after?: (r: R, bytes: Uint8Array) => void;
}

/** Runs every case; never throws for a case, collecting defects instead. */
export function runFuzz<R>(cases: Iterable<FuzzCase>, target: FuzzTarget<R>): FuzzReport {
  const report: FuzzReport = { cases: 0, byKind: {}, loaded: 0, rejected: 0, messages: new Map(), defects: [] };
  let index = 0;
  for (const c of cases) {
    report.cases++;
    report.byKind[c.kind] = (report.byKind[c.kind] ?? 0) + 1;
    try {
      const r = target.parse(c.bytes);
      const kept = target.retainedBytes(r);
      if (kept > target.factor * c.bytes.length + 65536) {
        report.defects.push({ kind: c.kind, index, problem: `result keeps ${kept} bytes for a ${c.bytes.length}-byte file` });
      }
      target.after?.(r, c.bytes);
      report.loaded++;
    } catch (e) {
      if (target.isOwnError(e)) {
        report.rejected++;
        const key = (e as Error).message.replace(/\d+/g, '#').slice(0, 160);
        report.messages.set(key, (report.messages.get(key) ?? 0) + 1);
      } else {
        const err = e as Error;
        report.defects.push({ kind: c.kind, index, problem: `${err?.constructor?.name ?? typeof e}: ${err?.message ?? String(e)}`.slice(0, 300) });
      }
    }
    index++;
  }
  return report;
}

/** `count` cases cycling through the mutation kinds, seeded; `structured` adds format-aware cases. */
export function* byteCases(seed: number, count: number, valid: readonly Uint8Array[], sizeFields: (b: Uint8Array) => SizeField[] = () => []): Generator<FuzzCase> {
  const pick = picker(seed);
  const fields = valid.map(sizeFields);
  for (let i = 0; i < count; i++) {
    const kind = MUTATIONS[i % MUTATIONS.length]!;
    const which = pick(valid.length);
    yield { kind, bytes: mutate(valid[which]!, kind, pick, valid, fields[which]) };
  }
}

/** Total byteLength of the typed arrays in a value (walking objects, arrays and maps). */
export function typedBytes(v: unknown, seen = new Set<unknown>()): number {
  if (v === null || typeof v !== 'object' || seen.has(v)) return 0;
  seen.add(v);
  if (ArrayBuffer.isView(v)) return v.byteLength;
  let sum = 0;
  const items = v instanceof Map ? v.values() : Array.isArray(v) ? v.values() : Object.values(v as object).values();
  for (const x of items) sum += typedBytes(x, seen);
  return sum;
}

/** A one-paragraph summary for the test log. */
export function summarize(name: string, r: FuzzReport): string {
  const kinds = Object.entries(r.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
  const top = [...r.messages.entries()].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([m, n]) => `  ${n} x ${m}`).join('\n');
  return `${name}: ${r.cases} cases (${kinds}): ${r.loaded} loaded, ${r.rejected} clear errors, ${r.defects.length} defects; most common errors:\n${top}`;
}
