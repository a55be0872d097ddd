// Reference kernels that fit no larger family: TopK, NonMaxSuppression, Unique, GridSample,
// AffineGrid, StringNormalizer and TfIdfVectorizer.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <string>

#include "reference/util.h"

namespace eave::ref {

namespace {

// Calls f(T{}) for every numeric dtype (not bool); an Error naming the node otherwise.
template <class F>
void visit_numeric(const KernelContext& ctx, DType t, F&& f) {
  ctx.check(t != DType::Bool && t != DType::String && t != DType::Undefined,
            "element type ", dtype_name(t), " is not supported (needs a numeric type)");
  visit_dtype(t, [&](auto tag) {
    if constexpr (!std::is_same_v<decltype(tag), bool>) f(tag);
    return 0;
  });
}

// A strict weak order on numbers that places NaN above everything.
template <class C>
bool less_nan_last(C a, C b) {
  if constexpr (std::is_floating_point_v<C>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

// v converted to integer type T, saturating at T's range.
template <class T>
T saturate_cast(double v) {
  if (v <= double(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v >= double(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return T(v);
}

// ---------------------------------------------------------------- TopK

// The k largest (or smallest) entries along `axis`, sorted, ties going to the lower index.
void topk_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  ctx.check(x.rank() >= 1, "input must have rank >= 1");
  int64_t axis = normalize_axis(ctx, node.attr_int("axis", -1), int64_t(x.rank()));
  int64_t k;
  if (ctx.opset() < 10) {
    k = node.attr_int("k");
  } else {
    const Tensor& kt = ctx.input(1);
    ctx.check(kt.dtype() == DType::I64 && kt.numel() == 1, "K must be a single int64, got ",
              dtype_name(kt.dtype()), dims_str(kt.dims()));
    k = kt.as_int(0);
  }
  int64_t n = x.dim(size_t(axis));
  ctx.check(k >= 0 && k <= n, "k = ", k, " is outside [0, ", n, "] (axis ", axis, " of ",
            dims_str(x.dims()), ")");
  bool largest = node.attr_int("largest", 1) != 0;
  std::vector<int64_t> out_dims = x.dims();
  out_dims[size_t(axis)] = k;
  Tensor values(x.dtype(), out_dims), indices(DType::I64, out_dims);
  int64_t outer = shape_numel(std::span(x.dims()).first(size_t(axis)));
  int64_t inner = shape_numel(std::span(x.dims()).subspan(size_t(axis) + 1));
  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* pv = values.mutable_data<T>();
    int64_t* pi = indices.mutable_data<int64_t>();
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t j) { return widen(px[(o * n + j) * inner + i]); };
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
          auto va = at(a), vb = at(b);
          if (largest) std::swap(va, vb);
          return less_nan_last(va, vb) || (!less_nan_last(vb, va) && a < b);
        });
        for (int64_t j = 0; j < k; ++j) {
          int64_t dst = (o * k + j) * inner + i;
          pv[dst] = px[(o * n + order[size_t(j)]) * inner + i];
          pi[dst] = order[size_t(j)];
        }
      }
  });
  ctx.set_output(0, std::move(values));
  ctx.set_output(1, std::move(indices));
}

// ---------------------------------------------------------------- NonMaxSuppression

struct Box {
  double y1, x1, y2, x2;  // y1 <= y2, x1 <= x2
  double area() const { return (y2 - y1) * (x2 - x1); }
};

// Intersection over union; 0 when either box is empty or they do not overlap.
double iou(const Box& a, const Box& b) {
  if (a.area() <= 0 || b.area() <= 0) return 0;
  double h = std::min(a.y2, b.y2) - std::max(a.y1, b.y1);
  double w = std::min(a.x2, b.x2) - std::max(a.x1, b.x1);
  if (h <= 0 || w <= 0) return 0;
  double inter = h * w;
  return inter / (a.area() + b.area() - inter);
}

