#!/usr/bin/env node
// `graft`: the command-line interface. Each command lives in its own module; this file only wires them.
// User errors print one clear line and exit non-zero, without a stack trace.

import '../src/node/index.js'; // NOTE: first, so that Node's platform (Dawn, files, sharp) is installed before any use
import { Command } from 'commander';
import { isMain } from './is-main.js';
import { inspectCommand, type InspectFlags } from './inspect.js';
import { addRunOptions, runOnnxCommand, type RunFlags } from './run-onnx.js';
import { addTrainOptions, type TrainFlags } from './train.js';
import type { PredictFlags } from './predict.js';
import type { EvaluateFlags } from './evaluate.js';

/** An error the user can fix (bad path, bad flag): printed as one line, exit code 1. */
export class UserError extends Error {}

/** Runs a command: its number is the exit code; an error prints one line (`graft: ...`) and exits 1. */
export async function guarded(fn: () => Promise<number | void> | number | void): Promise<void> {
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
    .action((models: string[], flags: InspectFlags) => guarded(() => inspectCommand(models, flags)));

  addRunOptions(program.command('run')).action((model: string, flags: RunFlags) =>
    guarded(() => runOnnxCommand(model, flags)),
  );

  program
    .command('bench')
    .description('run kernel and model benchmarks with peers (matmul, elementwise, conv, model, variants, browser); suite options as --name=value (bench/README.md)')
    .argument('[suites...]', 'suites to run', ['matmul', 'elementwise'])
    .option('--json <file>', 'write the rows as JSON')
    .option('--quick', 'fewer sizes and iterations')
    // NOTE: suite options (--sizes=4096, --train-batches=32, ...) pass through to bench/run.ts as they are.
    .allowUnknownOption()
    .action((_suites: string[], opts: { json?: string; quick?: boolean }, cmd: Command) =>
      guarded(async () => {
        const { runBench } = await import('../bench/run.js');
        await runBench([...cmd.args, ...(opts.json ? ['--json', opts.json] : []), ...(opts.quick ? ['--quick'] : [])]);
      }),
    );

  addTrainOptions(
    program
      .command('train')
      .description('transfer learning on a class-folder dataset: feature extraction on a frozen pretrained base, then fine-tuning; writes runs/<timestamp>/'),
  ).action((flags: TrainFlags) =>
    guarded(async () => {
      const { trainCommand } = await import('./train.js');
      return trainCommand(flags, 'graft train');
    }),
  );

  program
    .command('predict')
    .description('top-k classes of images with a trained model (.safetensors from model.save, or .onnx)')
    .argument('<images...>', 'image files or folders of images')
    .requiredOption('--model <file>', 'model file: .safetensors (class names in its metadata or a classes.json beside it) or .onnx; or efficientnet-b0 (Keras\' ImageNet weights, downloaded once)')
    .option('--top <k>', 'classes to print per image', '3')
    .option('--classes <file>', 'class names: a JSON array or one name per line (overrides the model\'s)')
    .option('--image-size <n>', 'resize to n x n when the model does not fix its input size')
    .option('--input-range <range>', 'pixel range the model takes: 0..255 (Graft models and their ONNX exports), 0..1 or -1..1', '0..255')
    .option('--json', 'print JSON instead of text')
    .action((images: string[], opts: PredictFlags) =>
      guarded(async () => {
        const { predictCommand } = await import('./predict.js');
        return predictCommand(images, opts);
      }),
    );

  program
    .command('evaluate')
    .description('loss and accuracy of a trained classifier over a class-folder tree (<data>/<class>/<images>)')
    .requiredOption('--model <file>', 'model file (.safetensors from model.save, or .onnx)')
    .requiredOption('--data <folder>', 'class-folder tree; folder names must be the model\'s class names')
    .option('--batch-size <n>', 'images per batch', '32')
    .option('--classes <file>', 'class names: a JSON array or one name per line (overrides the model\'s)')
    .option('--image-size <n>', 'resize to n x n when the model does not fix its input size')
    .option('--input-range <range>', 'pixel range the model takes: 0..255, 0..1 or -1..1', '0..255')
    .option('--from-logits', 'the model outputs logits, not probabilities')
    .action((opts: EvaluateFlags) =>
      guarded(async () => {
        const { evaluateCommand } = await import('./evaluate.js');
        return evaluateCommand(opts);
      }),
    );

  return program;
}

if (isMain(import.meta.url)) {
  await buildCli().parseAsync(process.argv);
}
