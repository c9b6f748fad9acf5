// `npm run demo [-- flags]`: the Keras transfer-learning tutorial on ../shared/data/food10, sized to finish in
// about 15 minutes on a 2-core software GPU (`--full`: the tutorial's 224x224, every image). Same flags as
// `graft train` (tools/train.ts); `--help` lists them.

import '../src/node/index.js'; // NOTE: first, so that Node's platform (Dawn, files, sharp) is installed before any use
import { Command } from 'commander';
import { guarded } from './cli.js';
import { addTrainOptions, trainCommand, type TrainFlags } from './train.js';

const program = addTrainOptions(
  new Command()
    .name('npm run demo --')
    .description('Transfer learning on food10: a pretrained base, 5 epochs of feature extraction, 5 of fine-tuning, writes runs/<timestamp>/')
    .showHelpAfterError(),
).action((flags: TrainFlags) => guarded(() => trainCommand(flags, 'npm run demo --')));

await program.parseAsync(process.argv);
