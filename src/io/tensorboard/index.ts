// TensorBoard event files: writer, reader, and the TFRecord / CRC-32C pieces underneath.

export * from './crc32c.js';
export * from './tfrecord.js';
export * from './event-writer.js';
export * from './event-reader.js';
