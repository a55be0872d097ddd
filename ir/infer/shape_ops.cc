// Shape inference: data-movement and shape ops (Shape, Reshape, Concat, Slice, Gather, ...).
// These carry the symbolic values of shape tensors through the graph.
//
// Slice and Pad assume a symbolic dim is at least as large as the constants it is sliced with
// (x[:, 1:] of x: [batch, seq] gives [batch, seq - 1]), as every real shape computation needs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ir/shape_inference.h"

namespace eave {

namespace {

constexpr int64_t kHuge = int64_t(1) << 31;  // Slice ends at or past this mean "to the end"

std::vector<int64_t> axes_of(InferContext& c, const std::string& attr, size_t input) {
  if (c.node().has_attr(attr)) return c.node().attr_ints(attr);
  if (c.has_input(input)) {
    auto v = c.int_input(input);
    if (v) return *v;
  }
  return {};
}

bool axes_known(InferContext& c, const std::string& attr, size_t input) {
  return c.node().has_attr(attr) || !c.has_input(input) || c.int_input(input).has_value();
}

void shape_op(InferContext& c) {
  if (!c.ranked(0)) {
    c.set_output(0, DType::I64, Shape({fresh_dim("rank")}));
    return;
  }
  int64_t r = int64_t(c.in_shape(0).rank());
  int64_t start = c.node().attr_int("start", 0);
  int64_t end = c.node().attr_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  std::vector<Dim> vals;
  for (int64_t i = start; i < end; ++i) vals.push_back(c.in_shape(0)[size_t(i)]);
  c.set_output(0, DType::I64, Shape({Dim(int64_t(vals.size()))}));
  c.set_sym_output(0, std::move(vals));
}

void size_op(InferContext& c) {
  c.set_output(0, DType::I64, Shape(std::vector<Dim>{}));
  if (c.ranked(0)) c.set_sym_output(0, {c.in_shape(0).numel()});
}

void reshape(InferContext& c) {
  DType dt = c.in_dtype(0);
  auto target = c.sym_input(1);
  if (!target) {
    if (c.ranked(1) && c.in_shape(1).rank() == 1 && c.in_shape(1)[0].is_const()) {
      std::vector<Dim> dims;
      for (int64_t i = 0; i < c.in_shape(1)[0].value(); ++i) dims.push_back(fresh_dim("reshape"));
      c.set_output(0, dt, Shape(std::move(dims)));
    } else {
      c.set_output(0, dt, Shape());
    }
    return;
  }
  bool allowzero = c.node().attr_int("allowzero", 0) != 0;
  std::vector<Dim> dims = *target;
  int infer_at = -1;
  Dim known(1);
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == Dim(-1)) {
      c.check(infer_at < 0, "shape has more than one -1");
      infer_at = int(i);
      continue;
    }
    if (dims[i] == Dim(0) && !allowzero) {
      if (!c.ranked(0)) {
        c.set_output(0, dt, Shape());
        return;
      }
      c.check(i < c.in_shape(0).rank(), "shape copies dimension ", i,
              " (0) but the input has rank ", c.in_shape(0).rank());
      dims[i] = c.in_shape(0)[i];
    }
    if (dims[i].is_const()) c.check(dims[i].value() >= 0, "negative dimension ", dims[i].value());
    known = known * dims[i];
  }
  if (infer_at >= 0) {
    if (c.ranked(0)) {
      Dim numel = c.in_shape(0).numel();
      if (known.is_const() && known.value() == 0)
        dims[size_t(infer_at)] = fresh_dim("reshape");
      else
        dims[size_t(infer_at)] = Dim::floordiv(numel, known);
    } else {
      dims[size_t(infer_at)] = fresh_dim("reshape");
    }
  }
  if (c.ranked(0) && c.in_shape(0).is_static() && Shape(dims).is_static()) {
    c.check(Shape(dims).numel() == c.in_shape(0).numel(), "cannot reshape ",
            c.in_shape(0).str(), " to ", Shape(dims).str());
  }
  c.set_output(0, dt, Shape(std::move(dims)));
  if (auto s = c.sym_input(0)) c.set_sym_output(0, *s);
}

