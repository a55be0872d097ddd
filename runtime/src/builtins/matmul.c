/* Matrix products: MATMUL (numpy's matmul: broadcast batch axes, 1-D operands promoted),
 * GEMM, EINSUM (any equation), DET, and the quantized MATMUL_INTEGER and QLINEAR_MATMUL.
 * Floats compute in f32 (f64 for f64 tensors), integers in wrapping 64-bit arithmetic
 * truncated to the element type; the quantized ops subtract their zero points first and sum
 * exactly in f64. */
#include <math.h>
#include <string.h>

#include "math_util.h"
#include "nn.h"

static int is_8bit(eave_dtype t) { return t == EAVE_DTYPE_U8 || t == EAVE_DTYPE_I8; }

eave_status eave_builtin_matmul_check(const eave_model* m, const eave_step* step,
                                      const uint8_t* params) {
  uint32_t in = step->input_count, r0 = eave_nn_rank(m, step, 0), r1 = eave_nn_rank(m, step, 1);
  eave_dtype a = eave_nn_dtype(m, step, 0), y = eave_nn_dtype(m, step, in);
  int ok = 1;
  switch (step->id) {
    case EAVE_BUILTIN_MATMUL_INTEGER:
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, "MatMulInteger", 2, 4, 2, 1));
      ok = is_8bit(a) && is_8bit(eave_nn_dtype(m, step, 1)) && y == EAVE_DTYPE_I32;
      for (uint32_t k = 2; k < in; ++k)
        ok &= eave_nn_absent_or(m, step, k, eave_nn_dtype(m, step, k - 2));
      ok &= r0 >= 1 && r1 >= 1;
      break;
    case EAVE_BUILTIN_QLINEAR_MATMUL:
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, "QLinearMatMul", 8, 8, 8, 1));
      ok = is_8bit(a) && is_8bit(eave_nn_dtype(m, step, 3)) && eave_nn_dtype(m, step, 2) == a &&
           eave_nn_dtype(m, step, 5) == eave_nn_dtype(m, step, 3) &&
           eave_nn_dtype(m, step, 7) == y &&
           (is_8bit(y) || y == EAVE_DTYPE_U16 || y == EAVE_DTYPE_I16) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 1)) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 4)) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 6)) && r0 >= 1 &&
           eave_nn_rank(m, step, 3) >= 1;
      break;
    default: {
      static const struct {
        uint32_t id;
        const char* name;
        uint8_t min_in, max_in;
      } sig[] = {{EAVE_BUILTIN_MATMUL, "MatMul", 2, 2},
                 {EAVE_BUILTIN_GEMM, "Gemm", 2, 3},
                 {EAVE_BUILTIN_EINSUM, "Einsum", 1, 16},
                 {EAVE_BUILTIN_DET, "Det", 1, 1}};
      size_t i = 0;
      while (i < 3 && sig[i].id != step->id) ++i;
      EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, sig[i].name, sig[i].min_in,
                                                  sig[i].max_in, sig[i].min_in, 1));
      ok = y == a && a != EAVE_DTYPE_BOOL && eave_dtype_size(a) > 0;
      for (uint32_t k = 1; k < in; ++k) ok &= eave_nn_absent_or(m, step, k, a);
      if (step->id == EAVE_BUILTIN_MATMUL) ok &= r0 >= 1 && r1 >= 1;
      if (step->id == EAVE_BUILTIN_GEMM)
        ok &= r0 == 2 && r1 == 2 && eave_nn_rank(m, step, in) == 2 && eave_nn_rank(m, step, 2) <= 2;
      if (step->id == EAVE_BUILTIN_DET)
        ok &= eave_dtype_is_float(a) && r0 >= 2 && eave_nn_rank(m, step, in) == r0 - 2;
    }
  }
  return ok ? NULL : EAVE_INVALID("matrix product: unsupported element types or ranks");
}

/* The shapes of a numpy matmul: a and b promoted to at least 2-D ([K] -> [1, K] and [K, 1]),
 * the broadcast batch, and the result's dims (promoted axes dropped). */
typedef struct mm_shape {
  uint32_t ra, rb, rbatch, ry;
  int64_t a[EAVE_MAX_RANK + 1], b[EAVE_MAX_RANK + 1], batch[EAVE_MAX_RANK], y[EAVE_MAX_RANK];
  int64_t m, k, n, batches;
} mm_shape;

