// What a graph value holds while a model runs: a tensor, a sequence of tensors, or an empty
// optional. Used by the reference interpreter and the test-data readers.
#pragma once

#include <vector>

#include "ir/tensor.h"
#include "ir/type.h"

namespace eave {

struct ValueData {
  enum class Kind { Tensor, Sequence, None };
  Kind kind = Kind::Tensor;
  Tensor tensor;
  std::vector<Tensor> sequence;
  Type none_type;  // for Kind::None: the type of the element that is missing

  ValueData() = default;
  ValueData(Tensor t) : kind(Kind::Tensor), tensor(std::move(t)) {}  // NOLINT
  static ValueData of_sequence(std::vector<Tensor> s) {
    ValueData v;
    v.kind = Kind::Sequence;
    v.sequence = std::move(s);
    return v;
  }
  static ValueData none(Type elem = {}) {
    ValueData v;
    v.kind = Kind::None;
    v.none_type = std::move(elem);
    return v;
  }
  bool is_tensor() const { return kind == Kind::Tensor; }
  bool is_sequence() const { return kind == Kind::Sequence; }
  bool is_none() const { return kind == Kind::None; }
};

}  // namespace eave