void flatten(InferContext& c) {
  if (!c.ranked(0)) return c.set_output(0, c.in_dtype(0), Shape());
  const Shape& s = c.in_shape(0);
  int64_t r = int64_t(s.rank());
  int64_t axis = c.node().attr_int("axis", 1);
  if (axis < 0) axis += r;
  c.check(axis >= 0 && axis <= r, "axis ", c.node().attr_int("axis", 1), " is out of range");
  Dim a(1), b(1);
  for (int64_t i = 0; i < r; ++i) (i < axis ? a : b) = (i < axis ? a : b) * s[size_t(i)];
  c.set_output(0, c.in_dtype(0), Shape({a, b}));
}

void squeeze(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !axes_known(c, "axes", 1)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  int64_t r = int64_t(s.rank());
  std::vector<int64_t> axes = axes_of(c, "axes", 1);
  std::vector<bool> drop(size_t(r), false);
  if (axes.empty()) {
    for (int64_t i = 0; i < r; ++i) drop[size_t(i)] = s[size_t(i)] == Dim(1);
  } else {
    for (int64_t a : axes) {
      int64_t ax = c.axis(a, r);
      c.check(!s[size_t(ax)].is_const() || s[size_t(ax)].value() == 1, "cannot squeeze axis ", a,
              " of size ", s[size_t(ax)].str());
      drop[size_t(ax)] = true;
    }
  }
  std::vector<Dim> out;
  for (int64_t i = 0; i < r; ++i)
    if (!drop[size_t(i)]) out.push_back(s[size_t(i)]);
  c.set_output(0, dt, Shape(std::move(out)));
  if (auto v = c.sym_input(0)) c.set_sym_output(0, *v);
}

void unsqueeze(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !axes_known(c, "axes", 1)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  std::vector<int64_t> axes = axes_of(c, "axes", 1);
  int64_t r = int64_t(s.rank() + axes.size());
  std::vector<bool> is_new(size_t(r), false);
  for (int64_t a : axes) {
    int64_t ax = c.axis(a, r);
    c.check(!is_new[size_t(ax)], "axis ", a, " is repeated");
    is_new[size_t(ax)] = true;
  }
  std::vector<Dim> out;
  size_t k = 0;
  for (int64_t i = 0; i < r; ++i) out.push_back(is_new[size_t(i)] ? Dim(1) : s[k++]);
  c.set_output(0, dt, Shape(std::move(out)));
  if (auto v = c.sym_input(0)) c.set_sym_output(0, *v);
}

void transpose(InferContext& c) {
  if (!c.ranked(0)) return c.set_output(0, c.in_dtype(0), Shape());
  const Shape& s = c.in_shape(0);
  size_t r = s.rank();
  std::vector<int64_t> perm = c.node().attr_ints("perm", std::vector<int64_t>{});
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(int64_t(r - 1 - i));
  c.check(perm.size() == r, "perm has ", perm.size(), " entries for rank ", r);
  std::vector<Dim> out;
  std::vector<bool> seen(r, false);
  for (int64_t p : perm) {
    int64_t a = c.axis(p, int64_t(r));
    c.check(!seen[size_t(a)], "perm repeats axis ", p);
    seen[size_t(a)] = true;
    out.push_back(s[size_t(a)]);
  }
  c.set_output(0, c.in_dtype(0), Shape(std::move(out)));
}

void concat(InferContext& c) {
  DType dt = c.in_dtype(0);
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (!c.ranked(i)) return c.set_output(0, dt, Shape());
  int64_t r = int64_t(c.in_shape(0).rank());
  int64_t axis = c.axis(c.node().attr_int("axis"), r);
  std::vector<Dim> out = c.in_shape(0).dims();
  out[size_t(axis)] = Dim(0);
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    const Shape& s = c.in_shape(i);
    c.check(int64_t(s.rank()) == r, "input ", i, " has rank ", s.rank(), ", expected ", r);
    for (int64_t d = 0; d < r; ++d) {
      if (d == axis) continue;
      if (out[size_t(d)].is_const() && s[size_t(d)].is_const())
        c.check(out[size_t(d)] == s[size_t(d)], "input ", i, " has shape ", s.str(),
                ", which does not match ", c.in_shape(0).str(), " outside axis ", axis);
      else if (s[size_t(d)].is_const())
        out[size_t(d)] = s[size_t(d)];
    }
    out[size_t(axis)] += s[size_t(axis)];
  }
  c.set_output(0, dt, Shape(std::move(out)));
  if (r == 1) {
    std::vector<Dim> vals;
    for (size_t i = 0; i < c.num_inputs(); ++i) {
      auto v = c.sym_input(i);
      if (!v) return;
      vals.insert(vals.end(), v->begin(), v->end());
    }
    c.set_sym_output(0, std::move(vals));
  }
}

