/* Signal processing: DFT (forward or inverse, one-sided, zero-padded or truncated to
 * dft_length, real [.., 1] or complex [.., 2] input), STFT, the Hann, Hamming and Blackman
 * windows, and MELWEIGHT_MATRIX. Transforms are the direct O(n^2) sums in double, with the
 * n twiddle factors computed once per transform. */
#include <math.h>
#include <string.h>

#include "nn.h"

#define PI 3.14159265358979323846
#define LIMIT ((int64_t)1 << 31)

eave_status eave_builtin_signal_check(const eave_model* m, const eave_step* step,
                                      const uint8_t* params) {
  uint32_t in = step->input_count;
  eave_dtype x = eave_nn_dtype(m, step, 0), y = eave_nn_dtype(m, step, in);
  int ok;
  switch (step->id) {
    case EAVE_BUILTIN_DFT:
    case EAVE_BUILTIN_STFT: {
      int dft = step->id == EAVE_BUILTIN_DFT;
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, dft ? "DFT" : "STFT", dft ? 1 : 2,
                                                  dft ? 3 : 4, dft ? 1 : 2, 1));
      ok = eave_dtype_is_float(x) && y == x &&
           (eave_nn_rank(m, step, 0) == 3 || (dft && eave_nn_rank(m, step, 0) > 3));
      if (!dft && in > 2) ok &= eave_nn_absent_or(m, step, 2, x);
      break;
    }
    default: {
      int mel = step->id == EAVE_BUILTIN_MEL_WEIGHT_MATRIX;
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, mel ? "MelWeightMatrix" : "window",
                                                  mel ? 5 : 1, mel ? 5 : 1, mel ? 5 : 1, 1));
      /* Written in the output's dtype, which the compiler took from output_datatype. */
      ok = eave_dtype_size(y) > 0;
    }
  }
  return ok ? NULL : EAVE_INVALID("signal op: unsupported element types or ranks");
}

/* An integer scalar input. */
static eave_status int_scalar(eave_builtin_ctx* ctx, uint32_t k, const char* what, int64_t lo,
                              int64_t* out) {
  eave_tensor_view v;
  double d;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, k, what, &v));
  EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, k, what, 0, &d));
  *out = eave_elem_i64(v.dtype, v.data, 0);
  if (eave_dtype_is_float(v.dtype) || *out < lo || *out >= LIMIT)
    return EAVE_RUN_ERROR("%s must be an integer in [%lld, 2^31), got %g", what, (long long)lo, d);
  return NULL;
}

/* The DFT of line (n complex values, re/im interleaved) at bins [0, n_out), written to output
 * element pairs out_at + k * out_step; tw holds the n twiddle factors e^(-+2 pi i m / n). */
static void dft_line(const double* line, const double* tw, int64_t n, int inverse, int64_t n_out,
                     const eave_tensor_view* y, uint64_t out_at, uint64_t out_step) {
  for (int64_t k = 0; k < n_out; ++k) {
    double re = 0, im = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double* w = tw + 2 * ((j * k) % n); /* reduced first, so the angle stays exact */
      re += line[2 * j] * w[0] - line[2 * j + 1] * w[1];
      im += line[2 * j] * w[1] + line[2 * j + 1] * w[0];
    }
    if (inverse) re /= (double)n, im /= (double)n;
    eave_elem_set_f64(y->dtype, y->data, out_at + (uint64_t)k * out_step, re);
    eave_elem_set_f64(y->dtype, y->data, out_at + (uint64_t)k * out_step + 1, im);
  }
}

/* Scratch for a line of n complex values followed by its n twiddle factors. */
static eave_status line_scratch(eave_builtin_ctx* ctx, int64_t n, int inverse, double** line,
                                double** tw) {
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)n, 4, sizeof(double), (void**)line));
  *tw = *line + 2 * n;
  for (int64_t m = 0; m < n; ++m) {
    double angle = (inverse ? 2.0 : -2.0) * PI * (double)m / (double)n;
    (*tw)[2 * m] = cos(angle);
    (*tw)[2 * m + 1] = sin(angle);
  }
  return NULL;
}

/* Input [batch, n1, .., nk, 1|2]; the transform runs along `axis` (an attribute before opset
 * 20, an input since), output [.., n_out, .., 2]. */
