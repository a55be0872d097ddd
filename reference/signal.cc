// Reference kernels: signal processing. DFT (forward or inverse, one-sided, zero-padded or
// truncated to dft_length, real input [.., 1] or complex input [.., 2]), STFT, the Hann,
// Hamming and Blackman windows, and MelWeightMatrix. Transforms are the direct O(n^2) sums,
// evaluated in double whatever the element type.
#include <cmath>
#include <complex>
#include <numbers>

#include "reference/util.h"

namespace eave::ref {

namespace {

using Complex = std::complex<double>;

// X[k] = sum_j x[j] e^(-+2 pi i jk/n) for k in [0, n_out), with n = x.size(); the inverse uses
// the + sign and divides by n.
std::vector<Complex> dft(const std::vector<Complex>& x, bool inverse, int64_t n_out) {
  int64_t n = int64_t(x.size());
  double sign = inverse ? 1.0 : -1.0;
  std::vector<Complex> out(static_cast<size_t>(n_out));
  for (int64_t k = 0; k < n_out; ++k) {
    Complex s = 0;
    for (int64_t j = 0; j < n; ++j) {
      // Reduce jk mod n first so the angle stays exact for long transforms.
      double angle = sign * 2.0 * std::numbers::pi * double((j * k) % n) / double(n);
      s += x[size_t(j)] * Complex(std::cos(angle), std::sin(angle));
    }
    out[size_t(k)] = inverse ? s / double(n) : s;
  }
  return out;
}

// A scalar integer input, required.
int64_t int_scalar(const KernelContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  ctx.check(is_integer(t.dtype()) && t.numel() == 1, what,
            " must be an integer scalar, got ", dtype_name(t.dtype()), dims_str(t.dims()));
  return t.as_int(0);
}

// The complex-or-real last dimension of a signal: 1 (real) or 2 (complex).
int64_t components(const KernelContext& ctx, const Tensor& x, const char* what) {
  int64_t c = x.rank() ? x.dims().back() : 0;
  ctx.check(c == 1 || c == 2, what, " must end in a dimension of 1 (real) or 2 (complex), got ",
            dims_str(x.dims()));
  return c;
}

// ---------------------------------------------------------------- DFT

// Input [batch, n1, .., nk, 1|2]; the transform runs along `axis` (attribute before opset 20,
// an input after), output [.., n_out, .., 2].
void dft_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  int64_t r = int64_t(x.rank());
  ctx.check(r >= 3, "input must have shape [batch, signal dims..., 1 or 2], got ",
            dims_str(x.dims()));
  int64_t comps = components(ctx, x, "input");
  int64_t axis = ctx.opset() >= 20 ? (ctx.has_input(2) ? int_scalar(ctx, 2, "axis") : -2)
                                   : node.attr_int("axis", 1);
  int64_t a = axis < 0 ? axis + r : axis;
  ctx.check(a >= 0 && a <= r - 2, "axis ", axis, " is not a signal axis of ", dims_str(x.dims()));
  bool inverse = node.attr_int("inverse", 0) != 0;
  bool onesided = node.attr_int("onesided", 0) != 0;
  int64_t n_in = x.dim(size_t(a));
  int64_t n = ctx.has_input(1) ? int_scalar(ctx, 1, "dft_length") : n_in;
  ctx.check(n >= 1, "dft_length must be positive, got ", n);
  int64_t n_out = onesided ? n / 2 + 1 : n;

