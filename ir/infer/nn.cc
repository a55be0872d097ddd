// Shape inference: neural-network ops (conv, pooling, matmul, normalization, quantization,
// recurrent layers).
#include "ir/shape_inference.h"

#include <cctype>
#include <map>
#include <optional>

namespace eave {

namespace {

// Spatial output size of a convolution or pooling window.
Dim window_out(const Dim& in, int64_t k, int64_t stride, int64_t dil, int64_t pad_sum,
               const std::string& auto_pad, bool ceil_mode) {
  int64_t span = dil * (k - 1) + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return Dim::ceildiv(in, Dim(stride));
  if (auto_pad == "VALID") return Dim::ceildiv(in - Dim(span - 1), Dim(stride));
  Dim numer = in + Dim(pad_sum - span);
  if (!ceil_mode) return Dim::floordiv(numer, Dim(stride)) + Dim(1);
  return Dim::ceildiv(numer, Dim(stride)) + Dim(1);
}

struct WindowAttrs {
  std::vector<int64_t> kernel, strides, dilations, pads;
  std::string auto_pad;
};

WindowAttrs window_attrs(InferContext& c, size_t spatial, std::vector<int64_t> kernel) {
  const Node& n = c.node();
  WindowAttrs w;
  w.kernel = n.attr_ints("kernel_shape", kernel);
  c.check(w.kernel.size() == spatial, "kernel_shape has ", w.kernel.size(), " entries for ",
          spatial, " spatial dims");
  w.strides = n.attr_ints("strides", std::vector<int64_t>(spatial, 1));
  w.dilations = n.attr_ints("dilations", std::vector<int64_t>(spatial, 1));
  w.pads = n.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0));
  w.auto_pad = n.attr_string("auto_pad", "NOTSET");
  c.check(w.strides.size() == spatial && w.dilations.size() == spatial &&
              w.pads.size() == 2 * spatial,
          "strides, dilations and pads must match the ", spatial, " spatial dims");
  for (int64_t s : w.strides) c.check(s > 0, "strides must be positive");
  return w;
}

void conv(InferContext& c) {
  DType dt = c.node().kind() == OpKind::ConvInteger ? DType::I32 : c.in_dtype(0);
  size_t w_at = c.node().kind() == OpKind::QLinearConv ? 3 : 1;
  if (c.node().kind() == OpKind::QLinearConv) dt = c.in_dtype(7);
  if (!c.ranked(0) || !c.ranked(w_at)) return c.set_output(0, dt, Shape());
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(w_at);
  c.check(x.rank() >= 3 && w.rank() == x.rank(), "input ", x.str(), " and weight ", w.str(),
          " must have the same rank >= 3");
  size_t spatial = x.rank() - 2;
  std::vector<int64_t> k;
  for (size_t i = 2; i < w.rank(); ++i) k.push_back(w[i].is_const() ? w[i].value() : 1);
  WindowAttrs a = window_attrs(c, spatial, k);
  std::vector<Dim> out = {x[0], w[0]};
  for (size_t i = 0; i < spatial; ++i)
    out.push_back(window_out(x[2 + i], a.kernel[i], a.strides[i], a.dilations[i],
                             a.pads[i] + a.pads[i + spatial], a.auto_pad, false));
  c.set_output(0, dt, Shape(std::move(out)));
}

