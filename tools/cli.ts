// `graft`: the command-line interface. Each command lives in its own module; this file only wires them.
// User errors print one clear line and exit non-zero, without a stack trace.

import { Command } from 'commander';
import { inspectCommand } from './inspect.js';

/** An error the user can fix (bad path, bad flag): printed as one line, exit code 1. */
export class UserError extends Error {}

async function guarded(fn: () => Promise<number | void> | number | void): Promise<void> {
  try {
    const code = await fn();
    if (typeof code === 'number') process.exitCode = code;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // NOTE: Graft's own errors already name the problem; a stack trace would only bury it.
    console.error(`graft: ${msg.split('\n')[0]}`);
    if (process.env['GRAFT_DEBUG'] && e instanceof Error) console.error(e.stack);
    process.exitCode = 1;
  }
}

export function buildCli(): Command {
  const program = new Command();
  program
    .name('graft')
    .description('Graft: deep learning on WebGPU — ONNX import, Keras-style transfer learning, hand-written WGSL kernels')
    .showHelpAfterError();

  program
    .command('inspect')
    .description('print an ONNX model\'s inputs, outputs, opset, op counts, parameter count and unsupported ops')
    .argument('<model...>', 'ONNX files')
    .option('--json', 'print the report as JSON')
    .action((models: string[], opts: { json?: boolean }) =>
      guarded(() => inspectCommand([...models, ...(opts.json ? ['--json'] : [])])),
    );

  program
    .command('run')
    .description('run an ONNX model on a NumPy .npy array (in the layout the file declares) and write its first output as .npy')
    .argument('<model>', 'ONNX file')
    .requiredOption('--input <file>', 'input array (.npy, float32)')
    .requiredOption('--output <file>', 'where to write the first output (.npy)')
    .option('--input-name <name>', 'the graph input to feed (default: the first)')
    .option('--batch-size <n>', 'run in batches of n')
    .action((model: string, opts: { input: string; output: string; inputName?: string; batchSize?: string }) =>
      guarded(async () => {
        const { runCommand } = await import('./run-onnx.js');
        const args = [model, '--input', opts.input, '--output', opts.output];
        if (opts.inputName) args.push('--input-name', opts.inputName);
        if (opts.batchSize) args.push('--batch-size', opts.batchSize);
        return runCommand(args);
      }),
    );

  program
    .command('bench')
    .description('run kernel and model benchmarks with peers (matmul, elementwise, conv, model)')
    .argument('[suites...]', 'suites to run', ['matmul', 'elementwise'])
    .option('--json <file>', 'write the rows as JSON')
    .option('--quick', 'fewer sizes and iterations')
    .action((suites: string[], opts: { json?: string; quick?: boolean }) =>
      guarded(async () => {
        const { runBench } = await import('../bench/run.js');
        await runBench([...suites, ...(opts.json ? ['--json', opts.json] : []), ...(opts.quick ? ['--quick'] : [])]);
      }),
    );

  return program;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await buildCli().parseAsync(process.argv);
}
