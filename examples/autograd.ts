// The README's ten-line example (run: npx tsx examples/autograd.ts).
import * as graft from '../src/node/index.js';

await graft.init();                                             // picks the WebGPU adapter
const w = graft.randomNormal([3, 2], 0, 0.1, { seed: 1, requiresGrad: true });
const x = graft.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
const loss = graft.tidy(() => {
  const y = graft.sigmoid(graft.matmul(x, w));                  // WGSL kernels, recorded on the tape
  const l = graft.mean(graft.square(y));
  l.backward();                                                 // fills w.grad
  return l;
});
console.log(await loss.data(), await w.grad!.data());          // the only CPU readbacks
