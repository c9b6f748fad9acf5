// Errors raised while reading, checking or writing ONNX files: every message names the file, and the node or
// initializer where one is involved.

/** Where in a model a problem was found. */
export interface OnnxErrorContext {
  /** The model file (or a label such as '<bytes>' when parsed from memory). */
  file: string;
  /** The node involved, if any. */
  node?: { name: string; opType: string };
  /** The initializer (or other named tensor) involved, if any. */
  tensor?: string;
}

/** A bad, unsupported or inconsistent ONNX model. */
export class OnnxError extends Error {
  /** The model file the error is about. */
  readonly file: string;
  /** The node involved, if any. */
  readonly node: { name: string; opType: string } | undefined;
  /** The initializer (or named tensor) involved, if any. */
  readonly tensor: string | undefined;

  constructor(ctx: OnnxErrorContext, problem: string) {
    super(`Graft ONNX ${ctx.file}: ${describeWhere(ctx)}${problem}`);
    this.name = 'OnnxError';
    this.file = ctx.file;
    this.node = ctx.node ? { name: ctx.node.name, opType: ctx.node.opType } : undefined;
    this.tensor = ctx.tensor;
  }
}

function describeWhere(ctx: OnnxErrorContext): string {
  const parts: string[] = [];
  if (ctx.node) parts.push(`node '${ctx.node.name}' (${ctx.node.opType})`);
  if (ctx.tensor !== undefined) parts.push(`tensor '${ctx.tensor}'`);
  return parts.length ? `${parts.join(', ')}: ` : '';
}