static eave_status mm_shape_of(const eave_tensor_view* a, const eave_tensor_view* b, mm_shape* s) {
  s->ra = a->rank < 2 ? 2 : a->rank;
  s->rb = b->rank < 2 ? 2 : b->rank;
  s->a[0] = 1;
  memcpy(s->a + s->ra - a->rank, a->dims, a->rank * sizeof *s->a);
  memcpy(s->b, b->dims, b->rank * sizeof *s->b);
  s->b[1] = b->rank == 1 ? 1 : s->b[1];
  s->m = s->a[s->ra - 2];
  s->k = s->a[s->ra - 1];
  s->n = s->b[s->rb - 1];
  if (s->b[s->rb - 2] != s->k || !eave_nn_bcast_shape(s->ra - 2, s->a, s->rb - 2, s->b, s->batch))
    return EAVE_RUN_ERROR(
        "cannot multiply these shapes (inner dims %lld and %lld, or batch dims "
        "that do not broadcast)",
        (long long)s->k, (long long)s->b[s->rb - 2]);
  s->rbatch = (s->ra > s->rb ? s->ra : s->rb) - 2;
  s->batches = eave_nn_prod(s->batch, s->rbatch);
  memcpy(s->y, s->batch, s->rbatch * sizeof *s->y);
  s->ry = s->rbatch;
  if (a->rank > 1) s->y[s->ry++] = s->m;
  if (b->rank > 1) s->y[s->ry++] = s->n;
  return NULL;
}

static eave_status matmul(eave_builtin_ctx* ctx) {
  eave_tensor_view a, b, y;
  mm_shape s;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "A", &a));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "B", &b));
  EAVE_RETURN_IF_ERROR(mm_shape_of(&a, &b, &s));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, s.ry, s.y, &y));
  eave_nn_kind kind = eave_nn_kind_of(a.dtype);
  size_t es = kind == EAVE_NN_F32 ? 4 : 8;
  const void *pa, *pb;
  void* acc;
  EAVE_RETURN_IF_ERROR(eave_nn_load(ctx, &a, kind, &pa));
  EAVE_RETURN_IF_ERROR(eave_nn_load(ctx, &b, kind, &pb));
  EAVE_RETURN_IF_ERROR(eave_nn_result(ctx, &y, kind, &acc));
  /* Batch strides count whole matrices. */
  int64_t sa[EAVE_MAX_RANK], sb[EAVE_MAX_RANK], idx[EAVE_MAX_RANK] = {0};
  eave_nn_bcast_strides(s.ra - 2, s.a, s.rbatch, s.batch, sa);
  eave_nn_bcast_strides(s.rb - 2, s.b, s.rbatch, s.batch, sb);
  int64_t mk = s.m * s.k, kn = s.k * s.n, mn = s.m * s.n;
  for (int64_t i = 0; i < s.batches; ++i, eave_nn_next_index(s.rbatch, s.batch, idx)) {
    int64_t oa = 0, ob = 0;
    for (uint32_t d = 0; d < s.rbatch; ++d) oa += idx[d] * sa[d], ob += idx[d] * sb[d];
    eave_nn_matmul(kind, (const uint8_t*)pa + (size_t)(oa * mk) * es, s.k, 1,
                   (const uint8_t*)pb + (size_t)(ob * kn) * es, s.n, 1, s.m, s.k, s.n,
                   (uint8_t*)acc + (size_t)(i * mn) * es);
  }
  eave_nn_store(&y, kind, acc);
  return NULL;
}

/* Y = alpha * A' * B' + beta * C, with A' and B' transposed by transA / transB and C (optional)
 * broadcast to [M, N] (before opset 7 only with broadcast=1). beta = 0 ignores C. Integers
 * add exactly when alpha and beta are 1, else scale in double and truncate. */
