// The onnx-proto protobufjs module (a static module of onnx.proto, CommonJS) and conversions of its scalar types.

import onnxProto from 'onnx-proto';
import type { OnnxDType } from './model.js';

export const onnx = onnxProto.onnx;
export type ProtoModel = onnxProto.onnx.IModelProto;
export type ProtoGraph = onnxProto.onnx.IGraphProto;
export type ProtoNode = onnxProto.onnx.INodeProto;
export type ProtoTensor = onnxProto.onnx.ITensorProto;
export type ProtoAttribute = onnxProto.onnx.IAttributeProto;
export type ProtoValueInfo = onnxProto.onnx.IValueInfoProto;
export type ProtoType = onnxProto.onnx.ITypeProto;
export type ProtoSparseTensor = onnxProto.onnx.ISparseTensorProto;

/** An int64 as protobufjs hands it out: a number, or a Long when the 'long' package is installed. */
export type Int64Like = number | { low: number; high: number; unsigned: boolean } | string;

const INT64_MAX_HIGH = 0x7fffffff;

/**
 * Converts an int64 to a number. Values beyond ±2^53 are rejected, except INT64_MAX/INT64_MIN, the "to the end"
 * sentinels exporters write (e.g. Slice ends), which map to ±Number.MAX_SAFE_INTEGER.
 * Returns null when the value does not fit, so the caller can name the offending tensor or attribute.
 */
export function int64ToNumber(v: Int64Like | null | undefined): number | null {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : null;
  if (typeof v === 'string') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : null;
  }
  const low = v.low >>> 0;
  const high = v.high | 0;
  if (v.unsigned) {
    const n = (v.high >>> 0) * 2 ** 32 + low;
    if (v.high >>> 0 === 0xffffffff && low === 0xffffffff) return Number.MAX_SAFE_INTEGER;
    return Number.isSafeInteger(n) ? n : null;
  }
  if (high === INT64_MAX_HIGH && low === 0xffffffff) return Number.MAX_SAFE_INTEGER;
  if (high === (0x80000000 | 0) && low === 0) return -Number.MAX_SAFE_INTEGER;
  const n = high * 2 ** 32 + low;
  return Number.isSafeInteger(n) ? n : null;
}

/** ONNX TensorProto.DataType codes by dtype name. */
export const DTYPE_CODES: Record<OnnxDType, number> = {
  float32: 1, uint8: 2, int8: 3, uint16: 4, int16: 5, int32: 6, int64: 7, string: 8, bool: 9,
  float16: 10, float64: 11, uint32: 12, uint64: 13, complex64: 14, complex128: 15, bfloat16: 16,
};

const DTYPE_NAMES = new Map<number, OnnxDType>(
  (Object.entries(DTYPE_CODES) as [OnnxDType, number][]).map(([name, code]) => [code, name]),
);

/** The dtype for a TensorProto.DataType code, or null for UNDEFINED/unknown codes. */
export function dtypeFromCode(code: number | null | undefined): OnnxDType | null {
  return DTYPE_NAMES.get(code ?? 0) ?? null;
}

/** Bytes per element in raw_data, or null for variable-size types (string). */
export function dtypeByteSize(dtype: OnnxDType): number | null {
  switch (dtype) {
    case 'uint8': case 'int8': case 'bool': return 1;
    case 'uint16': case 'int16': case 'float16': case 'bfloat16': return 2;
    case 'float32': case 'int32': case 'uint32': return 4;
    case 'float64': case 'int64': case 'uint64': case 'complex64': return 8;
    case 'complex128': return 16;
    case 'string': return null;
  }
}
