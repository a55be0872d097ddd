// The type of an IR value: a tensor (element type and shape), or a sequence or optional of one.
#pragma once

#include <memory>
#include <string>

#include "ir/dim.h"
#include "ir/dtype.h"

namespace eave {

enum class TypeKind : uint8_t { Tensor, Sequence, Optional, Unknown };

struct Type {
  TypeKind kind = TypeKind::Unknown;
  DType dtype = DType::Undefined;  // tensors only
  Shape shape;                     // tensors only
  std::shared_ptr<const Type> elem;  // sequences and optionals

  static Type tensor(DType dtype, Shape shape) {
    return Type{TypeKind::Tensor, dtype, std::move(shape), nullptr};
  }
  static Type sequence(Type elem) {
    return Type{TypeKind::Sequence, DType::Undefined, {}, std::make_shared<Type>(std::move(elem))};
  }
  static Type optional(Type elem) {
    return Type{TypeKind::Optional, DType::Undefined, {}, std::make_shared<Type>(std::move(elem))};
  }
  bool is_tensor() const { return kind == TypeKind::Tensor; }
  bool known() const { return kind != TypeKind::Unknown; }
  // "f32[batch,3,224,224]", "seq<f32[?]>", "opt<i64[2]>", "?"
  std::string str() const;

  friend bool operator==(const Type& a, const Type& b);
};

}  // namespace eave