  std::vector<int64_t> out_dims = x.dims();
  out_dims[size_t(a)] = n_out;
  out_dims.back() = 2;
  int64_t outer = shape_numel(std::span(x.dims()).first(size_t(a)));
  int64_t inner = shape_numel(std::span(x.dims()).subspan(size_t(a) + 1, size_t(r - a - 2)));
  Tensor y(x.dtype(), out_dims);
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        std::vector<Complex> line(static_cast<size_t>(n));  // zero-padded or truncated to n
        for (int64_t j = 0; j < std::min(n, n_in); ++j) {
          const T* e = px + ((o * n_in + j) * inner + i) * comps;
          line[size_t(j)] = Complex(double(widen(e[0])), comps == 2 ? double(widen(e[1])) : 0.0);
        }
        std::vector<Complex> f = dft(line, inverse, n_out);
        for (int64_t k = 0; k < n_out; ++k) {
          T* e = py + ((o * n_out + k) * inner + i) * 2;
          e[0] = narrow<T>(compute_t<T>(f[size_t(k)].real()));
          e[1] = narrow<T>(compute_t<T>(f[size_t(k)].imag()));
        }
      }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- STFT

// Inputs signal [batch, length, 1|2], frame_step, window [frame_length]?, frame_length?;
// output [batch, frames, bins, 2] with frames = (length - frame_length) / frame_step + 1.
void stft_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() == 3, "signal must have shape [batch, length, 1 or 2], got ",
            dims_str(x.dims()));
  int64_t comps = components(ctx, x, "signal");
  int64_t step = int_scalar(ctx, 1, "frame_step");
  ctx.check(step >= 1, "frame_step must be positive, got ", step);
  const Tensor* window = ctx.optional_input(2);
  if (window) {
    ctx.check(window->rank() == 1, "window must be 1-D, got ", dims_str(window->dims()));
    ctx.check(window->dtype() == x.dtype(), "window has element type ",
              dtype_name(window->dtype()), ", expected the signal's ", dtype_name(x.dtype()));
  }
  int64_t frame = -1;
  if (ctx.has_input(3)) frame = int_scalar(ctx, 3, "frame_length");
  if (window) {
    ctx.check(frame < 0 || frame == window->dim(0), "frame_length ", frame,
              " does not match the window length ", window->dim(0));
    frame = window->dim(0);
  }
  ctx.check(frame >= 1, "needs a window or a positive frame_length");
  int64_t batch = x.dim(0), len = x.dim(1);
  ctx.check(len >= frame, "signal length ", len, " is shorter than the frame length ", frame);
  int64_t frames = (len - frame) / step + 1;
  bool onesided = ctx.node().attr_int("onesided", 1) != 0;
  int64_t bins = onesided ? frame / 2 + 1 : frame;
  Tensor y(x.dtype(), {batch, frames, bins, 2});
  visit_float(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t f = 0; f < frames; ++f) {
        std::vector<Complex> line(static_cast<size_t>(frame));
        for (int64_t j = 0; j < frame; ++j) {
          const T* e = px + (b * len + f * step + j) * comps;
          double w = window ? double(widen(window->data<T>()[j])) : 1.0;
          line[size_t(j)] =
              Complex(double(widen(e[0])), comps == 2 ? double(widen(e[1])) : 0.0) * w;
        }
        std::vector<Complex> out = dft(line, false, bins);
        for (int64_t k = 0; k < bins; ++k) {
          T* e = py + ((b * frames + f) * bins + k) * 2;
          e[0] = narrow<T>(compute_t<T>(out[size_t(k)].real()));
          e[1] = narrow<T>(compute_t<T>(out[size_t(k)].imag()));
        }
      }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- windows

// The output element type from output_datatype (an ONNX type code, default float).
DType output_datatype(const KernelContext& ctx) {
  int64_t code = ctx.node().attr_int("output_datatype", 1);
  DType t = dtype_from_onnx(int32_t(code));
  ctx.check(t != DType::Undefined && t != DType::String && t != DType::Bool,
            "output_datatype ", code, " is not a supported numeric type");
  return t;
}