void conv_transpose(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !c.ranked(1)) return c.set_output(0, dt, Shape());
  const Shape& x = c.in_shape(0);
  const Shape& w = c.in_shape(1);
  c.check(x.rank() >= 3 && w.rank() == x.rank(), "input ", x.str(), " and weight ", w.str(),
          " must have the same rank >= 3");
  size_t spatial = x.rank() - 2;
  std::vector<int64_t> k;
  for (size_t i = 2; i < w.rank(); ++i) k.push_back(w[i].is_const() ? w[i].value() : 1);
  WindowAttrs a = window_attrs(c, spatial, k);
  int64_t group = c.node().attr_int("group", 1);
  c.check(group >= 1, "group must be positive, got ", group);
  std::vector<int64_t> out_pad =
      c.node().attr_ints("output_padding", std::vector<int64_t>(spatial, 0));
  c.check(out_pad.size() == spatial, "output_padding has ", out_pad.size(), " entries for ",
          spatial, " spatial dims");
  std::vector<int64_t> out_shape = c.node().attr_ints("output_shape", std::vector<int64_t>{});
  c.check(out_shape.empty() || out_shape.size() >= spatial, "output_shape has ",
          out_shape.size(), " entries for ", spatial, " spatial dims");
  std::vector<Dim> out = {x[0], w[1] * Dim(group)};
  for (size_t i = 0; i < spatial; ++i) {
    if (!out_shape.empty()) {
      out.push_back(Dim(out_shape[out_shape.size() - spatial + i]));
    } else if (a.auto_pad == "SAME_UPPER" || a.auto_pad == "SAME_LOWER") {
      out.push_back(x[2 + i] * Dim(a.strides[i]));
    } else {
      int64_t pads = a.auto_pad == "VALID" ? 0 : a.pads[i] + a.pads[i + spatial];
      out.push_back(Dim(a.strides[i]) * (x[2 + i] - Dim(1)) +
                    Dim(out_pad[i] + (a.kernel[i] - 1) * a.dilations[i] + 1 - pads));
    }
  }
  c.set_output(0, dt, Shape(std::move(out)));
}

void pool(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  const Shape& x = c.in_shape(0);
  c.check(x.rank() >= 3, "input ", x.str(), " must have rank >= 3");
  size_t spatial = x.rank() - 2;
  WindowAttrs a = window_attrs(c, spatial, {});
  bool ceil_mode = c.node().attr_int("ceil_mode", 0) != 0;
  std::vector<Dim> out = {x[0], x[1]};
  for (size_t i = 0; i < spatial; ++i) {
    const Dim& in = x[2 + i];
    int64_t pad_sum = a.pads[i] + a.pads[i + spatial];
    Dim o = window_out(in, a.kernel[i], a.strides[i], a.dilations[i], pad_sum, a.auto_pad, ceil_mode);
    if (ceil_mode && o.is_const() && in.is_const() && a.auto_pad == "NOTSET") {
      // Drop a last window that would start in the right padding.
      if ((o.value() - 1) * a.strides[i] >= in.value() + a.pads[i]) o = o - Dim(1);
    }
    out.push_back(o);
  }
  c.set_output(0, dt, Shape(out));
  if (c.num_outputs() > 1) c.set_output(1, DType::I64, Shape(out));
}

void global_pool(InferContext& c) {
  if (!c.ranked(0)) return c.set_output(0, c.in_dtype(0), Shape());
  std::vector<Dim> out = c.in_shape(0).dims();
  for (size_t i = 2; i < out.size(); ++i) out[i] = Dim(1);
  c.set_output(0, c.in_dtype(0), Shape(std::move(out)));
}

// The input of the MaxPool being undone: (in - 1) * stride + kernel - pads per spatial axis,
// or the output_shape input when given.
void max_unpool(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  const Shape& x = c.in_shape(0);
  c.check(x.rank() >= 3, "input ", x.str(), " must have rank >= 3");
  std::vector<Dim> out = {x[0], x[1]};
  if (c.has_input(2)) {
    auto given = c.sym_input(2);
    if (given && given->size() == x.rank()) return c.set_output(0, dt, Shape(*given));
    while (out.size() < x.rank()) out.push_back(fresh_dim("unpool"));
    return c.set_output(0, dt, Shape(std::move(out)));
  }
  size_t spatial = x.rank() - 2;
  WindowAttrs a = window_attrs(c, spatial, {});
  for (size_t i = 0; i < spatial; ++i)
    out.push_back((x[2 + i] - Dim(1)) * Dim(a.strides[i]) +
                  Dim(a.kernel[i] - a.pads[i] - a.pads[i + spatial]));
  c.set_output(0, dt, Shape(std::move(out)));
}

