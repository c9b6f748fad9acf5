// The Keras transfer-learning tutorial in Graft, line by line (run: npx tsx examples/transfer-learning.ts).
// Keras: https://keras.io/guides/transfer_learning/ — each Graft line mirrors the Keras line in its comment.
// GRAFT_EXAMPLE_SMALL=1 runs it at 32x32 pixels, a few images and one step per epoch (the test suite does, to keep it honest).

import * as graft from '../src/node/index.js';

await graft.init();
const { layers, callbacks, data, applications } = graft;
const small = process.env['GRAFT_EXAMPLE_SMALL'] === '1';
const size = small ? 32 : 160;
const batchSize = small ? 4 : 32;
const steps = small ? 1 : 5;
const out = process.env['GRAFT_EXAMPLE_OUT'] ?? 'runs/example';

// train_ds, val_ds = keras.utils.image_dataset_from_directory(..., image_size=(160, 160), batch_size=32)
const train = await data.imageDatasetFromDirectory('../shared/data/food10/train', { imageSize: [size, size], batchSize, labelMode: 'categorical', seed: 1 });
const val = await data.imageDatasetFromDirectory('../shared/data/food10/test', { imageSize: [size, size], batchSize, labelMode: 'categorical', shuffle: false });

// base_model = keras.applications.EfficientNetB0(weights="imagenet", include_top=False)   (MobileNetV2 here: the
// pretrained file these machines have; applications.efficientNetB0({weights: 'weights/efficientnet-b0.onnx'}) is the same call)
const base = applications.mobileNetV2({ weights: '../shared/weights/mobilenet_v2_1.0_224.onnx', includeTop: false, inputShape: [size, size, 3] });
base.trainable = false;                                                      // base_model.trainable = False

const inputs = graft.input({ shape: [size, size, 3] });                      // inputs = keras.Input(shape=(160, 160, 3))
let x = layers.randomFlip({ mode: 'horizontal' }).apply(inputs);             // x = layers.RandomFlip("horizontal")(inputs)
x = layers.randomRotation({ factor: 0.1 }).apply(x);                         // x = layers.RandomRotation(0.1)(x)
x = layers.randomZoom({ heightFactor: 0.1 }).apply(x);                       // x = layers.RandomZoom(0.1)(x)
x = base.apply(x, { training: false });                                      // x = base_model(x, training=False)
x = layers.globalAveragePooling2d().apply(x);                                // x = keras.layers.GlobalAveragePooling2D()(x)
x = layers.dropout({ rate: 0.2 }).apply(x);                                  // x = keras.layers.Dropout(0.2)(x)
const outputs = layers.dense({ units: 10, activation: 'softmax' }).apply(x); // outputs = keras.layers.Dense(10, activation="softmax")(x)
const model = graft.model({ inputs, outputs });                              // model = keras.Model(inputs, outputs)

model.compile({ optimizer: graft.optimizers.adam(), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
const checkpoint = callbacks.modelCheckpoint({ filepath: `${out}/ckpt-{epoch:02d}.safetensors` });
await model.fit(train, { epochs: 5, validationData: val, validationSteps: small ? 1 : 2, stepsPerEpoch: steps, callbacks: [checkpoint] });

// Fine-tuning: unfreeze the last 10 layers of the base, recompile with a low rate, resume at epoch 5.
const restored = await graft.loadModel(`${out}/ckpt-05.safetensors`);  // model = keras.models.load_model(...)
const restoredBase = restored.getLayer(base.name) as graft.Model;
restoredBase.trainable = true;                                               // base_model.trainable = True
for (const l of restoredBase.layers.slice(0, -10)) l.trainable = false;      // for layer in base_model.layers[:-10]: ...
restored.compile({ optimizer: graft.optimizers.adam({ learningRate: 1e-4 }), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
await restored.fit(train, { epochs: small ? 6 : 10, initialEpoch: 5, validationData: val, validationSteps: small ? 1 : 2, stepsPerEpoch: steps });
console.log(await restored.evaluate(val, small ? { steps: 1 } : {}));                                   // {loss, accuracy}
