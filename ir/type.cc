#include "ir/attribute.h"
#include "ir/type.h"

namespace eave {

std::string Type::str() const {
  switch (kind) {
    case TypeKind::Tensor: return std::string(dtype_name(dtype)) + shape.str();
    case TypeKind::Sequence: return "seq<" + (elem ? elem->str() : "?") + ">";
    case TypeKind::Optional: return "opt<" + (elem ? elem->str() : "?") + ">";
    case TypeKind::Unknown: return "?";
  }
  return "?";
}

bool operator==(const Type& a, const Type& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case TypeKind::Tensor: return a.dtype == b.dtype && a.shape == b.shape;
    case TypeKind::Sequence:
    case TypeKind::Optional:
      if (!a.elem || !b.elem) return a.elem == b.elem;
      return *a.elem == *b.elem;
    case TypeKind::Unknown: return true;
  }
  return false;
}

const char* attr_kind_name(AttrKind k) {
  switch (k) {
    case AttrKind::Float: return "float";
    case AttrKind::Int: return "int";
    case AttrKind::String: return "string";
    case AttrKind::Tensor: return "tensor";
    case AttrKind::Graph: return "graph";
    case AttrKind::Type: return "type";
    case AttrKind::Floats: return "floats";
    case AttrKind::Ints: return "ints";
    case AttrKind::Strings: return "strings";
    case AttrKind::Tensors: return "tensors";
    case AttrKind::Graphs: return "graphs";
    case AttrKind::Types: return "types";
  }
  return "?";
}

}  // namespace eave
