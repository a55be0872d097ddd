// Shape inference: reductions (ReduceX, ArgMax/ArgMin).
#include "ir/shape_inference.h"

namespace eave {

namespace {

void reduce(InferContext& c) {
  DType dt = c.in_dtype(0);
  OpKind k = c.node().kind();
  if (k == OpKind::ArgMax || k == OpKind::ArgMin) dt = DType::I64;
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  int64_t r = int64_t(s.rank());
  bool keep = c.node().attr_int("keepdims", 1) != 0;
  std::vector<int64_t> axes;
  bool all = false;
  if (k == OpKind::ArgMax || k == OpKind::ArgMin) {
    axes = {c.node().attr_int("axis", 0)};
  } else if (c.node().has_attr("axes")) {
    axes = c.node().attr_ints("axes");
  } else if (c.has_input(1)) {
    auto v = c.int_input(1);
    if (!v) {
      // Unknown axes: the rank is known only if dims are kept.
      if (!keep) return c.set_output(0, dt, Shape());
      std::vector<Dim> out;
      for (int64_t i = 0; i < r; ++i) out.push_back(fresh_dim("reduce"));
      return c.set_output(0, dt, Shape(std::move(out)));
    }
    axes = *v;
  }
  if (axes.empty()) {
    if (c.node().attr_int("noop_with_empty_axes", 0) != 0)
      return c.set_output(0, dt, s);
    all = true;
  }
  std::vector<bool> reduced(size_t(r), all);
  for (int64_t a : axes) reduced[size_t(c.axis(a, r))] = true;
  std::vector<Dim> out;
  for (int64_t i = 0; i < r; ++i) {
    if (!reduced[size_t(i)]) out.push_back(s[size_t(i)]);
    else if (keep) out.push_back(Dim(1));
  }
  c.set_output(0, dt, Shape(std::move(out)));
}

}  // namespace

void register_reduction_infer_rules(std::vector<InferFn>& r) {
  for (OpKind k : {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax, OpKind::ReduceMin,
                   OpKind::ReduceProd, OpKind::ReduceL1, OpKind::ReduceL2, OpKind::ReduceLogSum,
                   OpKind::ReduceLogSumExp, OpKind::ReduceSumSquare, OpKind::ArgMax,
                   OpKind::ArgMin})
    r[size_t(k)] = reduce;
}

}  // namespace eave
