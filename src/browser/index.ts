// Graft for browsers: the whole library with navigator.gpu, bundled WGSL, OPFS for paths and createImageBitmap
// decoding installed as its platform. `npm run build:browser` bundles it into dist/browser/graft.js.

import { setPlatform } from '../platform/platform.js';
import { browserPlatform } from './platform.js';

setPlatform(browserPlatform);

export * from '../index.js';
export { browserPlatform } from './platform.js';
export { opfsFiles } from './opfs.js';
export { downloadBytes } from './download.js';
