// The subset of TensorFlow's event.proto / summary.proto / tensor.proto that scalar logging needs (protobufjs reflection).

import protobuf from 'protobufjs';

// NOTE: field numbers and names follow tensorflow/core/util/event.proto and tensorflow/core/framework/*.proto.
const SOURCE = `
syntax = "proto3";
package tensorboard;

enum DataType { DT_INVALID = 0; DT_FLOAT = 1; DT_DOUBLE = 2; DT_INT32 = 3; }

message TensorShapeProto {
  message Dim { int64 size = 1; string name = 2; }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
}

enum DataClass { DATA_CLASS_UNKNOWN = 0; DATA_CLASS_SCALAR = 1; DATA_CLASS_TENSOR = 2; DATA_CLASS_BLOB_SEQUENCE = 3; }

message SummaryMetadata {
  message PluginData { string plugin_name = 1; bytes content = 2; }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  DataClass data_class = 4;
}

message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
  }
}
`;

const root = protobuf.parse(SOURCE, { keepCase: true }).root;

/** The Event message type. */
export const EventType = root.lookupType('tensorboard.Event');

/** TensorFlow's DT_FLOAT. */
export const DT_FLOAT = 1;
/** SummaryMetadata.DataClass.DATA_CLASS_SCALAR. */
export const DATA_CLASS_SCALAR = 1;