static eave_status dft(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  eave_tensor_view x, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "input", &x));
  uint32_t r = x.rank;
  int64_t comps = x.dims[r - 1], axis, n;
  if (comps != 1 && comps != 2)
    return EAVE_RUN_ERROR("the input must end in a dimension of 1 or 2");
  eave_tensor_view opt = {0};
  if (eave_attrs_opset(params, size) >= 20) {
    EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 2, &opt));
    axis = -2;
    if (opt.data) EAVE_RETURN_IF_ERROR(int_scalar(ctx, 2, "axis", -LIMIT, &axis));
  } else {
    axis = eave_attr_int(params, size, "axis", 1);
  }
  int64_t a = axis < 0 ? axis + r : axis;
  if (a < 0 || a > (int64_t)r - 2)
    return EAVE_RUN_ERROR("axis %lld is not a signal axis", (long long)axis);
  int inverse = eave_attr_int(params, size, "inverse", 0) != 0;
  int onesided = eave_attr_int(params, size, "onesided", 0) != 0;
  int64_t n_in = x.dims[a];
  n = n_in;
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 1, &opt));
  if (opt.data) EAVE_RETURN_IF_ERROR(int_scalar(ctx, 1, "dft_length", 1, &n));
  if (n < 1 || n >= LIMIT) return EAVE_RUN_ERROR("dft_length must be positive");
  int64_t n_out = onesided ? n / 2 + 1 : n, dims[EAVE_MAX_RANK];
  memcpy(dims, x.dims, r * sizeof *dims);
  dims[a] = n_out;
  dims[r - 1] = 2;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, r, dims, &y));
  int64_t outer = eave_nn_prod(x.dims, (uint32_t)a);
  int64_t inner = eave_nn_prod(x.dims + a + 1, r - (uint32_t)a - 2);
  double *line, *tw;
  EAVE_RETURN_IF_ERROR(line_scratch(ctx, n, inverse, &line, &tw));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      memset(line, 0, (size_t)n * 2 * sizeof *line); /* zero-padded or truncated to n */
      for (int64_t j = 0; j < n && j < n_in; ++j) {
        uint64_t e = (uint64_t)(((o * n_in + j) * inner + i) * comps);
        line[2 * j] = eave_elem_f64(x.dtype, x.data, e);
        line[2 * j + 1] = comps == 2 ? eave_elem_f64(x.dtype, x.data, e + 1) : 0;
      }
      dft_line(line, tw, n, inverse, n_out, &y, (uint64_t)((o * n_out * inner + i) * 2),
               (uint64_t)(inner * 2));
    }
  return NULL;
}

/* signal [batch, length, 1|2], frame_step, window [frame_length]?, frame_length? -> [batch,
 * frames, bins, 2] with frames = (length - frame_length) / frame_step + 1. */
static eave_status stft(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  eave_tensor_view x, window, opt, y;
  int64_t step, frame = -1;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "signal", &x));
  int64_t comps = x.dims[2], batch = x.dims[0], len = x.dims[1];
  if (comps != 1 && comps != 2)
    return EAVE_RUN_ERROR("the signal must end in a dimension of 1 or 2");
  EAVE_RETURN_IF_ERROR(int_scalar(ctx, 1, "frame_step", 1, &step));
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 2, &window));
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 3, &opt));
  if (opt.data) EAVE_RETURN_IF_ERROR(int_scalar(ctx, 3, "frame_length", 1, &frame));
  if (window.data) {
    if (window.rank != 1 || (frame >= 0 && frame != window.dims[0]))
      return EAVE_RUN_ERROR("the window must be 1-D, of frame_length entries");
    frame = window.dims[0];
  }
  if (frame < 1 || frame >= LIMIT || len < frame)
    return EAVE_RUN_ERROR("needs a window or frame_length in [1, signal length]");
  int64_t frames = (len - frame) / step + 1;
  int64_t bins = eave_attr_int(params, size, "onesided", 1) ? frame / 2 + 1 : frame;
  int64_t dims[4] = {batch, frames, bins, 2};
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 4, dims, &y));
  double *line, *tw;
  EAVE_RETURN_IF_ERROR(line_scratch(ctx, frame, 0, &line, &tw));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t f = 0; f < frames; ++f) {
      for (int64_t j = 0; j < frame; ++j) {
        uint64_t e = (uint64_t)((b * len + f * step + j) * comps);
        double w = window.data ? eave_elem_f64(window.dtype, window.data, (uint64_t)j) : 1;
        line[2 * j] = eave_elem_f64(x.dtype, x.data, e) * w;
        line[2 * j + 1] = comps == 2 ? eave_elem_f64(x.dtype, x.data, e + 1) * w : 0;
      }
      dft_line(line, tw, frame, 0, bins, &y, (uint64_t)((b * frames + f) * bins * 2), 2);
    }
  return NULL;
}