void split(InferContext& c) {
  DType dt = c.in_dtype(0);
  size_t n = c.num_outputs();
  if (!c.ranked(0)) {
    for (size_t i = 0; i < n; ++i) c.set_output(i, dt, Shape());
    return;
  }
  const Shape& s = c.in_shape(0);
  int64_t axis = c.axis(c.node().attr_int("axis", 0), int64_t(s.rank()));
  std::vector<Dim> sizes;
  if (c.node().has_attr("split")) {
    for (int64_t v : c.node().attr_ints("split")) sizes.emplace_back(v);
  } else if (c.has_input(1)) {
    auto v = c.sym_input(1);
    if (v) sizes = *v;
    else
      for (size_t i = 0; i < n; ++i) sizes.push_back(fresh_dim("split"));
  } else {
    Dim d = s[size_t(axis)];
    int64_t parts = c.node().attr_int("num_outputs", int64_t(n));
    Dim chunk = Dim::ceildiv(d, Dim(parts));
    for (size_t i = 0; i < n; ++i) {
      // With num_outputs the last chunk may be smaller.
      sizes.push_back(i + 1 < n ? chunk : d - chunk * Dim(int64_t(n - 1)));
    }
  }
  c.check(sizes.size() == n, "split has ", sizes.size(), " sizes for ", n, " outputs");
  for (size_t i = 0; i < n; ++i) {
    std::vector<Dim> out = s.dims();
    out[size_t(axis)] = sizes[i];
    c.set_output(i, dt, Shape(std::move(out)));
  }
}

// Output length of slicing a dim of size `d` with start/end/step (ONNX clamping rules; a
// symbolic d is assumed at least as large as the constants).
Dim slice_len(const Dim& d, int64_t start, int64_t end, int64_t step) {
  if (d.is_const()) {
    int64_t n = d.value();
    auto clampi = [](int64_t v, int64_t lo, int64_t hi) { return std::max(lo, std::min(hi, v)); };
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (step > 0) {
      start = clampi(start, 0, n);
      end = clampi(end, 0, n);
      return Dim(std::max<int64_t>(0, (end - start + step - 1) / step));
    }
    start = clampi(start, 0, n - 1);
    end = clampi(end, -1, n - 1);
    return Dim(std::max<int64_t>(0, (start - end + (-step) - 1) / (-step)));
  }
  Dim s = start < 0 ? d + Dim(start) : Dim(start);
  if (step > 0) {
    Dim e = end >= kHuge ? d : end < 0 ? d + Dim(end) : Dim(end);
    return Dim::ceildiv(e - s, Dim(step));
  }
  // Negative steps: start past the end means the last element.
  Dim st = start >= kHuge ? d - Dim(1) : s;
  Dim e = end <= -kHuge ? Dim(-1) : end < 0 ? d + Dim(end) : Dim(end);
  return Dim::ceildiv(st - e, Dim(-step));
}

// Slice's output dims when the ends are symbolic: each sliced axis must have a constant
// start >= 0 and step > 0; nullopt otherwise.
std::optional<std::vector<Dim>> slice_to_symbolic_ends(InferContext& c, const Shape& s,
                                                       const std::vector<int64_t>& starts,
                                                       const std::vector<Dim>& ends,
                                                       const std::optional<std::vector<int64_t>>& ax,
                                                       const std::optional<std::vector<int64_t>>& sp) {
  int64_t r = int64_t(s.rank());
  std::vector<int64_t> axes = ax ? *ax : std::vector<int64_t>{};
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  std::vector<int64_t> steps = sp ? *sp : std::vector<int64_t>(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return std::nullopt;
  std::vector<Dim> out = s.dims();
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(c.axis(axes[i], r));
    if (ends[i].is_const()) {
      if (steps[i] == 0) return std::nullopt;
      out[a] = slice_len(s[a], starts[i], ends[i].value(), steps[i]);
      continue;
    }
    if (starts[i] < 0 || steps[i] <= 0) return std::nullopt;
    out[a] = Dim::ceildiv(ends[i] - Dim(starts[i]), Dim(steps[i]));
  }
  return out;
}

