// Reads ONNX models (protobuf via Debian's libonnx) into the graph IR, and writes them back.
//
// Handles what real files contain: opsets 1 to 21, IR versions 3 to 10, initializers and
// Constant nodes (both become constant values), external data next to the model (memory-mapped,
// not copied), sparse initializers, nodes out of topological order, empty optional inputs,
// subgraphs with outer-scope references, and model-local functions (inlined). Anything else is
// an Error that names the node, op or field at fault.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ir/graph.h"
#include "ir/value_data.h"

namespace eave {

struct ImportOptions {
  // Read tensors stored in external files. Off: such tensors import as zeros of the right type
  // (for tools that only need the graph structure).
  bool load_external_data = true;
  // Infer dtypes and (symbolic) shapes of every value after import.
  bool infer_shapes = true;
};

std::unique_ptr<Model> import_onnx_file(const std::string& path, const ImportOptions& opts = {});
// `base_dir` locates external data files; empty if the model has none.
std::unique_ptr<Model> import_onnx_bytes(std::string_view bytes, const std::string& base_dir = "",
                                         const ImportOptions& opts = {});

// Serializes a model. Tensors larger than `external_threshold` bytes go to `path` + ".data" when
// writing to a file and the model would not fit in protobuf's 2 GB limit otherwise.
void export_onnx_file(const Model& m, const std::string& path);
std::string export_onnx_bytes(const Model& m);

// Reads a serialized TensorProto, SequenceProto or OptionalProto (the ONNX test-data files);
// which one is decided by `expected`, the type of the graph value the file is for.
ValueData read_onnx_value_file(const std::string& path, const Type& expected);
// The `name` field stored in such a file (empty if none).
std::string read_onnx_value_name(const std::string& path);

}  // namespace eave
