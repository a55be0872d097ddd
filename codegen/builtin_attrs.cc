#include "codegen/builtin_attrs.h"

#include <cstring>

#include "runtime/src/builtins/attrs.h"
#include "support/error.h"

namespace eave {

namespace {

class BlobWriter {
 public:
  template <class T>
  void put(T v) {
    size_t at = bytes_.size();
    bytes_.resize(at + sizeof(T));
    std::memcpy(bytes_.data() + at, &v, sizeof(T));
  }
  void put_bytes(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes_.insert(bytes_.end(), b, b + n);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace

std::vector<uint8_t> encode_builtin_attrs(const Node& n) {
  BlobWriter w;
  uint32_t count = 0;
  BlobWriter entries;
  for (const auto& [name, a] : n.attrs()) {
    uint8_t kind;
    switch (a.kind) {
      case AttrKind::Int: kind = EAVE_ATTR_INT; break;
      case AttrKind::Float: kind = EAVE_ATTR_FLOAT; break;
      case AttrKind::String: kind = EAVE_ATTR_STRING; break;
      case AttrKind::Ints: kind = EAVE_ATTR_INTS; break;
      case AttrKind::Floats: kind = EAVE_ATTR_FLOATS; break;
      case AttrKind::Tensor: kind = EAVE_ATTR_TENSOR; break;
      case AttrKind::Strings: kind = EAVE_ATTR_STRINGS; break;
      default: continue;  // graphs, types and the other lists: no builtin reads them
    }
    EAVE_CHECK(name.size() < 65536, n.describe(), ": attribute name too long");
    entries.put<uint16_t>(uint16_t(name.size()));
    entries.put<uint8_t>(kind);
    entries.put<uint8_t>(0);
    entries.put_bytes(name.data(), name.size());
    switch (a.kind) {
      case AttrKind::Int: entries.put<int64_t>(a.i); break;
      case AttrKind::Float: entries.put<double>(double(a.f)); break;
      case AttrKind::String:
        entries.put<uint32_t>(uint32_t(a.s.size()));
        entries.put_bytes(a.s.data(), a.s.size());
        break;
      case AttrKind::Ints:
        entries.put<uint32_t>(uint32_t(a.ints.size()));
        for (int64_t v : a.ints) entries.put<int64_t>(v);
        break;
      case AttrKind::Floats:
        entries.put<uint32_t>(uint32_t(a.floats.size()));
        for (float v : a.floats) entries.put<double>(double(v));
        break;
      case AttrKind::Tensor: {
        const Tensor& t = a.t;
        EAVE_CHECK(t.dtype() != DType::String && t.rank() <= EAVE_ATTR_MAX_RANK, n.describe(),
                   ": attribute '", name, "' holds a tensor a builtin cannot read");
        entries.put<uint32_t>(uint32_t(t.dtype()));
        entries.put<uint32_t>(uint32_t(t.rank()));
        for (int64_t d : t.dims()) entries.put<int64_t>(d);
        entries.put<uint64_t>(t.nbytes());
        entries.put_bytes(t.raw(), t.nbytes());
        break;
      }
      case AttrKind::Strings:
        entries.put<uint32_t>(uint32_t(a.strings.size()));
        for (const std::string& str : a.strings) {
          entries.put<uint32_t>(uint32_t(str.size()));
          entries.put_bytes(str.data(), str.size());
        }
        break;
      default: break;
    }
    ++count;
  }
  w.put<uint32_t>(EAVE_ATTRS_MAGIC);
  w.put<uint32_t>(EAVE_ATTRS_VERSION);
  w.put<uint32_t>(uint32_t(n.opset()));
  w.put<uint32_t>(count);
  w.put_bytes(entries.bytes().data(), entries.bytes().size());
  return std::move(w.bytes());
}

}  // namespace eave