/* A cosine-sum window w[n] = sum_k a_k cos(2 pi k n / N), n in [0, size), N = size
 * (periodic) or size - 1 (symmetric). */
static eave_status cosine_window(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  static const double coeffs[3][3] = {
      {0.5, -0.5, 0}, {25.0 / 46.0, -21.0 / 46.0, 0}, {0.42, -0.5, 0.08}};
  const double* a = coeffs[eave_builtin_step(ctx)->id - EAVE_BUILTIN_HANN_WINDOW];
  int64_t n;
  eave_tensor_view y;
  EAVE_RETURN_IF_ERROR(int_scalar(ctx, 0, "size", 0, &n));
  int periodic = eave_attr_int(params, size, "periodic", 1) != 0;
  int64_t period = periodic ? n : n - 1;
  double denom = (double)(period > 1 ? period : 1);
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 1, &n, &y));
  for (int64_t i = 0; i < n; ++i) {
    double v = 0;
    for (int k = 0; k < 3; ++k) v += a[k] * cos(2.0 * PI * k * (double)i / denom);
    eave_elem_set_f64(y.dtype, y.data, (uint64_t)i, v);
  }
  return NULL;
}

/* [dft_length / 2 + 1, num_mel_bins]: triangular filters with peak 1. The band edges are
 * num_mel_bins + 2 points evenly spaced on the mel scale mel(f) = 2595 log10(1 + f / 700),
 * from lower_edge_hertz in steps of (mel(upper) - mel(lower)) / (num_mel_bins + 2), each mapped
 * to spectrogram bin floor((dft_length + 1) * f / sample_rate). */
static eave_status mel_weight_matrix(eave_builtin_ctx* ctx) {
  int64_t bands, dft_length, rate;
  double lower, upper;
  EAVE_RETURN_IF_ERROR(int_scalar(ctx, 0, "num_mel_bins", 1, &bands));
  EAVE_RETURN_IF_ERROR(int_scalar(ctx, 1, "dft_length", 1, &dft_length));
  EAVE_RETURN_IF_ERROR(int_scalar(ctx, 2, "sample_rate", 1, &rate));
  EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 3, "lower_edge_hertz", 0, &lower));
  EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 4, "upper_edge_hertz", 0, &upper));
  if (!(lower >= 0 && lower <= upper))
    return EAVE_RUN_ERROR("needs 0 <= lower_edge_hertz <= upper_edge_hertz");
  int64_t bins = dft_length / 2 + 1, dims[2] = {bins, bands};
  eave_tensor_view y;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 2, dims, &y));
  if (y.data) memset(y.data, 0, (size_t)y.bytes);
  double low_mel = 2595.0 * log10(1.0 + lower / 700.0);
  double step = (2595.0 * log10(1.0 + upper / 700.0) - low_mel) / (double)(bands + 2);
  for (int64_t m = 0; m < bands; ++m) {
    int64_t e[3];
    for (int q = 0; q < 3; ++q) {
      double hz = 700.0 * (pow(10.0, ((double)(m + q) * step + low_mel) / 2595.0) - 1.0);
      double bin = floor((double)(dft_length + 1) * hz / (double)rate);
      if (!(bin >= 0 && bin < (double)bins))
        return EAVE_RUN_ERROR("upper_edge_hertz lies above the spectrogram's highest bin");
      e[q] = (int64_t)bin;
    }
    if (e[1] == e[0]) eave_elem_set_f64(y.dtype, y.data, (uint64_t)(e[1] * bands + m), 1.0);
    for (int64_t j = e[0]; e[1] != e[0] && j <= e[1]; ++j)
      eave_elem_set_f64(y.dtype, y.data, (uint64_t)(j * bands + m),
                        (double)(j - e[0]) / (double)(e[1] - e[0]));
    for (int64_t j = e[1]; j < e[2]; ++j)
      eave_elem_set_f64(y.dtype, y.data, (uint64_t)(j * bands + m),
                        (double)(e[2] - j) / (double)(e[2] - e[1]));
  }
  return NULL;
}

eave_status eave_builtin_signal_run(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  switch (eave_builtin_step(ctx)->id) {
    case EAVE_BUILTIN_DFT: return dft(ctx, params, size);
    case EAVE_BUILTIN_STFT: return stft(ctx, params, size);
    case EAVE_BUILTIN_MEL_WEIGHT_MATRIX: return mel_weight_matrix(ctx);
    default: return cosine_window(ctx, params, size);
  }
}
