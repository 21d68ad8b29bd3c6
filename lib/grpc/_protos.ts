/**
 * The .proto files the gRPC transport serves or speaks itself, embedded as
 * text so that no file has to be read for them: the standard health and
 * reflection services, the JSON fallback service, the subset of
 * `google/rpc` used for error details, and the subset of
 * `google/protobuf/descriptor.proto` that reflection answers are made of.
 * Field numbers are those of the upstream files, so the messages are
 * wire-compatible with them.
 *
 * @module
 */

/** `grpc/health/v1/health.proto` (https://github.com/grpc/grpc-proto). */
export const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;

message HealthCheckRequest {
  string service = 1;
}

message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}

message HealthListRequest {}

message HealthListResponse {
  map<string, HealthCheckResponse> statuses = 1;
}

service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc List(HealthListRequest) returns (HealthListResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
}
`;

/** `grpc/reflection/<version>/reflection.proto`, for `v1` and `v1alpha` (same messages). */
export function reflectionProto(version: "v1" | "v1alpha"): string {
  return `
syntax = "proto3";
package grpc.reflection.${version};

service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}

message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    ExtensionRequest file_containing_extension = 5;
    string all_extension_numbers_of_type = 6;
    string list_services = 7;
  }
}

message ExtensionRequest {
  string containing_type = 1;
  int32 extension_number = 2;
}

message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ExtensionNumberResponse all_extension_numbers_response = 5;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}

message FileDescriptorResponse {
  repeated bytes file_descriptor_proto = 1;
}

message ExtensionNumberResponse {
  string base_type_name = 1;
  repeated int32 extension_number = 2;
}

message ListServiceResponse {
  repeated ServiceResponse service = 1;
}

message ServiceResponse {
  string name = 1;
}

message ErrorResponse {
  int32 error_code = 1;
  string error_message = 2;
}
`;
}

/**
 * `flotilla/json/v1/json.proto`: calls any action of the hosted service with
 * JSON input and output — the fallback for contracts that have no .proto.
 */
export const JSON_PROTO = `
syntax = "proto3";
package flotilla.json.v1;

import "google/protobuf/struct.proto";

// Calls the actions of the Flotilla service this server hosts, with JSON values.
service Json {
  // Calls a request/response action; answers its output.
  rpc Call(JsonCall) returns (google.protobuf.Value);
  // Calls a streaming action; answers each item of its output.
  rpc Stream(JsonCall) returns (stream google.protobuf.Value);
}

message JsonCall {
  // The service's name (its contract's); empty for the one this server hosts.
  string service = 1;
  // The action's name, as in the contract: "getOrder".
  string action = 2;
  // The action's input; an empty object when unset.
  google.protobuf.Value input = 3;
}
`;

/** `google/rpc/status.proto` and the `ErrorInfo` and `BadRequest` of `error_details.proto`. */
export const RPC_STATUS_PROTO = `
syntax = "proto3";
package google.rpc;

import "google/protobuf/any.proto";

message Status {
  int32 code = 1;
  string message = 2;
  repeated google.protobuf.Any details = 3;
}

message ErrorInfo {
  string reason = 1;
  string domain = 2;
  map<string, string> metadata = 3;
}

message BadRequest {
  message FieldViolation {
    string field = 1;
    string description = 2;
  }
  repeated FieldViolation field_violations = 1;
}
`;

/** The part of `google/protobuf/descriptor.proto` that describes proto3 files. */
export const DESCRIPTOR_PROTO = `
syntax = "proto2";
package google.protobuf;

message FileDescriptorProto {
  optional string name = 1;
  optional string package = 2;
  repeated string dependency = 3;
  repeated DescriptorProto message_type = 4;
  repeated EnumDescriptorProto enum_type = 5;
  repeated ServiceDescriptorProto service = 6;
  optional FileOptions options = 8;
  optional string syntax = 12;
}

message DescriptorProto {
  optional string name = 1;
  repeated FieldDescriptorProto field = 2;
  repeated DescriptorProto nested_type = 3;
  repeated EnumDescriptorProto enum_type = 4;
  optional MessageOptions options = 7;
  repeated OneofDescriptorProto oneof_decl = 8;
}

message FieldDescriptorProto {
  optional string name = 1;
  optional int32 number = 3;
  optional int32 label = 4;
  optional int32 type = 5;
  optional string type_name = 6;
  optional FieldOptions options = 8;
  optional int32 oneof_index = 9;
  optional string json_name = 10;
  optional bool proto3_optional = 17;
}

message OneofDescriptorProto {
  optional string name = 1;
}

message EnumDescriptorProto {
  optional string name = 1;
  repeated EnumValueDescriptorProto value = 2;
}

message EnumValueDescriptorProto {
  optional string name = 1;
  optional int32 number = 2;
}

message ServiceDescriptorProto {
  optional string name = 1;
  repeated MethodDescriptorProto method = 2;
}

message MethodDescriptorProto {
  optional string name = 1;
  optional string input_type = 2;
  optional string output_type = 3;
  optional bool client_streaming = 5;
  optional bool server_streaming = 6;
}

message FileOptions {
  optional string java_package = 1;
  optional string go_package = 11;
}

message MessageOptions {
  optional bool map_entry = 7;
}

message FieldOptions {
  optional bool packed = 2;
  optional bool deprecated = 3;
}
`;

/** The embedded files, by the name other files import them with. */
export const SERVED_PROTOS: Readonly<Record<string, string>> = {
  "grpc/health/v1/health.proto": HEALTH_PROTO,
  "grpc/reflection/v1/reflection.proto": reflectionProto("v1"),
  "grpc/reflection/v1alpha/reflection.proto": reflectionProto("v1alpha"),
  "flotilla/json/v1/json.proto": JSON_PROTO,
};
