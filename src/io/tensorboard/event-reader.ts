// Reads TensorBoard event files back: verifies both CRCs of every record and decodes the Event protos.

import { EventType } from './proto.js';
import { decodeRecords, EventFileError } from './tfrecord.js';

/** A decoded Summary.Value holding a scalar (simple_value or a float tensor). */
export interface SummaryValue {
  tag: string;
  /** The scalar, from simple_value or the tensor's float_val / double_val / tensor_content. */
  value: number;
  /** Which field held it. */
  kind: 'simple_value' | 'tensor';
  /** SummaryMetadata.plugin_data.plugin_name, when present. */
  pluginName?: string;
}

/** A decoded Event. */
export interface TbEvent {
  /** Seconds since the epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  /** Scalars of a summary event (non-scalar values are skipped). */
  values?: SummaryValue[];
}

interface RawTensor {
  float_val?: number[];
  double_val?: number[];
  tensor_content?: Uint8Array;
  dtype?: number;
}

interface RawValue {
  tag?: string;
  simple_value?: number;
  tensor?: RawTensor;
  metadata?: { plugin_data?: { plugin_name?: string } };
}

interface RawEvent {
  wall_time?: number;
  step?: number;
  file_version?: string;
  summary?: { value?: RawValue[] };
}

function tensorScalar(t: RawTensor): number | null {
  if (t.float_val?.length) return t.float_val[0]!;
  if (t.double_val?.length) return t.double_val[0]!;
  const c = t.tensor_content;
  if (c && c.length >= 4) {
    const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
    return t.dtype === 2 && c.length >= 8 ? dv.getFloat64(0, true) : dv.getFloat32(0, true);
  }
  return null;
}

/** Decodes the events of an event-file byte stream; `label` names it in errors. */
export function parseEvents(bytes: Uint8Array, label = 'events'): TbEvent[] {
  return decodeRecords(bytes, label).map((rec, i) => {
    let raw: RawEvent;
    try {
      raw = EventType.toObject(EventType.decode(rec), { longs: Number }) as RawEvent;
    } catch (e) {
      throw new EventFileError(`Graft readEvents: ${label}: record ${i} is not an Event (${(e as Error).message})`);
    }
    const ev: TbEvent = { wallTime: raw.wall_time ?? 0, step: raw.step ?? 0 };
    if (raw.file_version !== undefined) ev.fileVersion = raw.file_version;
    if (raw.summary) {
      ev.values = [];
      for (const v of raw.summary.value ?? []) {
        const pluginName = v.metadata?.plugin_data?.plugin_name;
        let sv: SummaryValue | null = null;
        if (v.simple_value !== undefined) sv = { tag: v.tag ?? '', value: v.simple_value, kind: 'simple_value' };
        else if (v.tensor) {
          const x = tensorScalar(v.tensor);
          if (x !== null) sv = { tag: v.tag ?? '', value: x, kind: 'tensor' };
        }
        if (sv && pluginName !== undefined) sv.pluginName = pluginName;
        if (sv) ev.values.push(sv);
      }
    }
    return ev;
  });
}

/** The scalars of a list of events, flattened: one entry per (event, value). */
export function scalarsOf(events: readonly TbEvent[]): { tag: string; step: number; value: number; wallTime: number }[] {
  return events.flatMap((e) => (e.values ?? []).map((v) => ({ tag: v.tag, step: e.step, value: v.value, wallTime: e.wallTime })));
}