static eave_status gemm(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  eave_tensor_view a, b, c = {0}, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "A", &a));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "B", &b));
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 2, &c));
  int ta = eave_attr_int(params, size, "transA", 0) != 0;
  int tb = eave_attr_int(params, size, "transB", 0) != 0;
  double alpha = eave_attr_float(params, size, "alpha", 1.0);
  double beta = eave_attr_float(params, size, "beta", 1.0);
  int64_t m = a.dims[ta], k = a.dims[!ta], n = b.dims[!tb];
  if (b.dims[tb] != k)
    return EAVE_RUN_ERROR("inner dimensions do not match: %lld and %lld", (long long)k,
                          (long long)b.dims[tb]);
  int64_t dims[2] = {m, n}, cs[2] = {0, 0};
  if (c.data) {
    int bcast = eave_attrs_opset(params, size) >= 7 || eave_attr_int(params, size, "broadcast", 0);
    int ok = bcast ? eave_nn_bcast_strides(c.rank, c.dims, 2, dims, cs)
                   : c.rank == 2 && c.dims[0] == m && c.dims[1] == n &&
                         eave_nn_bcast_strides(2, c.dims, 2, dims, cs);
    if (!ok)
      return EAVE_RUN_ERROR("C does not %s [%lld, %lld]", bcast ? "broadcast to" : "have the shape",
                            (long long)m, (long long)n);
    if (beta == 0) c.data = NULL;
  }
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 2, dims, &y));
  eave_nn_kind kind = eave_nn_kind_of(a.dtype);
  const void *pa, *pb;
  void* acc;
  EAVE_RETURN_IF_ERROR(eave_nn_load(ctx, &a, kind, &pa));
  EAVE_RETURN_IF_ERROR(eave_nn_load(ctx, &b, kind, &pb));
  EAVE_RETURN_IF_ERROR(eave_nn_result(ctx, &y, kind, &acc));
  eave_nn_matmul(kind, pa, ta ? 1 : k, ta ? m : 1, pb, tb ? 1 : n, tb ? k : 1, m, k, n, acc);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int64_t o = i * n + j, co = i * cs[0] + j * cs[1];
      if (kind == EAVE_NN_INT) {
        uint64_t v = ((uint64_t*)acc)[o];
        int64_t cv = c.data ? eave_elem_i64(c.dtype, c.data, co) : 0;
        if (alpha == 1 && beta == 1) {
          v += (uint64_t)cv;
        } else { /* scaled in double, truncated back (saturating) */
          v = (uint64_t)eave_f64_to_i64(alpha * (double)(int64_t)v + beta * (double)cv);
        }
        eave_elem_set_i64(y.dtype, y.data, o, (int64_t)v);
      } else {
        double cv = c.data ? beta * eave_elem_f64(c.dtype, c.data, co) : 0;
        eave_elem_set_f64(y.dtype, y.data, o, alpha * eave_nn_get(kind, acc, o) + cv);
      }
    }
  return NULL;
}

/* ---- Einsum */

/* Labels as numbers: 'A'..'Z' are 0..25 and 'a'..'z' 26..51 (so that sorting them sorts as
 * numpy's implicit output order does, capitals first); position p of the axes `...` stands
 * for is ELLIPSIS + p. */
enum { ELLIPSIS = 52, NUM_LABELS = ELLIPSIS + EAVE_MAX_RANK, MAX_TERM = NUM_LABELS, MARK = -1 };

typedef struct term {
  int n, letters;
  int8_t l[MAX_TERM]; /* MARK where `...` is */
} term;

static eave_status parse_term(const char* s, size_t len, term* t) {
  t->n = t->letters = 0;
  int ellipsis = 0;
  for (size_t i = 0; i < len; ++i) {
    char ch = s[i];
    if (t->n == MAX_TERM) return EAVE_RUN_ERROR("an equation term is too long");
    if (ch >= 'A' && ch <= 'Z') {
      t->l[t->n++] = (int8_t)(ch - 'A');
    } else if (ch >= 'a' && ch <= 'z') {
      t->l[t->n++] = (int8_t)(26 + ch - 'a');
    } else if (ch == '.' && i + 2 < len && s[i + 1] == '.' && s[i + 2] == '.' && !ellipsis) {
      ellipsis = 1;
      t->l[t->n++] = MARK;
      i += 2;
      continue;
    } else {
      return EAVE_RUN_ERROR("the equation has an invalid character '%c' or a second '...'", ch);
    }
    t->letters++;
  }
  return NULL;
}