// Inputs boxes [B, S, 4], scores [B, C, S], max_output_boxes_per_class?, iou_threshold?,
// score_threshold?. For every batch and class, greedily keeps the highest-scoring boxes (score
// above score_threshold, ties to the lower index) whose IoU with every box kept so far is at
// most iou_threshold. Output [K, 3] rows (batch, class, box) in batch, class, selection order.
void non_max_suppression_k(KernelContext& ctx) {
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  ctx.check(boxes.rank() == 3 && boxes.dim(2) == 4, "boxes must have shape [B, S, 4], got ",
            dims_str(boxes.dims()));
  ctx.check(scores.rank() == 3 && scores.dim(0) == boxes.dim(0) && scores.dim(2) == boxes.dim(1),
            "scores must have shape [", boxes.dim(0), ", C, ", boxes.dim(1), "], got ",
            dims_str(scores.dims()));
  ctx.check(is_float(boxes.dtype()) && is_float(scores.dtype()),
            "boxes and scores must be float tensors");
  int64_t max_out = int64_t(scalar_input(ctx, 2, 0));
  double iou_threshold = scalar_input(ctx, 3, 0);
  bool has_score_threshold = ctx.has_input(4);
  double score_threshold = scalar_input(ctx, 4, 0);
  bool center = ctx.node().attr_int("center_point_box", 0) != 0;
  int64_t nb = boxes.dim(0), ns = boxes.dim(1), nc = scores.dim(1);

  std::vector<int64_t> rows;
  for (int64_t b = 0; b < nb; ++b) {
    std::vector<Box> bx;
    for (int64_t s = 0; s < ns; ++s) {
      double v[4];
      for (int64_t j = 0; j < 4; ++j) v[j] = boxes.as_double((b * ns + s) * 4 + j);
      if (center) {
        bx.push_back({v[1] - v[3] / 2, v[0] - v[2] / 2, v[1] + v[3] / 2, v[0] + v[2] / 2});
      } else {
        bx.push_back({std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]),
                      std::max(v[1], v[3])});
      }
    }
    for (int64_t c = 0; c < nc; ++c) {
      auto score = [&](int64_t s) { return scores.as_double((b * nc + c) * ns + s); };
      std::vector<int64_t> order;
      for (int64_t s = 0; s < ns; ++s)
        if (!has_score_threshold || score(s) > score_threshold) order.push_back(s);
      std::sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
        return score(p) > score(q) || (score(p) == score(q) && p < q);
      });
      std::vector<int64_t> kept;
      for (int64_t s : order) {
        if (int64_t(kept.size()) >= max_out) break;
        bool keep = true;
        for (int64_t t : kept) keep = keep && iou(bx[size_t(s)], bx[size_t(t)]) <= iou_threshold;
        if (!keep) continue;
        kept.push_back(s);
        rows.insert(rows.end(), {b, c, s});
      }
    }
  }
  ctx.set_output(0, Tensor::from_vector<int64_t>({int64_t(rows.size() / 3), 3}, rows));
}

// ---------------------------------------------------------------- Unique

// Orders elements a and b of t (any dtype, strings by bytes): -1, 0 or 1.
int compare_elements(const Tensor& t, int64_t a, int64_t b) {
  if (t.dtype() == DType::String) {
    int c = t.strings()[size_t(a)].compare(t.strings()[size_t(b)]);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  return visit_dtype(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto va = widen(t.data<T>()[a]), vb = widen(t.data<T>()[b]);
    return less_nan_last(va, vb) ? -1 : less_nan_last(vb, va) ? 1 : 0;
  });
}

