// TFRecord framing: uint64 length, masked CRC-32C of the length, data, masked CRC-32C of the data (all little-endian).

import { maskedCrc32c } from './crc32c.js';

/** A corrupt or truncated TFRecord / event file; the message names the file, the record and its offset. */
export class EventFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EventFileError';
  }
}

/** Frames one record. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Splits a TFRecord stream into records, verifying both CRCs; errors name `label`, the record and its offset. */
export function decodeRecords(bytes: Uint8Array, label = 'tfrecord'): Uint8Array[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const where = `${label}: record ${records.length} at byte ${pos}`;
    if (pos + 12 > bytes.length) throw new EventFileError(`Graft TFRecord ${where}: truncated length header`);
    const len = dv.getBigUint64(pos, true);
    if (dv.getUint32(pos + 8, true) !== maskedCrc32c(bytes.subarray(pos, pos + 8))) {
      throw new EventFileError(`Graft TFRecord ${where}: length CRC mismatch (corrupt file)`);
    }
    if (len > BigInt(bytes.length - pos - 16)) throw new EventFileError(`Graft TFRecord ${where}: length ${len} runs past the end of the file`);
    const n = Number(len);
    const data = bytes.subarray(pos + 12, pos + 12 + n);
    if (dv.getUint32(pos + 12 + n, true) !== maskedCrc32c(data)) {
      throw new EventFileError(`Graft TFRecord ${where}: data CRC mismatch (corrupt file)`);
    }
    records.push(data);
    pos += 16 + n;
  }
  return records;
}
