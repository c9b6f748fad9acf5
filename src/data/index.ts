// Datasets: image folders, file lists or URLs to decoded, resized, shuffled, batched GPU tensors.

export { Dataset, type DatasetSource } from './dataset.js';
export { decodeImage, type DecodeOptions, type ResizeInterpolation } from './decode.js';
export { resizeRgb, type ResizeOptions } from './resize.js';
export { indexImageFolder, IMAGE_EXTENSIONS, type ImageIndex, type IndexOptions } from './image-folder.js';
export {
  imageDatasetFromDirectory, imageDatasetFromFiles, type ImageBatch, type ImageDatasetOptions, type LabelMode, type LabeledImage,
} from './image-dataset.js';
