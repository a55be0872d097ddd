// Typed node attributes. The kind is an enum, never inferred from a string; accessors on Node
// check the kind and name the node and attribute when it is wrong.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/tensor.h"
#include "ir/type.h"

namespace eave {

class Graph;

enum class AttrKind : uint8_t {
  Float,
  Int,
  String,
  Tensor,
  Graph,
  Type,
  Floats,
  Ints,
  Strings,
  Tensors,
  Graphs,
  Types,
};

const char* attr_kind_name(AttrKind k);

struct Attribute {
  AttrKind kind = AttrKind::Int;
  float f = 0;
  int64_t i = 0;
  std::string s;  // also raw bytes
  Tensor t;
  std::shared_ptr<Graph> g;
  Type type;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  std::vector<Type> types;

  static Attribute of_float(float v) { Attribute a; a.kind = AttrKind::Float; a.f = v; return a; }
  static Attribute of_int(int64_t v) { Attribute a; a.kind = AttrKind::Int; a.i = v; return a; }
  static Attribute of_string(std::string v) {
    Attribute a; a.kind = AttrKind::String; a.s = std::move(v); return a;
  }
  static Attribute of_tensor(Tensor v) { Attribute a; a.kind = AttrKind::Tensor; a.t = std::move(v); return a; }
  static Attribute of_graph(std::shared_ptr<Graph> v) {
    Attribute a; a.kind = AttrKind::Graph; a.g = std::move(v); return a;
  }
  static Attribute of_floats(std::vector<float> v) {
    Attribute a; a.kind = AttrKind::Floats; a.floats = std::move(v); return a;
  }
  static Attribute of_ints(std::vector<int64_t> v) {
    Attribute a; a.kind = AttrKind::Ints; a.ints = std::move(v); return a;
  }
  static Attribute of_strings(std::vector<std::string> v) {
    Attribute a; a.kind = AttrKind::Strings; a.strings = std::move(v); return a;
  }
};

}  // namespace eave