Shape matmul_shape(InferContext& c, const Shape& a0, const Shape& b0) {
  if (!a0.has_rank() || !b0.has_rank()) return Shape();
  c.check(a0.rank() >= 1 && b0.rank() >= 1, "MatMul inputs must have rank >= 1");
  std::vector<Dim> a = a0.dims(), b = b0.dims();
  bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), Dim(1));
  if (b1) b.push_back(Dim(1));
  const Dim& k1 = a[a.size() - 1];
  const Dim& k2 = b[b.size() - 2];
  if (k1.is_const() && k2.is_const())
    c.check(k1 == k2, "inner dimensions differ: ", a0.str(), " x ", b0.str());
  Shape batch = broadcast_shapes({Shape(std::vector<Dim>(a.begin(), a.end() - 2)),
                                  Shape(std::vector<Dim>(b.begin(), b.end() - 2))},
                                 c.node().describe());
  std::vector<Dim> out = batch.dims();
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b[b.size() - 1]);
  return Shape(std::move(out));
}

void matmul(InferContext& c) {
  OpKind k = c.node().kind();
  size_t b_at = k == OpKind::QLinearMatMul ? 3 : 1;
  DType dt = k == OpKind::MatMulInteger ? DType::I32
             : k == OpKind::QLinearMatMul ? c.in_dtype(7)
                                          : c.in_dtype(0);
  c.set_output(0, dt, matmul_shape(c, c.in_shape(0), c.in_shape(b_at)));
}

// Einsum (numpy's rules, as reference/matmul.cc): a label's dim is the first of its dims that
// is not 1, the dims `...` stands for broadcast right-aligned, and the output is the term after
// `->`, or else `...` then the labels used once in alphabetical order.
void einsum(InferContext& c) {
  std::string eq;
  for (char ch : c.node().attr_string("equation"))
    if (ch != ' ') eq += ch;
  size_t arrow = eq.find("->");
  std::vector<std::string> terms;
  for (size_t start = 0, lhs_end = std::min(arrow, eq.size());;) {
    size_t comma = std::min(eq.find(',', start), lhs_end);
    terms.push_back(eq.substr(start, comma - start));
    if (comma == lhs_end) break;
    start = comma + 1;
  }
  c.check(terms.size() == c.node().num_inputs(), "equation '", eq, "' has ", terms.size(),
          " input terms for ", c.node().num_inputs(), " inputs");
  auto merge = [](std::optional<Dim>& into, const Dim& d) {
    if (!into || *into == Dim(1)) into = d;
  };
  std::map<char, std::optional<Dim>> label;
  std::map<char, int> uses;
  std::vector<std::vector<Dim>> ellipses;  // per input, the dims its `...` stands for
  for (size_t i = 0; i < terms.size(); ++i) {
    const Shape& x = c.in_shape(i);
    if (!x.has_rank()) return;
    const std::string& t = terms[i];
    bool has_ellipsis = t.find("...") != std::string::npos;
    size_t letters = t.size() - (has_ellipsis ? 3 : 0);
    c.check(has_ellipsis ? x.rank() >= letters : x.rank() == letters, "input ", i, " has rank ",
            x.rank(), " but its equation term '", t, "' has ", letters, " labels");
    size_t d = 0;
    for (size_t p = 0; p < t.size();) {
      if (t.compare(p, 3, "...") == 0) {
        size_t n = x.rank() - letters;
        ellipses.emplace_back(x.dims().begin() + long(d), x.dims().begin() + long(d + n));
        d += n;
        p += 3;
        continue;
      }
      char l = t[p++];
      c.check(std::isalpha(static_cast<unsigned char>(l)), "equation '", eq, "' has the invalid character '", l, "'");
      merge(label[l], x[d++]);
      ++uses[l];
    }
  }
  size_t ell_rank = 0;
  for (const auto& e : ellipses) ell_rank = std::max(ell_rank, e.size());
  std::vector<std::optional<Dim>> ell(ell_rank);
  for (const auto& e : ellipses)
    for (size_t k = 0; k < e.size(); ++k) merge(ell[ell_rank - e.size() + k], e[k]);
  std::vector<Dim> out;
  auto put_ellipsis = [&] {
    for (const auto& d : ell) out.push_back(*d);
  };
  if (arrow == std::string::npos) {
    put_ellipsis();
    for (const auto& [l, n] : uses)  // std::map: capitals before small letters, as numpy
      if (n == 1) out.push_back(*label[l]);
  } else {
    std::string rhs = eq.substr(arrow + 2);
    for (size_t p = 0; p < rhs.size();) {
      if (rhs.compare(p, 3, "...") == 0) {
        put_ellipsis();
        p += 3;
        continue;
      }
      char l = rhs[p++];
      c.check(label.count(l) > 0, "output label '", l, "' of '", eq, "' is in no input term");
      out.push_back(*label[l]);
    }
  }
  c.set_output(0, c.in_dtype(0), Shape(std::move(out)));
}

