// `graft run model.onnx --input x.npy [--input-name NAME] [--batch-size N] --output y.npy`: runs an imported model on
// a NumPy array in the file's layout and writes its first output (in the file's layout) as .npy.
// Usage: tsx tools/run-onnx.ts model.onnx --input x.npy [--input-name NAME] [--batch-size N] --output y.npy

import { Command, CommanderError } from 'commander';

const USAGE = 'usage: graft run model.onnx --input x.npy [--input-name NAME] [--batch-size N] --output y.npy';

/** Options of `graft run`, as commander parses them. */
export interface RunFlags {
  input: string;
  output: string;
  inputName?: string;
  batchSize?: string;
}

/** Declares the arguments and options of `graft run` on `cmd` (tools/cli.ts and runCommand share this). */
export function addRunOptions(cmd: Command): Command {
  return cmd
    .description('run an ONNX model on a NumPy .npy array (in the layout the file declares) and write its first output as .npy')
    .argument('<model>', 'ONNX file')
    .requiredOption('--input <file>', 'input array (.npy, float32)')
    .requiredOption('--output <file>', 'where to write the first output (.npy)')
    .option('--input-name <name>', 'the graph input to feed (default: the first)')
    .option('--batch-size <n>', 'run in batches of n');
}

/** Runs the model; returns the exit code (0, 1 for a bad file, 2 for a bad option). Errors print one line. */
export async function runOnnxCommand(model: string, flags: RunFlags): Promise<number> {
  const batchSize = flags.batchSize === undefined ? undefined : Number(flags.batchSize);
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    console.error(`graft run: --batch-size must be a positive integer, got '${flags.batchSize}'`);
    return 2;
  }
  // NOTE: loaded here, not at the top, so that `graft --help` does not start WebGPU.
  const { init } = await import('../src/tensor/engine.js');
  const { NpyError, writeNpy } = await import('../src/io/npy.js');
  const { OnnxError } = await import('../src/io/onnx/errors.js');
  const { runOnnxOnNpy } = await import('../src/node/run-onnx-npy.js');
  try {
    await init();
    const y = await runOnnxOnNpy(model, flags.input, { inputName: flags.inputName, batchSize });
    await writeNpy(flags.output, y);
    console.log(`${flags.output}: float32 [${y.shape.join(', ')}]`);
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

/** Runs the command on argv-style arguments (after `run`); returns the exit code. A bad option prints the usage, 2. */
export async function runCommand(args: string[]): Promise<number> {
  let code = 2;
  const cmd = addRunOptions(new Command('run'))
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {} })
    .action(async (model: string, flags: RunFlags) => {
      code = await runOnnxCommand(model, flags);
    });
  try {
    await cmd.parseAsync(args, { from: 'user' });
    return code;
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    console.error(`graft run: ${e.message.replace(/^error: /, '')}\n${USAGE}`);
    return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await runCommand(process.argv.slice(2));