/* The labels of `t` with `...` replaced by the last `count` of the `ell_rank` broadcast
 * labels (broadcast axes align to the right, as in numpy). */
static int expand(const term* t, int count, int ell_rank, int8_t* out) {
  int n = 0;
  for (int i = 0; i < t->n; ++i) {
    if (t->l[i] != MARK)
      out[n++] = t->l[i];
    else
      for (int p = ell_rank - count; p < ell_rank; ++p) out[n++] = (int8_t)(ELLIPSIS + p);
  }
  return n;
}

/* numpy.einsum. Each input's axes get the labels of its term; the output has the labels after
 * `->`, or without it the `...` axes then the labels used exactly once, alphabetically.
 * Labels missing from the output are summed over; a label repeated in one term takes the
 * diagonal; size-1 axes broadcast against the label's size. */
static eave_status einsum(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  uint32_t num = eave_builtin_step(ctx)->input_count;
  eave_tensor_view in[16], y;
  for (uint32_t i = 0; i < num; ++i) EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, i, "input", &in[i]));
  eave_attr eq;
  if (!eave_attrs_find(params, size, "equation", &eq) || eq.kind != EAVE_ATTR_STRING)
    return EAVE_RUN_ERROR("the equation attribute is required");
  char buf[512];
  size_t len = 0;
  for (uint32_t i = 0; i < eq.n; ++i) {
    if (eq.data[i] == ' ') continue;
    if (len == sizeof buf) return EAVE_RUN_ERROR("the equation is too long");
    buf[len++] = (char)eq.data[i];
  }
  size_t lhs = 0;
  while (lhs < len && !(buf[lhs] == '-' && lhs + 1 < len && buf[lhs + 1] == '>')) ++lhs;
  term terms[16], rhs;
  int8_t labels[16][MAX_TERM];
  int counts[16], ell_rank = 0;
  uint32_t nterms = 0;
  for (size_t start = 0, i = 0; i <= lhs; ++i) {
    if (i < lhs && buf[i] != ',') continue;
    if (nterms == num) return EAVE_RUN_ERROR("the equation has more terms than the %u inputs", num);
    EAVE_RETURN_IF_ERROR(parse_term(buf + start, i - start, &terms[nterms]));
    const term* t = &terms[nterms];
    int rank = (int)in[nterms].rank, ellipsis = t->letters != t->n;
    if (ellipsis ? rank < t->letters : rank != t->letters)
      return EAVE_RUN_ERROR("input %u has rank %d but its term has %d labels", nterms, rank,
                            t->letters);
    counts[nterms] = rank - t->letters;
    ell_rank = counts[nterms] > ell_rank ? counts[nterms] : ell_rank;
    ++nterms;
    start = i + 1;
  }
  if (nterms != num)
    return EAVE_RUN_ERROR("the equation has %u input terms for %u inputs", nterms, num);

  /* Each label's size (-1: unused) and number of uses. */
  int64_t lsize[NUM_LABELS];
  int uses[NUM_LABELS] = {0};
  for (int l = 0; l < NUM_LABELS; ++l) lsize[l] = -1;
  for (uint32_t i = 0; i < num; ++i) {
    expand(&terms[i], counts[i], ell_rank, labels[i]);
    for (uint32_t d = 0; d < in[i].rank; ++d) {
      int l = labels[i][d];
      int64_t dim = in[i].dims[d];
      ++uses[l];
      if (lsize[l] != -1 && lsize[l] != dim && lsize[l] != 1 && dim != 1)
        return EAVE_RUN_ERROR("a label has sizes %lld and %lld", (long long)lsize[l],
                              (long long)dim);
      if (lsize[l] == -1 || lsize[l] == 1) lsize[l] = dim;
    }
  }
  int8_t all[NUM_LABELS];
  int nout = 0, nall;
  if (lhs < len) {
    EAVE_RETURN_IF_ERROR(parse_term(buf + lhs + 2, len - lhs - 2, &rhs));
    if (rhs.letters > ELLIPSIS) return EAVE_RUN_ERROR("the output term repeats labels");
    if (rhs.letters == rhs.n && ell_rank > 0)
      return EAVE_RUN_ERROR("the output term needs '...' for the inputs' broadcast axes");
    nout = expand(&rhs, ell_rank, ell_rank, all);
    for (int j = 0; j < nout; ++j) {
      int seen = 0;
      for (int q = 0; q < nout; ++q) seen += all[q] == all[j];
      if (lsize[all[j]] == -1 || seen > 1)
        return EAVE_RUN_ERROR("an output label is repeated or missing from the inputs");
    }
  } else {
    for (int p = 0; p < ell_rank; ++p) all[nout++] = (int8_t)(ELLIPSIS + p);
    for (int l = 0; l < ELLIPSIS; ++l)
      if (uses[l] == 1) all[nout++] = (int8_t)l;
  }
  /* Then the summed labels. */
  nall = nout;
  for (int l = 0; l < NUM_LABELS; ++l) {
    int is_out = 0;
    for (int j = 0; j < nout; ++j) is_out |= all[j] == l;
    if (lsize[l] != -1 && !is_out) all[nall++] = (int8_t)l;
  }
  int64_t sizes[NUM_LABELS], strides[16][NUM_LABELS];
  for (int j = 0; j < nall; ++j) sizes[j] = lsize[all[j]];
  /* Input i's offset moves by strides[i][j] per step of label all[j]: a repeated label along
   * every axis it names (the diagonal), a broadcast size-1 axis not at all. */
  memset(strides, 0, sizeof strides);
  for (uint32_t i = 0; i < num; ++i) {
    int64_t stride = 1;
    for (uint32_t d = in[i].rank; d-- > 0; stride *= in[i].dims[d]) {
      if (in[i].dims[d] == 1) continue;
      for (int j = 0; j < nall; ++j)
        if (all[j] == labels[i][d]) strides[i][j] += stride;
    }
  }
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, (uint32_t)nout, sizes, &y));
  int64_t summed = eave_nn_prod(sizes + nout, (uint32_t)(nall - nout));
  uint64_t out_n = eave_nn_numel(&y);
  if (summed == INT64_MAX || (out_n && (uint64_t)summed > UINT64_MAX / out_n))
    return EAVE_RUN_ERROR("the summed labels span too many elements");
  int integer = eave_nn_kind_of(y.dtype) == EAVE_NN_INT;
  if (y.data) memset(y.data, 0, (size_t)y.bytes);
  if (!summed) return NULL;
  /* Every combination of all labels, output labels first: the linear index divided by the
   * number of summed combinations is the output element. */
  int64_t idx[NUM_LABELS] = {0}, off[16] = {0};
  double acc = 0;
  uint64_t iacc = 0;
  for (uint64_t i = 0; i < out_n * (uint64_t)summed; ++i) {
    double p = 1;
    uint64_t ip = 1;
    for (uint32_t q = 0; q < num; ++q) {
      if (integer)
        ip *= (uint64_t)eave_elem_i64(in[q].dtype, in[q].data, (uint64_t)off[q]);
      else
        p *= eave_elem_f64(in[q].dtype, in[q].data, (uint64_t)off[q]);
    }
    acc += p;
    iacc += ip;
    if ((i + 1) % (uint64_t)summed == 0) {
      uint64_t o = i / (uint64_t)summed;
      if (integer)
        eave_elem_set_i64(y.dtype, y.data, o, (int64_t)iacc);
      else
        eave_elem_set_f64(y.dtype, y.data, o, acc);
      acc = 0;
      iacc = 0;
    }
    for (int d = nall; d-- > 0;) {
      ++idx[d];
      for (uint32_t q = 0; q < num; ++q) off[q] += strides[q][d];
      if (idx[d] < sizes[d]) break;
      for (uint32_t q = 0; q < num; ++q) off[q] -= strides[q][d] * sizes[d];
      idx[d] = 0;
    }
  }
  return NULL;
}

