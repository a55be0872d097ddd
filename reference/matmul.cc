// Reference kernels: matrix products. MatMul (numpy's matmul), Gemm, Einsum (any equation) and
// Det. Plain loops: floats accumulate in compute_t<T> (float for f32 and the 16-bit floats,
// double for f64), integers in 64 bits, wrapping to the element type at the end.
#include <algorithm>
#include <cmath>
#include <string_view>

#include "reference/util.h"

namespace eave::ref {

namespace {

// A 2-D view of a matrix operand: element (i, j) is at data[i * row_stride + j * col_stride].
template <class T>
struct MatrixView {
  const T* data;
  int64_t row_stride;
  int64_t col_stride;
  auto at(int64_t i, int64_t j) const { return widen(data[i * row_stride + j * col_stride]); }
};

// out[i * n + j] = sum over k of a(i, k) * b(k, j), for an m x k times k x n product.
template <class T>
void matmul_2d(MatrixView<T> a, MatrixView<T> b, int64_t m, int64_t k, int64_t n,
               accum_t<T>* out) {
  using A = accum_t<T>;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      A sum = 0;
      for (int64_t p = 0; p < k; ++p) sum += A(a.at(i, p)) * A(b.at(p, j));
      out[i * n + j] = sum;
    }
}

void check_same_dtype(const KernelContext& ctx) {
  for (size_t i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.has_input(i))
      ctx.check(ctx.input(i).dtype() == ctx.input(0).dtype(), "input ", i, " has element type ",
                dtype_name(ctx.input(i).dtype()), " but input 0 has ",
                dtype_name(ctx.input(0).dtype()));
}

// ---------------------------------------------------------------- MatMul

// numpy.matmul: the last two axes are the matrices and the ones before them broadcast. A 1-D A
// is a row vector [1, K] and a 1-D B a column vector [K, 1]; the added axis is removed from the
// result.
void matmul_k(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  check_same_dtype(ctx);
  ctx.check(a.rank() >= 1 && b.rank() >= 1, "inputs must have rank >= 1, got shapes ",
            dims_str(a.dims()), " and ", dims_str(b.dims()));
  std::vector<int64_t> ad = a.dims(), bd = b.dims();
  if (a.rank() == 1) ad.insert(ad.begin(), 1);
  if (b.rank() == 1) bd.push_back(1);
  int64_t m = ad[ad.size() - 2], k = ad.back(), n = bd.back();
  ctx.check(bd[bd.size() - 2] == k, "inner dimensions do not match: A is ", dims_str(a.dims()),
            " and B is ", dims_str(b.dims()));
  std::vector<int64_t> batch_a(ad.begin(), ad.end() - 2), batch_b(bd.begin(), bd.end() - 2);
  std::vector<int64_t> batch = broadcast_shapes(ctx, {batch_a, batch_b});
  std::vector<int64_t> out_dims = batch;
  if (a.rank() > 1) out_dims.push_back(m);
  if (b.rank() > 1) out_dims.push_back(n);
  Tensor y(a.dtype(), out_dims);
  visit_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* py = y.mutable_data<T>();
      std::vector<accum_t<T>> acc(size_t(m * n));
      // Batch strides count whole matrices.
      std::vector<std::vector<int64_t>> strides = {broadcast_strides(batch_a, batch),
                                                   broadcast_strides(batch_b, batch)};
      for_each_broadcast(batch, strides, [&](int64_t i, const std::vector<int64_t>& off) {
        matmul_2d<T>({pa + off[0] * m * k, k, 1}, {pb + off[1] * k * n, n, 1}, m, k, n, acc.data());
        for (int64_t j = 0; j < m * n; ++j) py[i * m * n + j] = to_element<T>(acc[size_t(j)]);
      });
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- Gemm

// Y = alpha * A' * B' + beta * C, where A' and B' are A and B, transposed if transA / transB, and
// C (optional since opset 11) broadcasts to [M, N]. Before opset 7, C broadcasts only with
// broadcast=1. beta = 0 ignores C entirely (so infinities in C do not turn into NaN).
void gemm_k(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.optional_input(2);
  check_same_dtype(ctx);
  ctx.check(a.rank() == 2 && b.rank() == 2, "A and B must be matrices, got shapes ",
            dims_str(a.dims()), " and ", dims_str(b.dims()));
  bool trans_a = ctx.node().attr_int("transA", 0) != 0;
  bool trans_b = ctx.node().attr_int("transB", 0) != 0;
  double alpha = ctx.node().attr_float("alpha", 1.0f);
  double beta = ctx.node().attr_float("beta", 1.0f);
  int64_t m = trans_a ? a.dim(1) : a.dim(0), k = trans_a ? a.dim(0) : a.dim(1);
  int64_t n = trans_b ? b.dim(0) : b.dim(1);
  ctx.check((trans_b ? b.dim(1) : b.dim(0)) == k, "inner dimensions do not match: A is ",
            dims_str(a.dims()), (trans_a ? " (transposed)" : ""), " and B is ",
            dims_str(b.dims()), (trans_b ? " (transposed)" : ""));
  std::vector<int64_t> out_dims = {m, n};
  if (c) {
    bool broadcast = ctx.opset() >= 7 || ctx.node().attr_int("broadcast", 0) != 0;
    bool ok = broadcast ? c->rank() <= 2 && broadcast_shapes(ctx, {c->dims(), out_dims}) == out_dims
                        : c->dims() == out_dims;
    ctx.check(ok, "C must ", broadcast ? "broadcast to " : "have the shape ", dims_str(out_dims),
              ", got ", dims_str(c->dims()));
    if (beta == 0) c = nullptr;
  }
  Tensor y(a.dtype(), out_dims);
  visit_dtype(a.dtype(), [&](auto t) {
    using T = decltype(t);
    using A = accum_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      MatrixView<T> va =
          trans_a ? MatrixView<T>{a.data<T>(), 1, m} : MatrixView<T>{a.data<T>(), k, 1};
      MatrixView<T> vb =
          trans_b ? MatrixView<T>{b.data<T>(), 1, k} : MatrixView<T>{b.data<T>(), n, 1};
      std::vector<A> acc(size_t(m * n));
      matmul_2d(va, vb, m, k, n, acc.data());
      const T* pc = c ? c->data<T>() : nullptr;
      T* py = y.mutable_data<T>();
      std::vector<std::vector<int64_t>> strides = {
          broadcast_strides(c ? c->dims() : out_dims, out_dims)};
      for_each_broadcast(out_dims, strides, [&](int64_t i, const std::vector<int64_t>& off) {
        A v = acc[size_t(i)];
        if constexpr (std::is_floating_point_v<A>) {
          v = A(alpha) * v + (pc ? A(beta) * widen(pc[off[0]]) : A(0));
        } else if (alpha == 1 && beta == 1) {
          v += pc ? A(pc[off[0]]) : A(0);  // exact integer arithmetic in the default case
        } else {
          // alpha and beta are floats: scale in double and truncate, as a float computation
          // cast back to the integer type would.
          v = A(int64_t(alpha * double(v) + (pc ? beta * double(pc[off[0]]) : 0.0)));
        }
        py[i] = to_element<T>(v);
      });
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- Einsum

// Einsum labels as numbers: letters 'A'..'Z' are 0..25 and 'a'..'z' 26..51 (so that sorting
// them sorts alphabetically, capitals first, as numpy's implicit output order does); position p
// of the broadcast dimensions that `...` stands for is kEllipsisLabel + p.
constexpr int kEllipsisLabel = 52;
constexpr int kEllipsisMarker = -1;  // `...` in a parsed term, before it is expanded

std::string label_name(int label) {
  if (label < 26) return std::string(1, char('A' + label));
  if (label < kEllipsisLabel) return std::string(1, char('a' + label - 26));
  return "...";
}

// The labels of one term, with kEllipsisMarker where `...` is.
std::vector<int> parse_einsum_term(const KernelContext& ctx, std::string_view term) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    char ch = term[i];
    if (ch >= 'A' && ch <= 'Z') {
      labels.push_back(ch - 'A');
    } else if (ch >= 'a' && ch <= 'z') {
      labels.push_back(26 + ch - 'a');
    } else if (term.substr(i, 3) == "...") {
      ctx.check(!ellipsis, "equation term '", term, "' has more than one '...'");
      ellipsis = true;
      labels.push_back(kEllipsisMarker);
      i += 2;
    } else {
      ctx.fail("equation term '", term, "' has the invalid character '", ch, "'");
    }
  }
  return labels;
}

// Replaces `...` in a term with the last `count` of the `ell_rank` broadcast labels (the
// broadcast dimensions align to the right, as in numpy).
std::vector<int> expand_ellipsis(const std::vector<int>& labels, int64_t count, int64_t ell_rank) {
  std::vector<int> out;
  for (int l : labels) {
    if (l != kEllipsisMarker) {
      out.push_back(l);
      continue;
    }
    for (int64_t p = ell_rank - count; p < ell_rank; ++p) out.push_back(kEllipsisLabel + int(p));
  }
  return out;
}

// numpy.einsum. Each input's axes get the labels of its term; the output has the labels after
// `->`, or without `->` the `...` dimensions followed by the labels used exactly once, in
// alphabetical order. Labels missing from the output are summed over; a label repeated within
// one term takes the diagonal. Dimensions of size 1 broadcast against the label's size.
void einsum_k(KernelContext& ctx) {
  ctx.check(ctx.num_inputs() >= 1, "needs at least one input");
  check_same_dtype(ctx);
  std::string equation;
  for (char ch : ctx.node().attr_string("equation"))
    if (ch != ' ') equation += ch;
  size_t arrow = equation.find("->");
  std::string_view lhs = std::string_view(equation).substr(0, arrow);
  std::vector<std::vector<int>> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(parse_einsum_term(ctx, lhs.substr(start, comma - start)));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  size_t num = ctx.num_inputs();
  ctx.check(terms.size() == num, "equation '", equation, "' has ", terms.size(),
            " input terms but the node has ", num, " inputs");

  // Expand `...` into the broadcast labels and give every input axis a label.
  std::vector<int64_t> ell_counts(num, 0);
  int64_t ell_rank = 0;
  for (size_t i = 0; i < num; ++i) {
    int64_t letters = std::count_if(terms[i].begin(), terms[i].end(),
                                    [](int l) { return l != kEllipsisMarker; });
    bool ellipsis = letters != int64_t(terms[i].size());
    int64_t rank = int64_t(ctx.input(i).rank());
    ctx.check(ellipsis ? rank >= letters : rank == letters, "input ", i, " has rank ", rank,
              " but its equation term has ", letters, " labels", ellipsis ? " and '...'" : "");
    ell_counts[i] = rank - letters;
    ell_rank = std::max(ell_rank, ell_counts[i]);
  }
  std::vector<std::vector<int>> in_labels(num);
  for (size_t i = 0; i < num; ++i)
    in_labels[i] = expand_ellipsis(terms[i], ell_counts[i], ell_rank);

  // Each label's size; size-1 axes broadcast.
  int num_labels = kEllipsisLabel + int(ell_rank);
  std::vector<int64_t> size(size_t(num_labels), -1);
  std::vector<int> uses(size_t(num_labels), 0);
  for (size_t i = 0; i < num; ++i)
    for (size_t d = 0; d < in_labels[i].size(); ++d) {
      int l = in_labels[i][d];
      int64_t dim = ctx.input(i).dim(d);
      ++uses[size_t(l)];
      int64_t& s = size[size_t(l)];
      ctx.check(s == -1 || s == dim || s == 1 || dim == 1, "label '", label_name(l),
                "' has size ", s, " in one place and ", dim, " in another (input ", i, ")");
      if (s == -1 || s == 1) s = dim;
    }

  // The output labels.
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    std::vector<int> rhs = parse_einsum_term(ctx, std::string_view(equation).substr(arrow + 2));
    bool out_ellipsis = std::count(rhs.begin(), rhs.end(), kEllipsisMarker) > 0;
    ctx.check(out_ellipsis || ell_rank == 0, "the output term of '", equation,
              "' must have '...' to place the dimensions the inputs' '...' stand for");
    out_labels = expand_ellipsis(rhs, ell_rank, ell_rank);
    for (size_t j = 0; j < out_labels.size(); ++j) {
      int l = out_labels[j];
      ctx.check(size[size_t(l)] != -1, "output label '", label_name(l),
                "' does not appear in any input term");
      ctx.check(std::count(out_labels.begin(), out_labels.end(), l) == 1, "output label '",
                label_name(l), "' appears more than once");
    }
  } else {
    for (int64_t p = 0; p < ell_rank; ++p) out_labels.push_back(kEllipsisLabel + int(p));
    for (int l = 0; l < kEllipsisLabel; ++l)
      if (uses[size_t(l)] == 1) out_labels.push_back(l);
  }

  // Iterate over every combination of all labels, output labels first, so that the linear index
  // divided by the number of summed combinations is the output element.
  std::vector<int> all_labels = out_labels;
  for (int l = 0; l < num_labels; ++l)
    if (size[size_t(l)] != -1 &&
        std::find(out_labels.begin(), out_labels.end(), l) == out_labels.end())
      all_labels.push_back(l);
  std::vector<int64_t> all_sizes, out_dims;
  for (int l : all_labels) all_sizes.push_back(size[size_t(l)]);
  for (int l : out_labels) out_dims.push_back(size[size_t(l)]);
  int64_t summed = shape_numel(std::span(all_sizes).subspan(out_labels.size()));
  // Input i's offset moves by strides[i][j] per step of label all_labels[j]; a repeated label
  // moves along every axis it names (the diagonal), a broadcast size-1 axis not at all.
  std::vector<std::vector<int64_t>> strides(num, std::vector<int64_t>(all_labels.size(), 0));
  for (size_t i = 0; i < num; ++i) {
    std::vector<int64_t> in_strides = strides_of(ctx.input(i).dims());
    for (size_t d = 0; d < in_labels[i].size(); ++d) {
      if (ctx.input(i).dim(d) == 1) continue;
      size_t j = size_t(std::find(all_labels.begin(), all_labels.end(), in_labels[i][d]) -
                        all_labels.begin());
      strides[i][j] += in_strides[d];
    }
  }

  DType dtype = ctx.input(0).dtype();
  Tensor y(dtype, out_dims);
  visit_dtype(dtype, [&](auto t) {
    using T = decltype(t);
    using A = accum_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      ctx.fail("bool inputs are not supported");
    } else {
      std::vector<const T*> in(num);
      for (size_t i = 0; i < num; ++i) in[i] = ctx.input(i).data<T>();
      std::vector<A> acc(size_t(y.numel()), A(0));
      for_each_broadcast(all_sizes, strides, [&](int64_t i, const std::vector<int64_t>& off) {
        A p = 1;
        for (size_t k = 0; k < num; ++k) p *= A(widen(in[k][off[k]]));
        acc[size_t(i / summed)] += p;
      });
      T* py = y.mutable_data<T>();
      for (size_t i = 0; i < acc.size(); ++i) py[i] = to_element<T>(acc[i]);
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

// ---------------------------------------------------------------- Det

// Determinants of the square matrices in the last two axes, by Gaussian elimination with
// partial pivoting. An empty (0 x 0) matrix has determinant 1.
void det_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() >= 2 && x.dim(x.rank() - 1) == x.dim(x.rank() - 2),
            "input must be square matrices [..., M, M], got shape ", dims_str(x.dims()));
  int64_t n = x.dims().back();
  std::vector<int64_t> out_dims(x.dims().begin(), x.dims().end() - 2);
  Tensor y(x.dtype(), out_dims);
  visit_float(ctx, x.dtype(), [&](auto t) {
    using T = decltype(t);
    using C = compute_t<T>;
    const T* px = x.data<T>();
    T* py = y.mutable_data<T>();
    std::vector<C> a(size_t(n * n));
    for (int64_t b = 0; b < y.numel(); ++b) {
      for (int64_t i = 0; i < n * n; ++i) a[size_t(i)] = widen(px[b * n * n + i]);
      auto at = [&](int64_t r, int64_t c) -> C& { return a[size_t(r * n + c)]; };
      C det = 1;
      for (int64_t col = 0; col < n; ++col) {
        int64_t pivot = col;
        for (int64_t r = col + 1; r < n; ++r)
          if (std::abs(at(r, col)) > std::abs(at(pivot, col))) pivot = r;
        if (at(pivot, col) == 0) {
          det = 0;
          break;
        }
        if (pivot != col) {
          for (int64_t c = 0; c < n; ++c) std::swap(at(pivot, c), at(col, c));
          det = -det;
        }
        det *= at(col, col);
        for (int64_t r = col + 1; r < n; ++r) {
          C f = at(r, col) / at(col, col);
          for (int64_t c = col; c < n; ++c) at(r, c) -= f * at(col, c);
        }
      }
      py[b] = narrow<T>(det);
    }
    return 0;
  });
  ctx.set_output(0, std::move(y));
}

}  // namespace

void register_matmul_kernels(KernelRegistry& r) {
  r.add(OpKind::MatMul, matmul_k);
  r.add(OpKind::Gemm, gemm_k);
  r.add(OpKind::Einsum, einsum_k);
  r.add(OpKind::Det, det_k);
}

}  // namespace eave::ref
