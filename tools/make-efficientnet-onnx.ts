// Writes an EfficientNet-B0-shaped ONNX file with seeded random weights (a test fixture; never commit the output).
// Usage: tsx tools/make-efficientnet-onnx.ts [--style torchvision|keras] [--folded-bn] [--seed N] [--size S]
//        [--classes K] [--out file.onnx]

import '../src/node/index.js'; // NOTE: first, so that Node's platform (Dawn, files, sharp) is installed before any use
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { makeEfficientNetOnnx } from './fixtures/efficientnet-fixture.js';

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a positive integer, got '${v}'`);
  return n;
};

const program = new Command('make-efficientnet-onnx')
  .description('Write an EfficientNet-B0-shaped ONNX file with seeded random, well-conditioned weights')
  .option('--style <style>', 'exporter style: torchvision (NCHW) or keras (tf2onnx, NHWC)', 'torchvision')
  .option('--folded-bn', 'fold BatchNormalization into conv weights and biases', false)
  .option('--seed <n>', 'weight seed', positiveInt('--seed'), 1)
  .option('--size <n>', 'input height and width', positiveInt('--size'), 224)
  .option('--classes <n>', 'classifier outputs', positiveInt('--classes'), 1000)
  .option('--out <file>', 'output file (default weights/efficientnet_b0_<style>[_folded].onnx)')
  .parse();

const opts = program.opts<{ style: string; foldedBn: boolean; seed: number; size: number; classes: number; out?: string }>();
if (opts.style !== 'torchvision' && opts.style !== 'keras') program.error(`--style must be torchvision or keras, got '${opts.style}'`);
const style = opts.style as 'torchvision' | 'keras';
const out = opts.out ?? `weights/efficientnet_b0_${style}${opts.foldedBn ? '_folded' : ''}.onnx`;
const bytes = makeEfficientNetOnnx({ style, foldedBn: opts.foldedBn, seed: opts.seed, size: opts.size, classes: opts.classes });
mkdirSync(dirname(out), { recursive: true });
// NOTE: write to a temp name then rename, so a reader never sees a half-written model.
writeFileSync(`${out}.tmp`, bytes);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, ${style}${opts.foldedBn ? ', folded BN' : ''}, seed ${opts.seed}, ${opts.size}x${opts.size}, ${opts.classes} classes)`);