// Unique elements (no axis) or slices along `axis`: Y, the index of each one's first
// occurrence, the index in Y of every input element/slice, and how often each occurs. Y is in
// ascending (lexicographic for slices) order when sorted=1, else in order of first occurrence.
void unique_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  bool sorted = node.attr_int("sorted", 1) != 0;
  bool has_axis = node.has_attr("axis");
  Tensor src = has_axis ? x : x.reshaped({x.numel()});
  ctx.check(src.rank() >= 1, "a scalar input needs no axis");
  int64_t axis = has_axis ? normalize_axis(ctx, node.attr_int("axis"), int64_t(x.rank())) : 0;
  int64_t n = src.dim(size_t(axis));
  int64_t outer = shape_numel(std::span(src.dims()).first(size_t(axis)));
  int64_t inner = shape_numel(std::span(src.dims()).subspan(size_t(axis) + 1));

  // Compares slices a and b element by element in row-major order; -1, 0 or 1.
  auto compare = [&](int64_t a, int64_t b) -> int {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        int64_t ea = (o * n + a) * inner + i, eb = (o * n + b) * inner + i;
        if (int c = compare_elements(src, ea, eb)) return c;
      }
    return 0;
  };
  // First occurrences in input order, then optionally sorted.
  std::vector<int64_t> firsts, inverse(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    int64_t found = -1;
    for (size_t u = 0; u < firsts.size() && found < 0; ++u)
      if (compare(firsts[u], j) == 0) found = int64_t(u);
    if (found < 0) {
      found = int64_t(firsts.size());
      firsts.push_back(j);
    }
    inverse[size_t(j)] = found;
  }
  std::vector<int64_t> order(firsts.size());  // order[k]: the k-th output's entry in firsts
  std::iota(order.begin(), order.end(), 0);
  if (sorted)
    std::sort(order.begin(), order.end(), [&](int64_t p, int64_t q) {
      return compare(firsts[size_t(p)], firsts[size_t(q)]) < 0;
    });
  std::vector<int64_t> rank_of(order.size());
  for (size_t k = 0; k < order.size(); ++k) rank_of[size_t(order[k])] = int64_t(k);
  int64_t m = int64_t(order.size());
  std::vector<int64_t> indices(static_cast<size_t>(m)), counts(static_cast<size_t>(m), 0);
  for (int64_t k = 0; k < m; ++k) indices[size_t(k)] = firsts[size_t(order[size_t(k)])];
  for (int64_t& v : inverse) {
    v = rank_of[size_t(v)];
    ++counts[size_t(v)];
  }
  std::vector<Tensor> parts;
  for (int64_t k = 0; k < m; ++k) parts.push_back(slice_axis(src, axis, indices[size_t(k)], 1));
  std::vector<int64_t> y_dims = src.dims();
  y_dims[size_t(axis)] = 0;
  ctx.set_output(0, parts.empty() ? Tensor(src.dtype(), y_dims) : concat_axis(ctx, parts, axis));
  ctx.set_output(1, Tensor::from_vector<int64_t>({m}, indices));
  ctx.set_output(2, Tensor::from_vector<int64_t>({n}, inverse));
  ctx.set_output(3, Tensor::from_vector<int64_t>({m}, counts));
}

// ---------------------------------------------------------------- GridSample

enum class Padding { Zeros, Border, Reflection };

