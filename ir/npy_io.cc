#include "ir/npy_io.h"

#include <cstring>
#include <vector>

#include "runtime/src/npy.h"
#include "support/error.h"
#include "support/mapped_file.h"

namespace eave {

namespace {

DType dtype_of_descr(const char* d) {
  static const std::pair<const char*, DType> table[] = {
      {"f4", DType::F32}, {"f8", DType::F64}, {"f2", DType::F16}, {"i1", DType::I8},
      {"i2", DType::I16}, {"i4", DType::I32}, {"i8", DType::I64}, {"u1", DType::U8},
      {"u2", DType::U16}, {"u4", DType::U32}, {"u8", DType::U64}, {"b1", DType::Bool},
  };
  for (const auto& [name, t] : table)
    if (std::strcmp(name, d) == 0) return t;
  return DType::Undefined;
}

const char* descr_of_dtype(DType t) {
  switch (t) {
    case DType::F32: return "f4";
    case DType::F64: return "f8";
    case DType::F16: return "f2";
    case DType::I8: return "i1";
    case DType::I16: return "i2";
    case DType::I32: return "i4";
    case DType::I64: return "i8";
    case DType::U8: return "u1";
    case DType::U16: return "u2";
    case DType::U32: return "u4";
    case DType::U64: return "u8";
    case DType::Bool: return "b1";
    default: return nullptr;
  }
}

}  // namespace

Tensor npy_from_bytes(std::string_view bytes, const std::string& what) {
  eave_npy_header h;
  char err[256];
  if (eave_npy_parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), &h, err,
                     sizeof err) != 0)
    fail(what, ": ", err);
  if (h.descr[0] == 'U' || h.descr[0] == 'S') {
    Tensor t(DType::String, std::vector<int64_t>(h.dims, h.dims + h.rank));
    std::string text(h.itemsize + 1, '\0');
    const auto* data = reinterpret_cast<const uint8_t*>(bytes.data()) + h.data_offset;
    for (size_t i = 0; i < t.strings().size(); ++i) {
      long n = eave_npy_text_utf8(&h, data + i * h.itemsize, text.data());
      EAVE_CHECK(n >= 0, what, ": element ", i, " is not valid Unicode text");
      t.mutable_strings()[i].assign(text.data(), size_t(n));
    }
    return t;
  }
  DType dt = dtype_of_descr(h.descr);
  EAVE_CHECK(dt != DType::Undefined, what, ": element type ", h.descr, " is not supported");
  Tensor t(dt, std::vector<int64_t>(h.dims, h.dims + h.rank));
  EAVE_ASSERT(t.nbytes() == h.data_bytes);
  if (h.data_bytes) std::memcpy(t.mutable_raw(), bytes.data() + h.data_offset, h.data_bytes);
  if (dt == DType::Bool) {
    // NumPy bools are bytes 0/1; normalize anything else so later code can trust the values.
    auto* b = static_cast<uint8_t*>(t.mutable_raw());
    for (size_t i = 0; i < h.data_bytes; ++i) b[i] = b[i] ? 1 : 0;
  }
  return t;
}

Tensor read_npy(const std::string& path) {
  auto f = MappedFile::open(path);
  return npy_from_bytes({reinterpret_cast<const char*>(f->data()), f->size()}, "'" + path + "'");
}

// A string tensor as UTF-32 text of the longest element's width, as NumPy stores str arrays.
std::string text_npy_bytes(const Tensor& t) {
  std::vector<const char*> text;
  for (const std::string& s : t.strings()) text.push_back(s.c_str());
  char header[1024];
  size_t width;
  size_t n = eave_npy_format_text_header(text.data(), text.size(), int(t.rank()), t.dims().data(),
                                         header, sizeof header, &width);
  EAVE_CHECK(n > 0, "cannot write a .npy header for shape ", dims_str(t.dims()));
  std::string out(header, n);
  out.resize(n + text.size() * width * 4);
  auto* data = reinterpret_cast<uint8_t*>(out.data()) + n;
  for (size_t i = 0; i < text.size(); ++i)
    eave_npy_text_element(text[i], width, data + i * width * 4);
  return out;
}

std::string npy_to_bytes(const Tensor& t0) {
  if (t0.dtype() == DType::String) return text_npy_bytes(t0);
  Tensor t = t0.dtype() == DType::BF16 ? t0.cast(DType::F32) : t0;
  const char* descr = descr_of_dtype(t.dtype());
  EAVE_CHECK(descr, "cannot write ", dtype_name(t.dtype()), " tensors as .npy");
  char header[1024];
  size_t n = eave_npy_format_header(descr, int(t.rank()), t.dims().data(), header, sizeof header);
  EAVE_CHECK(n > 0, "cannot write a .npy header for shape ", dims_str(t.dims()));
  std::string out(header, n);
  out.append(static_cast<const char*>(t.raw()), t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) { write_file(path, npy_to_bytes(t)); }

}  // namespace eave
