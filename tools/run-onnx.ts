// `graft run model.onnx --input x.npy [--input-name NAME] --output y.npy`: runs an imported model on a NumPy array
// in the file's layout and writes its first output (in the file's layout) as .npy.
// Usage: tsx tools/run-onnx.ts model.onnx --input x.npy [--input-name NAME] [--batch-size N] --output y.npy

import { init } from '../src/tensor/engine.js';
import { NpyError, writeNpy } from '../src/io/npy.js';
import { OnnxError } from '../src/io/onnx/errors.js';
import { runOnnxOnNpy } from '../src/node/run-onnx-npy.js';

const USAGE = 'usage: graft run model.onnx --input x.npy [--input-name NAME] [--batch-size N] --output y.npy';

/** Parses `--flag value` pairs and positional arguments; null on a flag without its value. */
function parseArgs(args: string[]): { positional: string[]; flags: Map<string, string> } | null {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < args.length) flags.set(a.slice(2), args[++i]!);
    else return null;
  }
  return { positional, flags };
}

/** Runs the command on argv-style arguments; returns the process exit code (errors: one line on stderr). */
export async function runCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  const model = parsed?.positional[0];
  const input = parsed?.flags.get('input');
  const output = parsed?.flags.get('output');
  const known = new Set(['input', 'output', 'input-name', 'batch-size']);
  const unknown = parsed ? [...parsed.flags.keys()].find((k) => !known.has(k)) : undefined;
  if (!parsed || !model || !input || !output || parsed.positional.length !== 1 || unknown) {
    console.error(unknown ? `graft run: unknown option --${unknown}\n${USAGE}` : USAGE);
    return 2;
  }
  const batch = parsed.flags.get('batch-size');
  const batchSize = batch === undefined ? undefined : Number(batch);
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    console.error(`graft run: --batch-size must be a positive integer, got '${batch}'`);
    return 2;
  }
  try {
    await init();
    const y = await runOnnxOnNpy(model, input, { inputName: parsed.flags.get('input-name'), batchSize });
    await writeNpy(output, y);
    console.log(`${output}: float32 [${y.shape.join(', ')}]`);
    return 0;
  } catch (e) {
    if (e instanceof OnnxError || e instanceof NpyError) {
      console.error(e.message);
      return 1;
    }
    console.error(`graft run: ${(e as Error).message.split('\n')[0]}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await runCommand(process.argv.slice(2));