// A cosine-sum window w[n] = sum_k a_k cos(2 pi k n / N) for n in [0, size), where N is size
// (periodic) or size - 1 (symmetric).
void cosine_window(KernelContext& ctx, std::initializer_list<double> coeffs) {
  int64_t size = int_scalar(ctx, 0, "size");
  ctx.check(size >= 0, "size must not be negative, got ", size);
  bool periodic = ctx.node().attr_int("periodic", 1) != 0;
  double denom = double(std::max<int64_t>(1, periodic ? size : size - 1));
  Tensor w(DType::F64, {size});
  double* pw = w.mutable_data<double>();
  for (int64_t n = 0; n < size; ++n) {
    double v = 0;
    int k = 0;
    for (double a : coeffs) v += a * std::cos(2.0 * std::numbers::pi * k++ * double(n) / denom);
    pw[n] = v;
  }
  ctx.set_output(0, w.cast(output_datatype(ctx)));
}

void hann_window_k(KernelContext& ctx) { cosine_window(ctx, {0.5, -0.5}); }
void hamming_window_k(KernelContext& ctx) { cosine_window(ctx, {25.0 / 46.0, -21.0 / 46.0}); }
void blackman_window_k(KernelContext& ctx) { cosine_window(ctx, {0.42, -0.5, 0.08}); }

// ---------------------------------------------------------------- MelWeightMatrix

// Output [dft_length / 2 + 1, num_mel_bins]: triangular filters with peak 1. The band edges are
// num_mel_bins + 2 points evenly spaced on the mel scale mel(f) = 2595 log10(1 + f / 700), from
// lower_edge_hertz in steps of (mel(upper) - mel(lower)) / (num_mel_bins + 2), each mapped to
// the spectrogram bin floor((dft_length + 1) * f / sample_rate).
void mel_weight_matrix_k(KernelContext& ctx) {
  int64_t bands = int_scalar(ctx, 0, "num_mel_bins");
  int64_t dft_length = int_scalar(ctx, 1, "dft_length");
  int64_t sample_rate = int_scalar(ctx, 2, "sample_rate");
  double lower = scalar_input(ctx, 3, 0), upper = scalar_input(ctx, 4, 0);
  ctx.check(bands >= 1 && dft_length >= 1 && sample_rate >= 1,
            "num_mel_bins, dft_length and sample_rate must be positive");
  ctx.check(lower >= 0 && lower <= upper, "needs 0 <= lower_edge_hertz <= upper_edge_hertz, got ",
            lower, " and ", upper);
  int64_t spectrogram_bins = dft_length / 2 + 1;
  auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  double low_mel = mel(lower);
  double step = (mel(upper) - low_mel) / double(bands + 2);
  std::vector<int64_t> edge(size_t(bands + 2));
  for (int64_t i = 0; i < bands + 2; ++i) {
    double hz = 700.0 * (std::pow(10.0, (double(i) * step + low_mel) / 2595.0) - 1.0);
    edge[size_t(i)] = int64_t(std::floor(double(dft_length + 1) * hz / double(sample_rate)));
    ctx.check(edge[size_t(i)] >= 0 && edge[size_t(i)] < spectrogram_bins,
              "upper_edge_hertz ", upper, " lies above the spectrogram's highest bin");
  }
  Tensor w(DType::F64, {spectrogram_bins, bands});
  double* pw = w.mutable_data<double>();
  for (int64_t m = 0; m < bands; ++m) {
    int64_t left = edge[size_t(m)], center = edge[size_t(m + 1)], right = edge[size_t(m + 2)];
    if (center == left) {
      pw[center * bands + m] = 1.0;
    } else {
      for (int64_t j = left; j <= center; ++j)
        pw[j * bands + m] = double(j - left) / double(center - left);
    }
    for (int64_t j = center; j < right; ++j)
      pw[j * bands + m] = double(right - j) / double(right - center);
  }
  ctx.set_output(0, w.cast(output_datatype(ctx)));
}

}  // namespace

void register_signal_kernels(KernelRegistry& r) {
  r.add(OpKind::DFT, dft_k);
  r.add(OpKind::STFT, stft_k);
  r.add(OpKind::HannWindow, hann_window_k);
  r.add(OpKind::HammingWindow, hamming_window_k);
  r.add(OpKind::BlackmanWindow, blackman_window_k);
  r.add(OpKind::MelWeightMatrix, mel_weight_matrix_k);
}

}  // namespace eave::ref