/* Determinants of the square matrices in the last two axes, by Gaussian elimination with
 * partial pivoting in double. A 0 x 0 matrix has determinant 1. */
static eave_status det(eave_builtin_ctx* ctx) {
  eave_tensor_view x, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "X", &x));
  int64_t n = x.dims[x.rank - 1];
  if (x.dims[x.rank - 2] != n) return EAVE_RUN_ERROR("the input must be square matrices");
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, x.rank - 2, x.dims, &y));
  double* a;
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)n, (uint64_t)n, 8, (void**)&a));
  uint64_t count = eave_nn_numel(&y);
  for (uint64_t b = 0; b < count; ++b) {
    for (int64_t i = 0; i < n * n; ++i) a[i] = eave_elem_f64(x.dtype, x.data, b * n * n + i);
    double d = 1;
    for (int64_t col = 0; col < n && d != 0; ++col) {
      int64_t pivot = col;
      for (int64_t r = col + 1; r < n; ++r)
        if (fabs(a[r * n + col]) > fabs(a[pivot * n + col])) pivot = r;
      if (a[pivot * n + col] == 0) {
        d = 0;
        break;
      }
      if (pivot != col) {
        for (int64_t c = 0; c < n; ++c) {
          double t = a[pivot * n + c];
          a[pivot * n + c] = a[col * n + c];
          a[col * n + c] = t;
        }
        d = -d;
      }
      d *= a[col * n + col];
      for (int64_t r = col + 1; r < n; ++r) {
        double f = a[r * n + col] / a[col * n + col];
        for (int64_t c = col; c < n; ++c) a[r * n + c] -= f * a[col * n + c];
      }
    }
    eave_elem_set_f64(y.dtype, y.data, b, d);
  }
  return NULL;
}

