// Graft for browsers: the whole library with navigator.gpu, bundled WGSL, OPFS for paths and createImageBitmap
// decoding installed as its platform. `npm run build:browser` bundles it into dist/browser/graft.js.

import { setDefaultModelFileCache } from '../applications/model-file-cache.js';
import { setPlatform } from '../platform/platform.js';
import { browserModelFileCache } from './model-cache.js';
import { browserPlatform } from './platform.js';

setPlatform(browserPlatform);
setDefaultModelFileCache(() => browserModelFileCache());

export * from '../index.js';
export { browserPlatform } from './platform.js';
export { opfsFiles } from './opfs.js';
export { downloadBytes } from './download.js';
export { browserModelFileCache, type BrowserModelCacheOptions } from './model-cache.js';
