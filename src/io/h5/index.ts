// Keras HDF5 weights, bytes in (no file paths here: the Node and browser sides hand over the bytes).

export { HDF5_SIGNATURE, Hdf5Error, isHdf5, MAX_HDF5_BYTES } from './hdf5.js';
export { readKerasWeights, type KerasLayerInfo, type KerasWeightInfo, type KerasWeightsIndex } from './keras-weights.js';
export { loadKerasWeights, type KerasLoadOptions, type KerasLoadReport, type WeightsTarget } from './load-keras-weights.js';
