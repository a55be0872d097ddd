#include "ir/shape_inference.h"

#include <stdexcept>

#include "support/error.h"

namespace eave {

// ---------------------------------------------------------------- InferContext

const Type& InferContext::input_type(size_t i) const {
  const Value* v = node_.input(i);
  if (!v) fail("required input ", i, " is missing");
  return v->type();
}

const Tensor* InferContext::const_input(size_t i) const {
  const Value* v = node_.input(i);
  return v ? v->constant() : nullptr;
}

std::optional<std::vector<Dim>> InferContext::sym_input(size_t i) const {
  const Value* v = node_.input(i);
  if (!v) return std::nullopt;
  if (const Tensor* t = v->constant()) {
    if (!is_integer(t->dtype()) || t->rank() > 1 || t->numel() > 4096) return std::nullopt;
    std::vector<Dim> out;
    for (int64_t k = 0; k < t->numel(); ++k) out.emplace_back(t->as_int(k));
    return out;
  }
  return v->sym_data();
}

std::optional<std::vector<int64_t>> InferContext::int_input(size_t i) const {
  auto s = sym_input(i);
  if (!s) return std::nullopt;
  std::vector<int64_t> out;
  for (const Dim& d : *s) {
    if (!d.is_const()) return std::nullopt;
    out.push_back(d.value());
  }
  return out;
}

void InferContext::set_output(size_t i, DType dtype, Shape shape) {
  set_output_type(i, Type::tensor(dtype, std::move(shape)));
}

namespace {

// Keeps what the declared type knows beyond the inferred one: constants for inferred symbols.
Type merge_types(const Type& declared, Type inferred) {
  if (!declared.known()) return inferred;
  if (!inferred.known()) return declared;
  if (declared.kind != inferred.kind) return inferred;
  if (inferred.kind != TypeKind::Tensor) return inferred;
  if (inferred.dtype == DType::Undefined) inferred.dtype = declared.dtype;
  if (!inferred.shape.has_rank()) {
    inferred.shape = declared.shape;
    return inferred;
  }
  if (declared.shape.has_rank() && declared.shape.rank() == inferred.shape.rank()) {
    std::vector<Dim> dims = inferred.shape.dims();
    for (size_t d = 0; d < dims.size(); ++d)
      if (!dims[d].is_const() && declared.shape[d].is_const()) dims[d] = declared.shape[d];
    inferred.shape = Shape(std::move(dims));
  }
  return inferred;
}

}  // namespace

void InferContext::set_output_type(size_t i, Type t) {
  Value* v = node_.output(i);
  if (!v) return;
  v->set_type(merge_types(v->type(), std::move(t)));
}

void InferContext::set_sym_output(size_t i, std::vector<Dim> values) {
  Value* v = node_.output(i);
  if (v) v->set_sym_data(std::move(values));
}

int64_t InferContext::axis(int64_t a, int64_t rank) const {
  int64_t r = a < 0 ? a + rank : a;
  check(r >= 0 && r < rank, "axis ", a, " is out of range for rank ", rank);
  return r;
}

// ---------------------------------------------------------------- broadcasting

Shape broadcast_shapes(const std::vector<Shape>& shapes, const std::string& who) {
  size_t rank = 0;
  for (const auto& s : shapes) {
    if (!s.has_rank()) return Shape();
    rank = std::max(rank, s.rank());
  }
  std::vector<Dim> out(rank, Dim(1));
  for (const auto& s : shapes) {
    size_t shift = rank - s.rank();
    for (size_t i = 0; i < s.rank(); ++i) {
      Dim& o = out[shift + i];
      const Dim& d = s[i];
      if (o == d || d == Dim(1)) continue;
      if (o == Dim(1)) {
        o = d;
        continue;
      }
      if (o.is_const() && d.is_const()) {
        std::string all;
        for (const auto& x : shapes) all += (all.empty() ? "" : " and ") + x.str();
        fail(who, ": shapes ", all, " cannot be broadcast together");
      }
      // Two different symbols, or a symbol and a constant > 1: they must be equal at run time
      // (or one of them 1). Prefer the constant.
      if (d.is_const()) o = d;
    }
  }
  return Shape(std::move(out));
}

// ---------------------------------------------------------------- driver

namespace {

const std::vector<InferFn>& rules() {
  static const std::vector<InferFn>* r = [] {
    auto* v = new std::vector<InferFn>(size_t(OpKind::NumKinds), nullptr);
#define EAVE_INFER_FAMILY(name) register_##name##_infer_rules(*v);
#include "ir/infer/families.def"
#undef EAVE_INFER_FAMILY
    return v;
  }();
  return *r;
}

}  // namespace

InferFn find_infer_rule(OpKind k) { return rules()[size_t(k)]; }

Type join_types(const Type& a, const Type& b) {
  if (!a.known()) return b;
  if (!b.known()) return a;
  if (a.kind != b.kind) return Type{};
  if (a.kind != TypeKind::Tensor) {
    if (a.elem && b.elem)
      return Type{a.kind, DType::Undefined, {}, std::make_shared<Type>(join_types(*a.elem, *b.elem))};
    return a;
  }
  DType dt = a.dtype == b.dtype ? a.dtype : DType::Undefined;
  if (!a.shape.has_rank() || !b.shape.has_rank() || a.shape.rank() != b.shape.rank())
    return Type::tensor(dt, Shape());
  std::vector<Dim> dims;
  for (size_t i = 0; i < a.shape.rank(); ++i)
    dims.push_back(a.shape[i] == b.shape[i] ? a.shape[i] : fresh_dim("dyn"));
  return Type::tensor(dt, Shape(std::move(dims)));
}

void infer_node(Node& n, const InferOptions& opts) {
  if (InferFn fn = find_infer_rule(n.kind())) {
    InferContext ctx(n, &opts);
    try {
      fn(ctx);
    } catch (const std::out_of_range&) {
      // A rule read a dim or attribute entry the node does not have (Shape::operator[] and
      // attribute lists are bounds-checked): a malformed node, reported as such.
      fail(n.describe(), ": its inputs or attributes have fewer entries than the op needs");
    }
    return;
  }
  if (opts.fallback) opts.fallback(n);
}

void infer_shapes(Graph& g, const InferOptions& opts) {
  for (const auto& n : g.nodes()) {
    // Rules for control flow infer their subgraphs themselves; other subgraph-holding ops get
    // their subgraphs inferred first.
    infer_node(*n, opts);
  }
}

}  // namespace eave
