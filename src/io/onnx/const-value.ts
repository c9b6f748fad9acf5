// Small constant values that constant folding computes with: numbers, or symbolic dimension names (e.g. 'N').

import type { OnnxDType, OnnxTensor, TensorValues } from './model.js';
import { elementCount } from './model.js';

/** A constant tensor whose elements are numbers or symbolic dimension names (only integer tensors hold names). */
export interface ConstValue {
  /** Element type. */
  dtype: OnnxDType;
  /** Shape. */
  dims: number[];
  /** Row-major elements; a string is a symbolic dimension (dim_param) such as the batch size. */
  values: (number | string)[];
}

/** Largest tensor constant folding evaluates (shape arithmetic only; weights are never copied). */
export const MAX_FOLD_ELEMENTS = 4096;

/** True when every element is a number. */
export function isNumeric(v: ConstValue): boolean {
  return v.values.every((x) => typeof x === 'number');
}

/** A tensor as a ConstValue, or null when it is too large to fold. */
export function tensorToConst(t: OnnxTensor): ConstValue | null {
  if (elementCount(t.dims) > MAX_FOLD_ELEMENTS) return null;
  return { dtype: t.dtype, dims: [...t.dims], values: Array.from(t.values as ArrayLike<number>) };
}

/** A numeric ConstValue as a tensor named `name`. */
export function constToTensor(name: string, v: ConstValue): OnnxTensor {
  return { name, dtype: v.dtype, dims: [...v.dims], values: typedValues(v.dtype, v.values as number[]) };
}

/** Numbers in the typed array the reader uses for `dtype` (see TensorValues). */
export function typedValues(dtype: OnnxDType, values: number[]): TensorValues {
  switch (dtype) {
    case 'float32': case 'float16': case 'bfloat16': return Float32Array.from(values);
    case 'int32': case 'int16': case 'uint16': return Int32Array.from(values);
    case 'int8': return Int8Array.from(values);
    case 'uint8': case 'bool': return Uint8Array.from(values);
    default: return Float64Array.from(values);
  }
}

/** Whether a dtype holds integers (and so may hold symbolic dimensions). */
export function isIntegerDType(dtype: OnnxDType): boolean {
  return !['float32', 'float16', 'bfloat16', 'float64', 'complex64', 'complex128', 'string'].includes(dtype);
}