/* ---- quantized matmul */

/* Strides reading parameter p (a zero point or scale) over `dims`: p broadcasts numpy-style;
 * a 1-D p of `rows` entries (rows != 1) is a per-row parameter, read as [rows, 1]. */
static eave_status param_strides(const eave_tensor_view* p, int64_t rows, uint32_t rank,
                                 const int64_t* dims, int64_t* strides, const char* what) {
  int64_t pd[2] = {rows, 1};
  int row = p->rank == 1 && p->dims[0] == rows && rows != 1;
  if (!eave_nn_bcast_strides(row ? 2 : p->rank, row ? pd : p->dims, rank, dims, strides))
    return EAVE_RUN_ERROR("%s does not broadcast to its operand", what);
  return NULL;
}

/* x - zero_point over `dims` (the broadcast batch, then the matrix dims), in double. */
static eave_status shifted(eave_builtin_ctx* ctx, const eave_tensor_view* x, uint32_t xr,
                           const int64_t* xd, const eave_tensor_view* zp, int64_t rows,
                           uint32_t rank, const int64_t* dims, double** out) {
  int64_t xs[EAVE_MAX_RANK], zs[EAVE_MAX_RANK], idx[EAVE_MAX_RANK] = {0};
  if (!eave_nn_bcast_strides(xr, xd, rank, dims, xs)) return EAVE_RUN_ERROR("bad operand shape");
  if (zp->data) EAVE_RETURN_IF_ERROR(param_strides(zp, rows, rank, dims, zs, "a zero point"));
  int64_t n = eave_nn_prod(dims, rank);
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)n, 1, 8, (void**)out));
  for (int64_t i = 0; i < n; ++i, eave_nn_next_index(rank, dims, idx)) {
    int64_t ox = 0, oz = 0;
    for (uint32_t d = 0; d < rank; ++d) ox += idx[d] * xs[d], oz += idx[d] * zs[d];
    (*out)[i] = eave_elem_f64(x->dtype, x->data, ox) -
                (zp->data ? eave_elem_f64(zp->dtype, zp->data, oz) : 0);
  }
  return NULL;
}

/* MatMulInteger (a, b, a_zero_point?, b_zero_point? -> int32) and QLinearMatMul (a, a_scale,
 * a_zp, b, b_scale, b_zp, y_scale, y_zp): y = saturate(round(acc * a_scale * b_scale /
 * y_scale) + y_zp). a's parameters are per row, b's per column. */