// Folds x back into [lo, hi] by reflecting at the bounds as often as needed.
double reflect(double x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    double d = lo - x;
    int64_t flips = int64_t(d / range);
    double r = d - double(flips) * range;
    return flips % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    double d = x - hi;
    int64_t flips = int64_t(d / range);
    double r = d - double(flips) * range;
    return flips % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

// Cubic convolution weights (A = -0.75) for the four taps around a point at fraction t.
std::array<double, 4> cubic_weights(double t) {
  constexpr double A = -0.75;
  auto near = [](double d) { return ((A + 2) * d - (A + 3)) * d * d + 1; };     // |d| <= 1
  auto far = [](double d) { return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A; };  // 1 < |d| < 2
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

// Input X [N, C, D1..Dr], grid [N, O1..Or, r] of normalized coordinates in [-1, 1] (the last
// component indexes the innermost spatial axis); output [N, C, O1..Or]. Modes (bi)linear,
// nearest (rounding half to even) and (bi)cubic (2-D only); padding zeros, border or reflection.
void grid_sample_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& grid = ctx.input(1);
  const Node& node = ctx.node();
  ctx.check(x.rank() >= 3, "X must have shape [N, C, D1, ...], got ", dims_str(x.dims()));
  size_t r = x.rank() - 2;
  ctx.check(grid.rank() == r + 2 && grid.dim(0) == x.dim(0) && grid.dims().back() == int64_t(r),
            "grid must have shape [", x.dim(0), ", out dims..., ", r, "] for X ",
            dims_str(x.dims()), ", got ", dims_str(grid.dims()));
  ctx.check(is_float(grid.dtype()), "grid must be a float tensor");
  std::string mode = node.attr_string("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
  bool linear = mode == "linear" || mode == "bilinear";
  bool cubic = mode == "cubic" || mode == "bicubic";
  ctx.check(linear || cubic || mode == "nearest", "unknown mode '", mode, "'");
  ctx.check(!cubic || r == 2, "cubic mode needs 4-D input, got ", dims_str(x.dims()));
  std::string pad_name = node.attr_string("padding_mode", "zeros");
  Padding pad = pad_name == "border"       ? Padding::Border
                : pad_name == "reflection" ? Padding::Reflection
                                           : Padding::Zeros;
  ctx.check(pad != Padding::Zeros || pad_name == "zeros", "unknown padding_mode '", pad_name,
            "'");
  bool align = node.attr_int("align_corners", 0) != 0;

  int64_t batch = x.dim(0), chans = x.dim(1);
  std::vector<int64_t> in(x.dims().begin() + 2, x.dims().end());
  std::vector<int64_t> out(grid.dims().begin() + 1, grid.dims().end() - 1);
  std::vector<int64_t> in_strides = strides_of(in);
  int64_t in_sp = shape_numel(in), out_sp = shape_numel(out);
  ctx.check(in_sp > 0 || out_sp == 0 || batch * chans == 0,
            "cannot sample from X with an empty spatial dimension: ", dims_str(x.dims()));
  std::vector<int64_t> y_dims = {batch, chans};
  y_dims.insert(y_dims.end(), out.begin(), out.end());
  Tensor y(x.dtype(), y_dims);

  // The value at integer position idx of channel plane `plane`, with out-of-range positions
  // handled by the padding mode.
  auto fetch = [&](const std::vector<double>& plane, std::vector<int64_t> idx) -> double {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) {
      int64_t i = idx[d], len = in[d];
      if (i < 0 || i >= len) {
        if (pad == Padding::Zeros) return 0.0;
        if (pad == Padding::Border) {
          i = std::clamp<int64_t>(i, 0, len - 1);
        } else {
          double lo = align ? 0.0 : -0.5, hi = align ? double(len - 1) : double(len) - 0.5;
          i = std::clamp<int64_t>(int64_t(reflect(double(i), lo, hi)), 0, len - 1);
        }
      }
      off += i * in_strides[d];
    }
    return plane[size_t(off)];
  };

  visit_numeric(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<double> coord(r);
    std::vector<int64_t> base(r), idx(r);
    for (int64_t nb = 0; nb < batch; ++nb)
      for (int64_t c = 0; c < chans; ++c) {
        std::vector<double> plane(static_cast<size_t>(in_sp));
        for (int64_t i = 0; i < in_sp; ++i)
          plane[size_t(i)] = double(widen(px[(nb * chans + c) * in_sp + i]));
        for (int64_t o = 0; o < out_sp; ++o) {
          bool nan_point = false;
          for (size_t d = 0; d < r; ++d) {
            double g = grid.as_double((nb * out_sp + o) * int64_t(r) + int64_t(r - 1 - d));
            double len = double(in[d]);
            double v = align ? (g + 1) / 2 * (len - 1) : ((g + 1) * len - 1) / 2;
            // Linear and nearest move far-out coordinates in before sampling; cubic pads
            // each of its taps instead.
            if (!cubic && pad == Padding::Border) v = std::clamp(v, 0.0, len - 1);
            if (!cubic && pad == Padding::Reflection)
              v = align ? reflect(v, 0, len - 1) : reflect(v, -0.5, len - 0.5);
            // Bound coordinates so that integer tap positions cannot overflow.
            coord[d] = std::clamp(v, -1e12, 1e12);
            if (std::isnan(v)) nan_point = true;
          }
          double result = 0;
          if (nan_point) {
            result = std::numeric_limits<double>::quiet_NaN();
          } else if (mode == "nearest") {
            for (size_t d = 0; d < r; ++d) idx[d] = int64_t(std::nearbyint(coord[d]));
            result = fetch(plane, idx);
          } else if (linear) {
            for (size_t d = 0; d < r; ++d) base[d] = int64_t(std::floor(coord[d]));
            for (int64_t corner = 0; corner < (int64_t(1) << r); ++corner) {
              double w = 1;
              for (size_t d = 0; d < r; ++d) {
                bool hi = (corner >> d) & 1;
                double t = coord[d] - double(base[d]);
                w *= hi ? t : 1 - t;
                idx[d] = base[d] + hi;
              }
              if (w != 0) result += w * fetch(plane, idx);
            }
          } else {
            std::array<double, 4> wy = cubic_weights(coord[0] - std::floor(coord[0]));
            std::array<double, 4> wx = cubic_weights(coord[1] - std::floor(coord[1]));
            int64_t y0 = int64_t(std::floor(coord[0])) - 1, x0 = int64_t(std::floor(coord[1])) - 1;
            for (int64_t i = 0; i < 4; ++i)
              for (int64_t j = 0; j < 4; ++j)
                result += wy[size_t(i)] * wx[size_t(j)] * fetch(plane, {y0 + i, x0 + j});
          }
          T& dst = py[(nb * chans + c) * out_sp + o];
          if constexpr (std::is_integral_v<T>)
            dst = std::isnan(result) ? T(0) : saturate_cast<T>(std::nearbyint(result));
          else dst = narrow<T>(compute_t<T>(result));
        }
      }
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- AffineGrid

// theta [N, 2, 3] with size [N, C, H, W] gives a grid [N, H, W, 2]; theta [N, 3, 4] with size
// [N, C, D, H, W] gives [N, D, H, W, 3]. Each point is theta applied to the normalized base
// coordinates (x, y[, z], 1), which span [-1, 1] at pixel centers, or at the corner pixels
// when align_corners=1.
void affine_grid_k(KernelContext& ctx) {
  const Tensor& theta = ctx.input(0);
  std::vector<int64_t> size = ctx.input(1).to_int_vector();
  bool align = ctx.node().attr_int("align_corners", 0) != 0;
  ctx.check(size.size() == 4 || size.size() == 5, "size must have 4 or 5 entries, got ",
            dims_str(size));
  int64_t r = int64_t(size.size()) - 2;  // spatial rank: 2 or 3
  int64_t batch = size[0];
  ctx.check(theta.dims() == std::vector<int64_t>{batch, r, r + 1}, "theta must have shape ",
            dims_str(std::vector<int64_t>{batch, r, r + 1}), " for size ", dims_str(size),
            ", got ", dims_str(theta.dims()));
  std::vector<int64_t> sp(size.begin() + 2, size.end());  // [D,] H, W
  for (int64_t d : sp) ctx.check(d >= 0, "size must not be negative, got ", dims_str(size));
  std::vector<int64_t> y_dims = {batch};
  y_dims.insert(y_dims.end(), sp.begin(), sp.end());
  y_dims.push_back(r);
  auto base = [&](int64_t i, int64_t len) {
    if (align) return len > 1 ? -1.0 + 2.0 * double(i) / double(len - 1) : -1.0;
    return (2.0 * double(i) + 1.0) / double(len) - 1.0;
  };
  Tensor y(theta.dtype(), y_dims);
  int64_t points = shape_numel(sp);
  visit_float(ctx, theta.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* py = y.mutable_data<T>();
    for (int64_t n = 0; n < batch; ++n)
      for (int64_t p = 0; p < points; ++p) {
        // Homogeneous base point (x, y[, z], 1): x follows the innermost axis.
        std::vector<double> h(size_t(r + 1), 1.0);
        int64_t rest = p;
        for (int64_t d = r - 1; d >= 0; --d) {
          int64_t len = sp[size_t(d)];
          h[size_t(r - 1 - d)] = base(rest % len, len);
          rest /= len;
        }
        for (int64_t row = 0; row < r; ++row) {
          double v = 0;
          for (int64_t col = 0; col <= r; ++col)
            v += theta.as_double((n * r + row) * (r + 1) + col) * h[size_t(col)];
          py[(n * points + p) * r + row] = narrow<T>(compute_t<T>(v));
        }
      }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- strings

// ASCII case mapping; bytes of multi-byte UTF-8 sequences are left as they are.
std::string change_case(std::string s, bool upper) {
  for (char& c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x80) c = char(upper ? std::toupper(u) : std::tolower(u));
  }
  return s;
}

// Drops stopwords from a [C] or [1, C] string tensor, then changes case. An empty result is a
// single empty string ([1] or [1, 1]).
void string_normalizer_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  ctx.check(x.dtype() == DType::String, "input must be a string tensor");
  ctx.check(x.rank() == 1 || (x.rank() == 2 && x.dim(0) == 1),
            "input must have shape [C] or [1, C], got ", dims_str(x.dims()));
  std::string action = node.attr_string("case_change_action", "NONE");
  ctx.check(action == "NONE" || action == "LOWER" || action == "UPPER",
            "case_change_action must be NONE, LOWER or UPPER, got '", action, "'");
  bool case_sensitive = node.attr_int("is_case_sensitive", 0) != 0;
  std::vector<std::string> stop = node.attr_strings("stopwords", std::vector<std::string>{});
  auto key = [&](const std::string& s) { return case_sensitive ? s : change_case(s, false); };
  std::vector<std::string> stop_keys;
  for (const std::string& s : stop) stop_keys.push_back(key(s));
  std::vector<std::string> kept;
  for (const std::string& s : x.strings()) {
    if (std::find(stop_keys.begin(), stop_keys.end(), key(s)) != stop_keys.end()) continue;
    kept.push_back(action == "NONE" ? s : change_case(s, action == "UPPER"));
  }
  if (kept.empty()) kept.push_back("");
  std::vector<int64_t> dims = {int64_t(kept.size())};
  if (x.rank() == 2) dims.insert(dims.begin(), 1);
  ctx.set_output(0, Tensor::from_vector<std::string>(dims, kept));
}

// Counts the pool's n-grams in each row of a [C] or [N, C] int32/int64/string input. An n-gram
// with skip s takes every (s+1)-th item; lengths min_gram_length..max_gram_length and skips
// 0..max_skip_count are all counted (1-grams once). Output [max(ngram_indexes) + 1] or
// [N, ..]: counts (TF), weights where present (IDF) or counts times weights (TFIDF).
void tfidf_vectorizer_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Node& node = ctx.node();
  int64_t min_n = node.attr_int("min_gram_length");
  int64_t max_n = node.attr_int("max_gram_length");
  int64_t max_skip = node.attr_int("max_skip_count");
  std::string mode = node.attr_string("mode");
  ctx.check(mode == "TF" || mode == "IDF" || mode == "TFIDF",
            "mode must be TF, IDF or TFIDF, got '", mode, "'");
  ctx.check(min_n >= 1 && min_n <= max_n && max_skip >= 0,
            "needs 1 <= min_gram_length <= max_gram_length and max_skip_count >= 0");
  std::vector<int64_t> starts = node.attr_ints("ngram_counts");
  std::vector<int64_t> out_index = node.attr_ints("ngram_indexes");
  std::vector<float> weights = node.attr_floats("weights", std::vector<float>{});
  bool strings = node.has_attr("pool_strings");
  ctx.check(strings != node.has_attr("pool_int64s"),
            "exactly one of pool_strings and pool_int64s must be given");
  ctx.check(strings ? x.dtype() == DType::String
                    : (x.dtype() == DType::I32 || x.dtype() == DType::I64),
            "input element type ", dtype_name(x.dtype()), " does not match the pool");
  ctx.check(x.rank() == 1 || x.rank() == 2, "input must have shape [C] or [N, C], got ",
            dims_str(x.dims()));
  std::vector<std::string> pool;
  if (strings) {
    pool = node.attr_strings("pool_strings");
  } else {
    for (int64_t v : node.attr_ints("pool_int64s")) pool.push_back(std::to_string(v));
  }
  // Map each pool n-gram (its tokens joined by '\0') to its position among the pool's n-grams.
  std::map<std::string, int64_t> ngram_id;
  int64_t id = 0;
  for (size_t g = 0; g < starts.size(); ++g) {
    int64_t len = int64_t(g) + 1;
    int64_t begin = starts[g], end = g + 1 < starts.size() ? starts[g + 1] : int64_t(pool.size());
    ctx.check(begin >= 0 && begin <= end && end <= int64_t(pool.size()) && (end - begin) % len == 0,
              "ngram_counts ", dims_str(starts), " does not split a pool of ", pool.size(),
              " items into n-grams");
    for (int64_t at = begin; at < end; at += len) {
      std::string k;
      for (int64_t t = 0; t < len; ++t) k += pool[size_t(at + t)] + '\0';
      ngram_id.emplace(k, id++);
    }
  }
  ctx.check(int64_t(out_index.size()) == id, "ngram_indexes has ", out_index.size(),
            " entries for ", id, " pool n-grams");
  ctx.check(weights.empty() || weights.size() == out_index.size(), "weights has ",
            weights.size(), " entries for ", id, " pool n-grams");
  int64_t width = 0;
  for (int64_t v : out_index) {
    ctx.check(v >= 0, "ngram_indexes must not be negative");
    width = std::max(width, v + 1);
  }

  int64_t rows = x.rank() == 2 ? x.dim(0) : 1, cols = x.dims().back();
  std::vector<int64_t> y_dims = {width};
  if (x.rank() == 2) y_dims.insert(y_dims.begin(), rows);
  Tensor y(DType::F32, y_dims);
  float* py = y.mutable_data<float>();
  auto token = [&](int64_t i) {
    return strings ? x.strings()[size_t(i)] : std::to_string(x.as_int(i));
  };
  for (int64_t row = 0; row < rows; ++row) {
    std::vector<int64_t> count(size_t(id), 0);
    for (int64_t n = min_n; n <= max_n; ++n)
      for (int64_t skip = 0; skip <= (n == 1 ? 0 : max_skip); ++skip)
        for (int64_t start = 0; start + (n - 1) * (skip + 1) < cols; ++start) {
          std::string k;
          for (int64_t t = 0; t < n; ++t) k += token(row * cols + start + t * (skip + 1)) + '\0';
          if (auto it = ngram_id.find(k); it != ngram_id.end()) ++count[size_t(it->second)];
        }
    for (int64_t i = 0; i < id; ++i) {
      if (!count[size_t(i)]) continue;
      double w = weights.empty() ? 1.0 : weights[size_t(i)];
      double c = double(count[size_t(i)]);
      double v = mode == "TF" ? c : mode == "IDF" ? w : c * w;
      py[row * width + out_index[size_t(i)]] = float(v);
    }
  }
  ctx.set_output(0, std::move(y));
}

}  // namespace

void register_misc_kernels(KernelRegistry& r) {
  r.add(OpKind::TopK, topk_k);
  r.add(OpKind::NonMaxSuppression, non_max_suppression_k);
  r.add(OpKind::Unique, unique_k);
  r.add(OpKind::GridSample, grid_sample_k);
  r.add(OpKind::AffineGrid, affine_grid_k);
  r.add(OpKind::StringNormalizer, string_normalizer_k);
  r.add(OpKind::TfIdfVectorizer, tfidf_vectorizer_k);
}

}  // namespace eave::ref
