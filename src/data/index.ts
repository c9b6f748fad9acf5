// Datasets: image folders to decoded, resized, shuffled, batched GPU tensors.

export { Dataset, type DatasetSource } from './dataset.js';
export { decodeImage, type DecodeOptions, type ResizeInterpolation } from './decode.js';
export { indexImageFolder, IMAGE_EXTENSIONS, type ImageIndex, type IndexOptions } from './image-folder.js';
export { imageDatasetFromDirectory, type ImageBatch, type ImageDatasetOptions, type LabelMode } from './image-dataset.js';