void gemm(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !c.ranked(1)) return c.set_output(0, dt, Shape());
  const Shape& a = c.in_shape(0);
  const Shape& b = c.in_shape(1);
  c.check(a.rank() == 2 && b.rank() == 2, "A ", a.str(), " and B ", b.str(), " must be 2-D");
  bool ta = c.node().attr_int("transA", 0) != 0;
  bool tb = c.node().attr_int("transB", 0) != 0;
  Dim m = ta ? a[1] : a[0], ka = ta ? a[0] : a[1];
  Dim kb = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  if (ka.is_const() && kb.is_const())
    c.check(ka == kb, "inner dimensions differ: A ", a.str(), ", B ", b.str());
  c.set_output(0, dt, Shape({m, n}));
}

void same_as_input(InferContext& c) { c.set_output_type(0, c.input_type(0)); }

void batch_norm(InferContext& c) {
  c.set_output_type(0, c.input_type(0));
  for (size_t i = 1; i < c.num_outputs(); ++i)
    if (c.has_input(3)) c.set_output_type(i, c.input_type(3));
}

void layer_norm(InferContext& c) {
  c.set_output_type(0, c.input_type(0));
  if (!c.ranked(0)) return;
  std::vector<Dim> stat = c.in_shape(0).dims();
  int64_t axis = c.axis(c.node().attr_int("axis", -1), int64_t(stat.size()));
  for (size_t i = size_t(axis); i < stat.size(); ++i) stat[i] = Dim(1);
  DType st = dtype_from_onnx(int32_t(c.node().attr_int("stash_type", 1)));
  for (size_t i = 1; i < c.num_outputs(); ++i) c.set_output(i, st, Shape(stat));
}

void quantize(InferContext& c) {
  DType dt = c.has_input(2) ? c.in_dtype(2) : DType::U8;
  if (c.node().has_attr("output_dtype") && c.node().attr_int("output_dtype") != 0)
    dt = dtype_from_onnx(int32_t(c.node().attr_int("output_dtype")));
  c.set_output(0, dt, c.in_shape(0));
}

void dequantize(InferContext& c) {
  DType dt = c.in_dtype(1);
  if (c.node().has_attr("output_dtype") && c.node().attr_int("output_dtype") != 0)
    dt = dtype_from_onnx(int32_t(c.node().attr_int("output_dtype")));
  c.set_output(0, dt, c.in_shape(0));
}

void dynamic_quantize(InferContext& c) {
  c.set_output(0, DType::U8, c.in_shape(0));
  c.set_output(1, DType::F32, Shape(std::vector<Dim>{}));
  c.set_output(2, DType::U8, Shape(std::vector<Dim>{}));
}

