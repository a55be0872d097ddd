#include "import/onnx_tensor.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>
#include <cstring>
#include <filesystem>

#include "support/error.h"

namespace eave {

void parse_proto(google::protobuf::MessageLite& msg, const void* data, size_t size,
                 const std::string& what) {
  if (size > size_t(INT_MAX))
    fail(what, ": ", size,
         " bytes is over protobuf's 2 GB limit; store the weights as external data");
  google::protobuf::io::ArrayInputStream in(data, int(size));
  google::protobuf::io::CodedInputStream coded(&in);
  coded.SetTotalBytesLimit(INT_MAX);
  coded.SetRecursionLimit(512);
  if (!msg.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    fail(what, ": not a valid ONNX protobuf file (truncated or corrupt)");
}

namespace {

std::vector<int64_t> proto_dims(const onnx::TensorProto& t, const std::string& what) {
  std::vector<int64_t> dims(t.dims().begin(), t.dims().end());
  for (int64_t d : dims) EAVE_CHECK(d >= 0, what, ": negative dimension ", d);
  return dims;
}

DType proto_dtype(const onnx::TensorProto& t, const std::string& what) {
  DType dt = dtype_from_onnx(t.data_type());
  EAVE_CHECK(dt != DType::Undefined, what, ": element type code ", t.data_type(),
             " is not supported");
  return dt;
}

// Copies typed repeated fields into `out`, converting each element with `conv`.
template <class Src, class Dst, class Conv>
void copy_field(const google::protobuf::RepeatedField<Src>& f, Dst* out, int64_t n,
                const std::string& what, Conv conv) {
  EAVE_CHECK(f.size() == n, what, ": has ", f.size(), " values, expected ", n);
  for (int64_t i = 0; i < n; ++i) out[i] = conv(f.Get(int(i)));
}

}  // namespace

Tensor OnnxTensorReader::external(const onnx::TensorProto& t, DType dt, std::vector<int64_t> dims,
                                  const std::string& what) {
  std::string location;
  int64_t offset = 0;
  int64_t length = -1;
  for (const auto& kv : t.external_data()) {
    if (kv.key() == "location") location = kv.value();
    else if (kv.key() == "offset") offset = std::strtoll(kv.value().c_str(), nullptr, 10);
    else if (kv.key() == "length") length = std::strtoll(kv.value().c_str(), nullptr, 10);
  }
  EAVE_CHECK(!location.empty(), what, ": external data without a location");
  std::filesystem::path loc(location);
  EAVE_CHECK(!loc.is_absolute(), what, ": external data location '", location,
             "' must be relative to the model");
  for (const auto& part : loc)
    EAVE_CHECK(part != "..", what, ": external data location '", location,
               "' leaves the model's folder");
  EAVE_CHECK(dt != DType::String, what, ": string tensors cannot be stored externally");
  size_t expected = size_t(shape_numel(dims)) * dtype_size(dt);
  if (!load_external_) return Tensor(dt, std::move(dims));
  std::string path = (std::filesystem::path(base_dir_.empty() ? "." : base_dir_) / loc).string();
  auto& file = files_[path];
  if (!file) file = MappedFile::open(path);
  EAVE_CHECK(offset >= 0, what, ": negative external data offset ", offset);
  if (length < 0) length = int64_t(expected);
  EAVE_CHECK(size_t(length) == expected, what, ": external data length ", length,
             " does not match the ", expected, " bytes its type and shape need");
  EAVE_CHECK(size_t(offset) <= file->size() && expected <= file->size() - size_t(offset), what,
             ": external data at offset ", offset, " + ", expected, " bytes is past the end of '",
             path, "' (", file->size(), " bytes)");
  const uint8_t* p = file->data() + offset;
  if (reinterpret_cast<uintptr_t>(p) % dtype_size(dt) == 0) {
    auto storage = std::make_shared<BorrowedStorage>(p, expected, file);
    return Tensor(dt, std::move(dims), std::move(storage));
  }
  Tensor out(dt, std::move(dims));
  std::memcpy(out.mutable_raw(), p, expected);
  return out;
}

Tensor OnnxTensorReader::from_proto(const onnx::TensorProto& t, const std::string& what) {
  DType dt = proto_dtype(t, what);
  std::vector<int64_t> dims = proto_dims(t, what);
  if (t.data_location() == onnx::TensorProto::EXTERNAL) return external(t, dt, dims, what);
  Tensor out(dt, dims);
  int64_t n = out.numel();
  if (dt == DType::String) {
    EAVE_CHECK(t.string_data_size() == n, what, ": has ", t.string_data_size(),
               " strings, expected ", n);
    for (int64_t i = 0; i < n; ++i) out.mutable_strings()[size_t(i)] = t.string_data(int(i));
    return out;
  }
  if (t.has_raw_data()) {
    EAVE_CHECK(t.raw_data().size() == out.nbytes(), what, ": has ", t.raw_data().size(),
               " bytes of data, expected ", out.nbytes(), " for ", dtype_name(dt),
               dims_str(dims));
    if (out.nbytes()) std::memcpy(out.mutable_raw(), t.raw_data().data(), out.nbytes());
    return out;
  }
  auto id = [](auto v) { return v; };
  switch (dt) {
    case DType::F32: copy_field(t.float_data(), out.mutable_data<float>(), n, what, id); break;
    case DType::F64: copy_field(t.double_data(), out.mutable_data<double>(), n, what, id); break;
    case DType::I64: copy_field(t.int64_data(), out.mutable_data<int64_t>(), n, what, id); break;
    case DType::I32: copy_field(t.int32_data(), out.mutable_data<int32_t>(), n, what, id); break;
    case DType::I16:
      copy_field(t.int32_data(), out.mutable_data<int16_t>(), n, what, [](int32_t v) { return int16_t(v); });
      break;
    case DType::I8:
      copy_field(t.int32_data(), out.mutable_data<int8_t>(), n, what, [](int32_t v) { return int8_t(v); });
      break;
    case DType::U16:
      copy_field(t.int32_data(), out.mutable_data<uint16_t>(), n, what, [](int32_t v) { return uint16_t(v); });
      break;
    case DType::U8:
      copy_field(t.int32_data(), out.mutable_data<uint8_t>(), n, what, [](int32_t v) { return uint8_t(v); });
      break;
    case DType::Bool:
      copy_field(t.int32_data(), out.mutable_data<bool>(), n, what, [](int32_t v) { return v != 0; });
      break;
    case DType::F16:
      copy_field(t.int32_data(), out.mutable_data<Float16>(), n, what,
                 [](int32_t v) { return Float16::from_bits(uint16_t(v)); });
      break;
    case DType::BF16:
      copy_field(t.int32_data(), out.mutable_data<BFloat16>(), n, what,
                 [](int32_t v) { return BFloat16::from_bits(uint16_t(v)); });
      break;
    case DType::U32:
      copy_field(t.uint64_data(), out.mutable_data<uint32_t>(), n, what, [](uint64_t v) { return uint32_t(v); });
      break;
    case DType::U64: copy_field(t.uint64_data(), out.mutable_data<uint64_t>(), n, what, id); break;
    case DType::Complex64: {
      EAVE_CHECK(t.float_data_size() == 2 * n, what, ": has ", t.float_data_size(),
                 " floats, expected ", 2 * n);
      std::memcpy(out.mutable_raw(), t.float_data().data(), out.nbytes());
      break;
    }
    case DType::Complex128: {
      EAVE_CHECK(t.double_data_size() == 2 * n, what, ": has ", t.double_data_size(),
                 " doubles, expected ", 2 * n);
      std::memcpy(out.mutable_raw(), t.double_data().data(), out.nbytes());
      break;
    }
    default: fail(what, ": element type ", dtype_name(dt), " cannot be read");
  }
  return out;
}

Tensor OnnxTensorReader::from_sparse_proto(const onnx::SparseTensorProto& sp,
                                           const std::string& what) {
  Tensor values = from_proto(sp.values(), what + " values");
  Tensor indices = from_proto(sp.indices(), what + " indices");
  std::vector<int64_t> dims(sp.dims().begin(), sp.dims().end());
  for (int64_t d : dims) EAVE_CHECK(d >= 0, what, ": negative dimension ", d);
  Tensor out(values.dtype(), dims);
  EAVE_CHECK(values.dtype() != DType::String, what, ": sparse string tensors are not supported");
  int64_t nnz = values.numel();
  int64_t total = out.numel();
  size_t es = dtype_size(values.dtype());
  auto linear = [&](int64_t k) -> int64_t {
    if (indices.rank() == 1) return indices.as_int(k);
    EAVE_CHECK(indices.rank() == 2 && indices.dim(1) == int64_t(dims.size()), what,
               ": indices must be [nnz] or [nnz, rank]");
    int64_t idx = 0;
    for (size_t d = 0; d < dims.size(); ++d) {
      int64_t i = indices.as_int(k * int64_t(dims.size()) + int64_t(d));
      EAVE_CHECK(i >= 0 && i < dims[d], what, ": index ", i, " out of range for dimension ", d);
      idx = idx * dims[d] + i;
    }
    return idx;
  };
  EAVE_CHECK(indices.dim(0) == nnz, what, ": ", indices.dim(0), " indices for ", nnz, " values");
  const uint8_t* src = static_cast<const uint8_t*>(values.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.mutable_raw());
  for (int64_t k = 0; k < nnz; ++k) {
    int64_t at = linear(k);
    EAVE_CHECK(at >= 0 && at < total, what, ": index ", at, " out of range");
    std::memcpy(dst + size_t(at) * es, src + size_t(k) * es, es);
  }
  return out;
}


Type type_from_proto(const onnx::TypeProto& t, const std::string& what) {
  switch (t.value_case()) {
    case onnx::TypeProto::kTensorType:
    case onnx::TypeProto::kSparseTensorType: {
      bool sparse = t.value_case() == onnx::TypeProto::kSparseTensorType;
      int32_t elem = sparse ? t.sparse_tensor_type().elem_type() : t.tensor_type().elem_type();
      bool has_shape = sparse ? t.sparse_tensor_type().has_shape() : t.tensor_type().has_shape();
      const auto& shape = sparse ? t.sparse_tensor_type().shape() : t.tensor_type().shape();
      DType dt = dtype_from_onnx(elem);
      if (elem != 0 && dt == DType::Undefined)
        fail(what, ": element type code ", elem, " is not supported");
      Shape s;
      if (has_shape) {
        std::vector<Dim> dims;
        for (const auto& d : shape.dim()) {
          if (d.has_dim_value()) {
            EAVE_CHECK(d.dim_value() >= 0, what, ": negative dimension ", d.dim_value());
            dims.emplace_back(d.dim_value());
          } else if (d.has_dim_param() && !d.dim_param().empty()) {
            dims.push_back(Dim::symbol(d.dim_param()));
          } else {
            dims.push_back(fresh_dim("unk"));
          }
        }
        s = Shape(std::move(dims));
      }
      return Type::tensor(dt, std::move(s));
    }
    case onnx::TypeProto::kSequenceType:
      return Type::sequence(type_from_proto(t.sequence_type().elem_type(), what));
    case onnx::TypeProto::kOptionalType:
      return Type::optional(type_from_proto(t.optional_type().elem_type(), what));
    case onnx::TypeProto::kMapType:
      return Type{};  // maps only appear around ai.onnx.ml classifiers; left untyped
    default:
      return Type{};
  }
}

void type_to_proto(const Type& t, onnx::TypeProto* p) {
  switch (t.kind) {
    case TypeKind::Tensor: {
      auto* tt = p->mutable_tensor_type();
      tt->set_elem_type(dtype_to_onnx(t.dtype));
      if (t.shape.has_rank()) {
        auto* sp = tt->mutable_shape();
        for (const Dim& d : t.shape.dims()) {
          auto* dp = sp->add_dim();
          if (d.is_const())
            dp->set_dim_value(d.value());
          else
            dp->set_dim_param(d.str());
        }
      }
      break;
    }
    case TypeKind::Sequence:
      type_to_proto(*t.elem, p->mutable_sequence_type()->mutable_elem_type());
      break;
    case TypeKind::Optional:
      type_to_proto(*t.elem, p->mutable_optional_type()->mutable_elem_type());
      break;
    case TypeKind::Unknown: break;
  }
}

void tensor_to_proto(const Tensor& t, const std::string& name, onnx::TensorProto* p) {
  if (!name.empty()) p->set_name(name);
  p->set_data_type(dtype_to_onnx(t.dtype()));
  for (int64_t d : t.dims()) p->add_dims(d);
  if (t.dtype() == DType::String) {
    for (const auto& s : t.strings()) p->add_string_data(s);
  } else {
    p->set_raw_data(t.raw(), t.nbytes());
  }
}

void move_to_external(onnx::TensorProto& t, const std::string& location, std::string& data) {
  if (!t.has_raw_data() || t.raw_data().size() < 1024) return;
  size_t offset = (data.size() + 63) / 64 * 64;
  data.resize(offset, '\0');
  data += t.raw_data();
  size_t length = t.raw_data().size();
  t.clear_raw_data();
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto add = [&](const char* k, const std::string& v) {
    auto* e = t.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  add("offset", std::to_string(offset));
  add("length", std::to_string(length));
}

namespace {

ValueData sequence_from_proto(const onnx::SequenceProto& s, OnnxTensorReader& r,
                              const std::string& what) {
  std::vector<Tensor> items;
  for (const auto& t : s.tensor_values()) items.push_back(r.from_proto(t, what));
  EAVE_CHECK(s.sequence_values_size() == 0 && s.map_values_size() == 0, what,
             ": sequences of sequences or maps are not supported");
  return ValueData::of_sequence(std::move(items));
}

}  // namespace

ValueData value_data_from_bytes(std::string_view bytes, const Type& expected,
                                const std::string& base_dir, const std::string& what) {
  OnnxTensorReader reader(base_dir, true);
  if (expected.kind == TypeKind::Sequence) {
    onnx::SequenceProto s;
    parse_proto(s, bytes.data(), bytes.size(), what);
    return sequence_from_proto(s, reader, what);
  }
  if (expected.kind == TypeKind::Optional) {
    onnx::OptionalProto o;
    parse_proto(o, bytes.data(), bytes.size(), what);
    if (o.has_tensor_value()) return reader.from_proto(o.tensor_value(), what);
    if (o.has_sequence_value()) return sequence_from_proto(o.sequence_value(), reader, what);
    return ValueData::none(expected.elem ? *expected.elem : Type{});
  }
  onnx::TensorProto t;
  parse_proto(t, bytes.data(), bytes.size(), what);
  return reader.from_proto(t, what);
}

std::string value_name_from_bytes(std::string_view bytes) {
  onnx::TensorProto t;
  google::protobuf::io::ArrayInputStream in(bytes.data(), int(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&in);
  if (!t.ParseFromCodedStream(&coded)) return "";
  return t.name();
}

}  // namespace eave
