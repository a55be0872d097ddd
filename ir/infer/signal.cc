// Shape inference: signal processing ops whose output sizes come from input data (DFT, STFT,
// the windows, MelWeightMatrix). Sizes known from constants or symbolic values become dims; the
// rest become fresh symbols, which the runtime defines when the op runs.
#include "ir/shape_inference.h"

namespace eave {

namespace {

// The single element of input i as a dim: known from data, or a fresh symbol.
Dim scalar_dim(InferContext& c, size_t i, const char* what) {
  if (c.has_input(i))
    if (auto v = c.sym_input(i); v && v->size() == 1) return (*v)[0];
  return fresh_dim(what);
}

DType output_datatype(InferContext& c) {
  DType t = dtype_from_onnx(int32_t(c.node().attr_int("output_datatype", 1)));
  c.check(t != DType::Undefined, "unsupported output_datatype");
  return t;
}

void window(InferContext& c) {
  c.set_output(0, output_datatype(c), Shape({scalar_dim(c, 0, "window")}));
}

void mel_weight_matrix(InferContext& c) {
  Dim bins = Dim::floordiv(scalar_dim(c, 1, "dft_length"), Dim(2)) + Dim(1);
  c.set_output(0, output_datatype(c), Shape({bins, scalar_dim(c, 0, "mel_bins")}));
}

// [batch, (length - frame) / step + 1, frame / 2 + 1 (onesided) or frame, 2].
void stft(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0) || c.in_shape(0).rank() != 3) return c.set_output(0, dt, Shape());
  const Shape& x = c.in_shape(0);
  Dim frame = c.ranked(2) && c.in_shape(2).rank() == 1 ? c.in_shape(2)[0]
                                                       : scalar_dim(c, 3, "frame_length");
  Dim step = scalar_dim(c, 1, "frame_step");
  Dim frames = Dim::floordiv(x[1] - frame, step) + Dim(1);
  Dim bins = c.node().attr_int("onesided", 1) ? Dim::floordiv(frame, Dim(2)) + Dim(1) : frame;
  c.set_output(0, dt, Shape({x[0], frames, bins, Dim(2)}));
}

// The input's shape with the transformed axis n_out long and the last dim 2. The axis is an
// attribute before opset 20 and an input since; when unknown, every axis but the last may
// change.
void dft(InferContext& c) {
  DType dt = c.in_dtype(0);
  if (!c.ranked(0)) return c.set_output(0, dt, Shape());
  std::vector<Dim> out = c.in_shape(0).dims();
  int64_t rank = int64_t(out.size());
  c.check(rank >= 2, "the input must have rank >= 2");
  std::optional<int64_t> axis = c.node().attr_int("axis", 1);
  if (c.opset() >= 20) {
    auto given = c.has_input(2) ? c.int_input(2) : std::vector<int64_t>{-2};
    axis = given && given->size() == 1 ? std::optional<int64_t>((*given)[0]) : std::nullopt;
  }
  out.back() = Dim(2);
  if (!axis) {
    for (int64_t d = 0; d + 1 < rank; ++d) out[size_t(d)] = fresh_dim("dft");
    return c.set_output(0, dt, Shape(std::move(out)));
  }
  int64_t a = c.axis(*axis, rank);
  Dim n = c.has_input(1) ? scalar_dim(c, 1, "dft_length") : out[size_t(a)];
  out[size_t(a)] = c.node().attr_int("onesided", 0) ? Dim::floordiv(n, Dim(2)) + Dim(1) : n;
  c.set_output(0, dt, Shape(std::move(out)));
}

}  // namespace

void register_signal_infer_rules(std::vector<InferFn>& r) {
  for (OpKind k : {OpKind::HannWindow, OpKind::HammingWindow, OpKind::BlackmanWindow})
    r[size_t(k)] = window;
  r[size_t(OpKind::MelWeightMatrix)] = mel_weight_matrix;
  r[size_t(OpKind::STFT)] = stft;
  r[size_t(OpKind::DFT)] = dft;
}

}  // namespace eave