void slice(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  int64_t r = int64_t(s.rank());
  std::vector<int64_t> starts, ends, axes, steps;
  if (c.opset() < 10 && c.node().has_attr("starts")) {
    starts = c.node().attr_ints("starts");
    ends = c.node().attr_ints("ends");
    axes = c.node().attr_ints("axes", std::vector<int64_t>{});
  } else {
    auto st = c.int_input(1), en = c.int_input(2);
    std::optional<std::vector<int64_t>> ax, sp;
    if (c.has_input(3)) ax = c.int_input(3);
    if (c.has_input(4)) sp = c.int_input(4);
    if (st && !en && (!c.has_input(3) || ax) && (!c.has_input(4) || sp)) {
      // Ends that are shape values (x[:seq], a causal mask cut to the sequence): the extent is
      // the end minus the start, assuming the end lies within the axis.
      if (auto ends_sym = c.sym_input(2)) {
        if (auto out = slice_to_symbolic_ends(c, s, *st, *ends_sym, ax, sp))
          return c.set_output(0, dt, Shape(std::move(*out)));
      }
    }
    if (!st || !en || (c.has_input(3) && !ax) || (c.has_input(4) && !sp)) {
      // Unknown slicing parameters: rank stays, sliced dims are unknown.
      std::vector<Dim> out;
      for (int64_t i = 0; i < r; ++i) out.push_back(fresh_dim("slice"));
      if (ax) {
        out = s.dims();
        for (int64_t a : *ax) out[size_t(c.axis(a, r))] = fresh_dim("slice");
      }
      return c.set_output(0, dt, Shape(std::move(out)));
    }
    starts = *st;
    ends = *en;
    if (ax) axes = *ax;
    if (sp) steps = *sp;
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  c.check(starts.size() == ends.size() && starts.size() == axes.size() &&
              starts.size() == steps.size(),
          "starts, ends, axes and steps must have the same length");
  std::vector<Dim> out = s.dims();
  std::vector<int64_t> st(size_t(r), 0), en(size_t(r), kHuge), sp(size_t(r), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = c.axis(axes[i], r);
    c.check(steps[i] != 0, "step cannot be 0");
    st[size_t(a)] = starts[i];
    en[size_t(a)] = ends[i];
    sp[size_t(a)] = steps[i];
    out[size_t(a)] = slice_len(s[size_t(a)], starts[i], ends[i], steps[i]);
  }
  c.set_output(0, dt, Shape(out));
  if (r == 1 && out[0].is_const()) {
    if (auto v = c.sym_input(0)) {
      int64_t n = int64_t(v->size());
      int64_t b = st[0] < 0 ? st[0] + n : st[0];
      int64_t step = sp[0];
      std::vector<Dim> vals;
      if (step > 0) b = std::clamp<int64_t>(b, 0, n);
      else b = std::clamp<int64_t>(b, 0, n - 1);
      for (int64_t k = 0; k < out[0].value(); ++k) {
        int64_t idx = b + k * step;
        if (idx < 0 || idx >= n) return;
        vals.push_back((*v)[size_t(idx)]);
      }
      c.set_sym_output(0, std::move(vals));
    }
  }
}

void gather(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !c.ranked(1)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  const Shape& idx = c.in_shape(1);
  int64_t r = int64_t(s.rank());
  int64_t axis = c.axis(c.node().attr_int("axis", 0), r);
  std::vector<Dim> out;
  for (int64_t i = 0; i < axis; ++i) out.push_back(s[size_t(i)]);
  for (const Dim& d : idx.dims()) out.push_back(d);
  for (int64_t i = axis + 1; i < r; ++i) out.push_back(s[size_t(i)]);
  c.set_output(0, dt, Shape(std::move(out)));
  if (r == 1) {
    auto data = c.sym_input(0);
    auto ind = c.int_input(1);
    if (data && ind && idx.rank() <= 1) {
      std::vector<Dim> vals;
      int64_t n = int64_t(data->size());
      for (int64_t i : *ind) {
        int64_t k = i < 0 ? i + n : i;
        if (k < 0 || k >= n) return;
        vals.push_back((*data)[size_t(k)]);
      }
      c.set_sym_output(0, std::move(vals));
    }
  }
}

void gather_elements(InferContext& c) { c.set_output(0, c.in_dtype(0), c.in_shape(1)); }

void gather_nd(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !c.ranked(1)) return c.set_output(0, dt, Shape());
  const Shape& data = c.in_shape(0);
  const Shape& idx = c.in_shape(1);
  int64_t b = c.node().attr_int("batch_dims", 0);
  const Dim& last = idx[idx.rank() - 1];
  if (!last.is_const()) return c.set_output(0, dt, Shape());
  std::vector<Dim> out;
  for (size_t i = 0; i + 1 < idx.rank(); ++i) out.push_back(idx[i]);
  for (size_t i = size_t(b + last.value()); i < data.rank(); ++i) out.push_back(data[i]);
  c.set_output(0, dt, Shape(std::move(out)));
}