static eave_status quantized_matmul(eave_builtin_ctx* ctx) {
  int q = eave_builtin_step(ctx)->id == EAVE_BUILTIN_QLINEAR_MATMUL;
  uint32_t ib = q ? 3 : 1;
  eave_tensor_view a, b, azp = {0}, bzp = {0}, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "A", &a));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, ib, "B", &b));
  uint32_t ibz = q ? 5 : 3;
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 2, &azp));
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, ibz, &bzp));
  mm_shape s;
  EAVE_RETURN_IF_ERROR(mm_shape_of(&a, &b, &s));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, s.ry, s.y, &y));
  /* The full operand shapes: batch, then the matrix. */
  uint32_t r = s.rbatch + 2;
  int64_t fa[EAVE_MAX_RANK + 2], fb[EAVE_MAX_RANK + 2], fy[EAVE_MAX_RANK + 2];
  memcpy(fa, s.batch, s.rbatch * sizeof *fa);
  memcpy(fb, s.batch, s.rbatch * sizeof *fb);
  memcpy(fy, s.batch, s.rbatch * sizeof *fy);
  fa[r - 2] = s.m, fa[r - 1] = s.k, fb[r - 2] = s.k, fb[r - 1] = s.n, fy[r - 2] = s.m,
         fy[r - 1] = s.n;
  double *pa, *pb, *acc;
  EAVE_RETURN_IF_ERROR(shifted(ctx, &a, s.ra, s.a, &azp, s.m, r, fa, &pa));
  EAVE_RETURN_IF_ERROR(shifted(ctx, &b, s.rb, s.b, &bzp, 1, r, fb, &pb));
  EAVE_RETURN_IF_ERROR(
      eave_nn_scratch(ctx, (uint64_t)s.batches, (uint64_t)(s.m * s.n), 8, (void**)&acc));
  for (int64_t i = 0; i < s.batches; ++i)
    eave_nn_matmul(EAVE_NN_F64, pa + i * s.m * s.k, s.k, 1, pb + i * s.k * s.n, s.n, 1, s.m, s.k,
                   s.n, acc + i * s.m * s.n);
  uint64_t total = (uint64_t)(s.batches * s.m * s.n);
  if (!q) {
    for (uint64_t i = 0; i < total; ++i) eave_elem_set_i64(y.dtype, y.data, i, (int64_t)acc[i]);
    return NULL;
  }
  eave_tensor_view as, bs, ys, yz;
  int64_t sas[EAVE_MAX_RANK + 2], sbs[EAVE_MAX_RANK + 2], sys[EAVE_MAX_RANK + 2],
      syz[EAVE_MAX_RANK + 2];
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "a_scale", &as));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 4, "b_scale", &bs));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 6, "y_scale", &ys));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 7, "y_zero_point", &yz));
  EAVE_RETURN_IF_ERROR(param_strides(&as, s.m, r, fa, sas, "a_scale"));
  EAVE_RETURN_IF_ERROR(param_strides(&bs, 1, r, fb, sbs, "b_scale"));
  EAVE_RETURN_IF_ERROR(param_strides(&ys, 1, r, fy, sys, "y_scale"));
  EAVE_RETURN_IF_ERROR(param_strides(&yz, 1, r, fy, syz, "y_zero_point"));
  int64_t idx[EAVE_MAX_RANK + 2] = {0};
  for (uint64_t i = 0; i < total; ++i, eave_nn_next_index(r, fy, idx)) {
    /* a_scale at (batch, row, 0), b_scale at (batch, 0, column). */
    int64_t oa = 0, ob = 0, oy = 0, oz = 0;
    for (uint32_t d = 0; d < r; ++d) {
      oa += d == r - 1 ? 0 : idx[d] * sas[d];
      ob += d == r - 2 ? 0 : idx[d] * sbs[d];
      oy += idx[d] * sys[d];
      oz += idx[d] * syz[d];
    }
    double real =
        acc[i] * eave_elem_f64(as.dtype, as.data, oa) * eave_elem_f64(bs.dtype, bs.data, ob);
    eave_elem_set_f64(y.dtype, y.data, i,
                      nearbyint(real / eave_elem_f64(ys.dtype, ys.data, oy)) +
                          eave_elem_f64(yz.dtype, yz.data, oz));
  }
  return NULL;
}

eave_status eave_builtin_matmul_run(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  switch (eave_builtin_step(ctx)->id) {
    case EAVE_BUILTIN_GEMM: return gemm(ctx, params, size);
    case EAVE_BUILTIN_EINSUM: return einsum(ctx, params, size);
    case EAVE_BUILTIN_DET: return det(ctx);
    case EAVE_BUILTIN_MATMUL_INTEGER:
    case EAVE_BUILTIN_QLINEAR_MATMUL: return quantized_matmul(ctx);
    default: return matmul(ctx);
  }
}