void recurrent(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) {
    for (size_t i = 0; i < c.num_outputs(); ++i) c.set_output(i, dt, Shape());
    return;
  }
  const Shape& x = c.in_shape(0);
  c.check(x.rank() == 3, "X must have rank 3, got ", x.str());
  bool batch_first = c.node().attr_int("layout", 0) == 1;
  Dim seq = batch_first ? x[1] : x[0];
  Dim batch = batch_first ? x[0] : x[1];
  int64_t dirs = c.node().attr_string("direction", "forward") == "bidirectional" ? 2 : 1;
  Dim hidden = c.node().has_attr("hidden_size") ? Dim(c.node().attr_int("hidden_size"))
                                                : fresh_dim("hidden");
  Shape y = batch_first ? Shape({batch, seq, Dim(dirs), hidden}) : Shape({seq, Dim(dirs), batch, hidden});
  Shape state = batch_first ? Shape({batch, Dim(dirs), hidden}) : Shape({Dim(dirs), batch, hidden});
  c.set_output(0, dt, y);
  for (size_t i = 1; i < c.num_outputs(); ++i) c.set_output(i, dt, state);
}

void nms(InferContext& c) {
  c.set_output(0, DType::I64, Shape({fresh_dim("nms"), Dim(3)}));
}

void roi_align(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !c.ranked(1)) return c.set_output(0, dt, Shape());
  c.set_output(0, dt,
               Shape({c.in_shape(1)[0], c.in_shape(0)[1],
                      Dim(c.node().attr_int("output_height", 1)),
                      Dim(c.node().attr_int("output_width", 1))}));
}

void grid_sample(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || !c.ranked(1)) return c.set_output(0, dt, Shape());
  const Shape& x = c.in_shape(0);
  const Shape& g = c.in_shape(1);
  std::vector<Dim> out = {x[0], x[1]};
  for (size_t i = 1; i + 1 < g.rank(); ++i) out.push_back(g[i]);
  c.set_output(0, dt, Shape(std::move(out)));
}

}  // namespace

void register_nn_infer_rules(std::vector<InferFn>& r) {
  r[size_t(OpKind::Conv)] = conv;
  r[size_t(OpKind::ConvInteger)] = conv;
  r[size_t(OpKind::QLinearConv)] = conv;
  r[size_t(OpKind::DeformConv)] = conv;
  r[size_t(OpKind::ConvTranspose)] = conv_transpose;
  r[size_t(OpKind::MaxPool)] = pool;
  r[size_t(OpKind::AveragePool)] = pool;
  r[size_t(OpKind::LpPool)] = pool;
  r[size_t(OpKind::GlobalAveragePool)] = global_pool;
  r[size_t(OpKind::GlobalMaxPool)] = global_pool;
  r[size_t(OpKind::GlobalLpPool)] = global_pool;
  r[size_t(OpKind::MaxUnpool)] = max_unpool;
  r[size_t(OpKind::MatMul)] = matmul;
  r[size_t(OpKind::MatMulInteger)] = matmul;
  r[size_t(OpKind::QLinearMatMul)] = matmul;
  r[size_t(OpKind::Gemm)] = gemm;
  r[size_t(OpKind::Einsum)] = einsum;
  for (OpKind k : {OpKind::InstanceNormalization, OpKind::GroupNormalization,
                   OpKind::LpNormalization, OpKind::MeanVarianceNormalization, OpKind::LRN,
                   OpKind::Softmax, OpKind::LogSoftmax, OpKind::Hardmax})
    r[size_t(k)] = same_as_input;
  r[size_t(OpKind::BatchNormalization)] = batch_norm;
  r[size_t(OpKind::LayerNormalization)] = layer_norm;
  r[size_t(OpKind::QuantizeLinear)] = quantize;
  r[size_t(OpKind::DequantizeLinear)] = dequantize;
  r[size_t(OpKind::DynamicQuantizeLinear)] = dynamic_quantize;
  r[size_t(OpKind::RNN)] = recurrent;
  r[size_t(OpKind::GRU)] = recurrent;
  r[size_t(OpKind::LSTM)] = recurrent;
  r[size_t(OpKind::NonMaxSuppression)] = nms;
  r[size_t(OpKind::RoiAlign)] = roi_align;
  r[size_t(OpKind::GridSample)] = grid_sample;
}

}  // namespace eave