void same_as_data(InferContext& c) { c.set_output_type(0, c.input_type(0)); }

void expand(InferContext& c) {
  DType dt = c.in_dtype(0);
  auto target = c.sym_input(1);
  if (!target || !c.ranked(0)) {
    if (c.ranked(1) && c.in_shape(1).rank() == 1 && c.in_shape(1)[0].is_const()) {
      std::vector<Dim> dims;
      int64_t n = c.in_shape(1)[0].value();
      if (c.ranked(0)) n = std::max<int64_t>(n, int64_t(c.in_shape(0).rank()));
      for (int64_t i = 0; i < n; ++i) dims.push_back(fresh_dim("expand"));
      return c.set_output(0, dt, Shape(std::move(dims)));
    }
    return c.set_output(0, dt, Shape());
  }
  c.set_output(0, dt, broadcast_shapes({c.in_shape(0), Shape(*target)}, c.node().describe()));
}

void tile(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  auto reps = c.sym_input(1);
  const Shape& s = c.in_shape(0);
  std::vector<Dim> out;
  for (size_t i = 0; i < s.rank(); ++i)
    out.push_back(reps ? s[i] * (*reps).at(i) : fresh_dim("tile"));
  c.set_output(0, dt, Shape(std::move(out)));
}

void constant_of_shape(InferContext& c) {
  DType dt = DType::F32;
  if (const Attribute* a = c.node().find_attr("value")) dt = a->t.dtype();
  auto target = c.sym_input(0);
  if (target) {
    c.set_output(0, dt, Shape(*target));
    return;
  }
  if (c.ranked(0) && c.in_shape(0).rank() == 1 && c.in_shape(0)[0].is_const()) {
    std::vector<Dim> dims;
    for (int64_t i = 0; i < c.in_shape(0)[0].value(); ++i) dims.push_back(fresh_dim("shape"));
    return c.set_output(0, dt, Shape(std::move(dims)));
  }
  c.set_output(0, dt, Shape());
}

void range(InferContext& c) {
  DType dt = c.in_dtype(0);
  const Tensor* start = c.const_input(0);
  const Tensor* limit = c.const_input(1);
  const Tensor* delta = c.const_input(2);
  if (start && limit && delta && start->numel() == 1 && limit->numel() == 1 && delta->numel() == 1) {
    double n = std::ceil((limit->as_double(0) - start->as_double(0)) / delta->as_double(0));
    return c.set_output(0, dt, Shape({Dim(std::max<int64_t>(0, int64_t(n)))}));
  }
  auto s = c.sym_input(0), l = c.sym_input(1), d = c.sym_input(2);
  if (is_integer(dt) && s && l && d && s->size() == 1 && l->size() == 1 && d->size() == 1 &&
      (*d)[0].is_const() && (*d)[0].value() > 0)
    return c.set_output(0, dt, Shape({Dim::ceildiv((*l)[0] - (*s)[0], (*d)[0])}));
  c.set_output(0, dt, Shape({fresh_dim("range")}));
}

