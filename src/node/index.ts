// Graft for Node.js: the whole library, with Dawn's WebGPU, the file system and sharp installed as its platform.
// `import * as graft from 'graft'` resolves here in Node (package.json "exports" condition "node").

import { setDefaultModelFileCache } from '../applications/model-file-cache.js';
import { setOnnxPathReader } from '../io/onnx/source.js';
import { setPlatform } from '../platform/platform.js';
import { readOnnxFile } from './onnx-file.js';
import { nodeModelFileCache } from './model-cache.js';
import { nodePlatform } from './platform.js';
import { configureTunerFromEnv } from './tune-cache.js';

setPlatform(nodePlatform);
setOnnxPathReader((path) => readOnnxFile(path));
setDefaultModelFileCache(() => nodeModelFileCache());
// NOTE: GRAFT_TUNE=on times kernel variants per adapter and shape bucket (cached in GRAFT_TUNE_CACHE); off by default.
configureTunerFromEnv();

export * from '../index.js';
export { nodePlatform } from './platform.js';
export { writeFileAtomic, type AtomicWriteOptions } from './atomic-write.js';
export { readOnnxFile, inspectOnnx, type ReadOptions } from './onnx-file.js';
export { readNpy } from './npy-file.js';
export { readEvents } from './tensorboard-files.js';
export { nodeModelFileCache, modelCacheDir, type NodeModelCacheOptions } from './model-cache.js';
export { runOnnxOnNpy, type RunOnnxOptions } from './run-onnx-npy.js';
