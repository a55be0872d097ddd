// Conversions between ONNX TensorProto-family messages and eave tensors. Internal to import/:
// it is the only header outside the importer that includes the protobuf definitions.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "ir/tensor.h"
#include "ir/value_data.h"
// onnx_pb.h defines ONNX_API, which onnx-data.pb.h needs: keep this order.
#include "onnx/onnx_pb.h"
#include "onnx/onnx-data.pb.h"
#include "support/mapped_file.h"

namespace eave {

// Parses a protobuf message from bytes with protobuf's size limits raised to 2 GB; an Error
// naming `what` if the bytes are not a complete message.
void parse_proto(google::protobuf::MessageLite& msg, const void* data, size_t size,
                 const std::string& what);

// Reads TensorProtos, resolving external data relative to `base_dir`. External files are mapped
// once and tensors point into the mapping (no copy) when the data is suitably aligned.
class OnnxTensorReader {
 public:
  OnnxTensorReader(std::string base_dir, bool load_external)
      : base_dir_(std::move(base_dir)), load_external_(load_external) {}
  Tensor from_proto(const onnx::TensorProto& t, const std::string& what);
  Tensor from_sparse_proto(const onnx::SparseTensorProto& t, const std::string& what);

 private:
  Tensor external(const onnx::TensorProto& t, DType dt, std::vector<int64_t> dims,
                  const std::string& what);
  std::string base_dir_;
  bool load_external_;
  std::map<std::string, std::shared_ptr<MappedFile>> files_;
};

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p);
// Dims with dim_param become symbols of that name; blank dims become fresh symbols.
Type type_from_proto(const onnx::TypeProto& t, const std::string& what);
// Symbolic dims are written as dim_param strings (Dim::str()).
void type_to_proto(const Type& t, onnx::TypeProto* p);
// Moves a tensor's bytes to the end of `data` (64-byte aligned) and points `t` at file `location`.
void move_to_external(onnx::TensorProto& t, const std::string& location, std::string& data);

ValueData value_data_from_bytes(std::string_view bytes, const Type& expected,
                                const std::string& base_dir, const std::string& what);
std::string value_name_from_bytes(std::string_view bytes);

}  // namespace eave