void pad(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  int64_t r = int64_t(s.rank());
  std::optional<std::vector<int64_t>> pads;
  if (c.node().has_attr("pads")) pads = c.node().attr_ints("pads");
  else if (c.has_input(1)) pads = c.int_input(1);
  std::vector<int64_t> axes;
  if (c.has_input(3)) {
    auto a = c.int_input(3);
    if (!a) pads.reset();
    else axes = *a;
  }
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  std::vector<Dim> out = s.dims();
  if (!pads) {
    for (int64_t a : axes) out[size_t(c.axis(a, r))] = fresh_dim("pad");
    return c.set_output(0, dt, Shape(std::move(out)));
  }
  c.check(pads->size() == 2 * axes.size(), "pads has ", pads->size(), " values for ",
          axes.size(), " axes");
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(c.axis(axes[i], r));
    out[a] = out[a] + Dim((*pads)[i] + (*pads)[i + axes.size()]);
  }
  c.set_output(0, dt, Shape(std::move(out)));
}

void dropout(InferContext& c) {
  c.set_output_type(0, c.input_type(0));
  if (c.num_outputs() > 1) c.set_output(1, DType::Bool, c.in_shape(0));
}

void depth_to_space(InferContext& c) {
  if (!c.ranked(0)) return c.set_output(0, c.in_dtype(0), Shape());
  const Shape& s = c.in_shape(0);
  c.check(s.rank() == 4, "input must be 4-D, got ", s.str());
  int64_t b = c.node().attr_int("blocksize");
  bool d2s = c.node().kind() == OpKind::DepthToSpace;
  Dim bb(b * b);
  std::vector<Dim> out = {s[0], d2s ? Dim::floordiv(s[1], bb) : s[1] * bb,
                          d2s ? s[2] * Dim(b) : Dim::floordiv(s[2], Dim(b)),
                          d2s ? s[3] * Dim(b) : Dim::floordiv(s[3], Dim(b))};
  c.set_output(0, c.in_dtype(0), Shape(std::move(out)));
}

void eye_like(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (c.node().has_attr("dtype")) dt = dtype_from_onnx(int32_t(c.node().attr_int("dtype")));
  c.set_output(0, dt, c.in_shape(0));
}

void one_hot(InferContext& c) {
  DType dt = c.in_dtype(2);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  std::vector<Dim> out = c.in_shape(0).dims();
  int64_t r = int64_t(out.size()) + 1;
  int64_t axis = c.axis(c.node().attr_int("axis", -1), r);
  auto depth = c.sym_input(1);
  out.insert(out.begin() + axis, depth && depth->size() == 1 ? (*depth)[0] : fresh_dim("depth"));
  c.set_output(0, dt, Shape(std::move(out)));
}

void non_zero(InferContext& c) {
  Dim r = c.ranked(0) ? Dim(int64_t(c.in_shape(0).rank())) : fresh_dim("rank");
  c.set_output(0, DType::I64, Shape({r, fresh_dim("nonzero")}));
}

void compress(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.node().has_attr("axis") || !c.ranked(0))
    return c.set_output(0, dt, Shape({fresh_dim("compress")}));
  std::vector<Dim> out = c.in_shape(0).dims();
  out[size_t(c.axis(c.node().attr_int("axis"), int64_t(out.size())))] = fresh_dim("compress");
  c.set_output(0, dt, Shape(std::move(out)));
}

void resize(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  const Shape& s = c.in_shape(0);
  int64_t r = int64_t(s.rank());
  bool upsample = c.node().kind() == OpKind::Upsample;
  size_t scales_at = upsample ? 1 : (c.opset() >= 11 ? 2 : 1);
  size_t sizes_at = 3;
  std::vector<int64_t> axes = c.node().attr_ints("axes", std::vector<int64_t>{});
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  std::vector<Dim> out = s.dims();
  if (!upsample && c.opset() >= 11 && c.has_input(sizes_at) && c.ranked(sizes_at) &&
      !(c.in_shape(sizes_at).rank() == 1 && c.in_shape(sizes_at)[0] == Dim(0))) {
    auto sizes = c.sym_input(sizes_at);
    std::string policy = c.node().attr_string("keep_aspect_ratio_policy", "stretch");
    for (size_t i = 0; i < axes.size(); ++i)
      out[size_t(c.axis(axes[i], r))] =
          sizes && policy == "stretch" ? (*sizes).at(i) : fresh_dim("resize");
    return c.set_output(0, dt, Shape(std::move(out)));
  }
  std::vector<float> scales;
  if (upsample && c.node().has_attr("scales")) {
    scales = c.node().attr_floats("scales");
  } else if (const Tensor* t = c.const_input(scales_at)) {
    for (int64_t i = 0; i < t->numel(); ++i) scales.push_back(float(t->as_double(i)));
  }
  if (scales.empty() || scales.size() != axes.size()) {
    for (int64_t a : axes) out[size_t(c.axis(a, r))] = fresh_dim("resize");
    return c.set_output(0, dt, Shape(std::move(out)));
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(c.axis(axes[i], r));
    float sc = scales[i];
    if (out[a].is_const()) out[a] = Dim(int64_t(std::floor(double(out[a].value()) * double(sc))));
    else if (sc == std::floor(sc)) out[a] = out[a] * Dim(int64_t(sc));
    else out[a] = fresh_dim("resize");
  }
  c.set_output(0, dt, Shape(std::move(out)));
}

void top_k(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) {
    c.set_output(0, dt, Shape());
    c.set_output(1, DType::I64, Shape());
    return;
  }
  std::vector<Dim> out = c.in_shape(0).dims();
  int64_t axis = c.axis(c.node().attr_int("axis", -1), int64_t(out.size()));
  Dim k = fresh_dim("topk");
  if (c.node().has_attr("k")) k = Dim(c.node().attr_int("k"));
  else if (auto v = c.sym_input(1); v && v->size() == 1) k = (*v)[0];
  out[size_t(axis)] = k;
  c.set_output(0, dt, Shape(out));
  c.set_output(1, DType::I64, Shape(out));
}

}  // namespace

void register_shape_ops_infer_rules(std::vector<InferFn>& r) {
  r[size_t(OpKind::Shape)] = shape_op;
  r[size_t(OpKind::Size)] = size_op;
  r[size_t(OpKind::Reshape)] = reshape;
  r[size_t(OpKind::Flatten)] = flatten;
  r[size_t(OpKind::Squeeze)] = squeeze;
  r[size_t(OpKind::Unsqueeze)] = unsqueeze;
  r[size_t(OpKind::Transpose)] = transpose;
  r[size_t(OpKind::Concat)] = concat;
  r[size_t(OpKind::Split)] = split;
  r[size_t(OpKind::Slice)] = slice;
  r[size_t(OpKind::Gather)] = gather;
  r[size_t(OpKind::GatherElements)] = gather_elements;
  r[size_t(OpKind::GatherND)] = gather_nd;
  for (OpKind k : {OpKind::ScatterElements, OpKind::ScatterND, OpKind::Scatter, OpKind::Trilu,
                   OpKind::ReverseSequence, OpKind::CumSum})
    r[size_t(k)] = same_as_data;
  r[size_t(OpKind::Expand)] = expand;
  r[size_t(OpKind::Tile)] = tile;
  r[size_t(OpKind::ConstantOfShape)] = constant_of_shape;
  r[size_t(OpKind::Range)] = range;
  r[size_t(OpKind::Pad)] = pad;
  r[size_t(OpKind::Dropout)] = dropout;
  r[size_t(OpKind::DepthToSpace)] = depth_to_space;
  r[size_t(OpKind::SpaceToDepth)] = depth_to_space;
  r[size_t(OpKind::EyeLike)] = eye_like;
  r[size_t(OpKind::OneHot)] = one_hot;
  r[size_t(OpKind::NonZero)] = non_zero;
  r[size_t(OpKind::Compress)] = compress;
  r[size_t(OpKind::Resize)] = resize;
  r[size_t(OpKind::Upsample)] = resize;
  r[size_t(OpKind::TopK)] = top_k;
}

}  // namespace eave
