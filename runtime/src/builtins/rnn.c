/* RNN, GRU and LSTM, following the ONNX equations step by step for each direction and batch
 * entry, in double. Shared by the three: directions forward / reverse / bidirectional,
 * per-entry sequence_lens (Y past an entry's length is zero and its final state is the one at
 * its last step), initial states, clip, activations with their alphas and betas, and layout 0
 * (time-major) or 1 (batch-major).
 * Operands: X, W, R, B?, sequence_lens?, initial_h? (LSTM: initial_c?, P?), then Y?, Y_h?
 * (LSTM: Y_c?). */
#include <math.h>
#include <string.h>

#include "nn.h"

typedef enum act_kind {
  RELU,
  TANH,
  SIGMOID,
  AFFINE,
  LEAKY_RELU,
  THRESHOLDED_RELU,
  SCALED_TANH,
  HARD_SIGMOID,
  ELU,
  SOFTSIGN,
  SOFTPLUS,
  NUM_ACTS
} act_kind;

/* By act_kind: the ONNX name (compared case-insensitively), which of alpha / beta the
 * function takes, and their defaults. */
static const struct {
  const char* name;
  uint8_t has_alpha, has_beta;
  double alpha, beta;
} known[NUM_ACTS] = {
    {"relu", 0, 0, 0, 0},           {"tanh", 0, 0, 0, 0},
    {"sigmoid", 0, 0, 0, 0},        {"affine", 1, 1, 1.0, 0.0},
    {"leakyrelu", 1, 0, 0.01, 0},   {"thresholdedrelu", 1, 0, 1.0, 0},
    {"scaledtanh", 1, 1, 1.0, 1.0}, {"hardsigmoid", 1, 1, 0.2, 0.5},
    {"elu", 1, 0, 1.0, 0},          {"softsign", 0, 0, 0, 0},
    {"softplus", 0, 0, 0, 0},
};

typedef struct act {
  act_kind kind;
  double alpha, beta;
} act;

static double apply(const act* f, double x) {
  double a = f->alpha, b = f->beta;
  switch (f->kind) {
    case RELU: return x > 0 ? x : 0;
    case TANH: return tanh(x);
    case SIGMOID: return 1 / (1 + exp(-x));
    case AFFINE: return a * x + b;
    case LEAKY_RELU: return x >= 0 ? x : a * x;
    case THRESHOLDED_RELU: return x > a ? x : 0;
    case SCALED_TANH: return a * tanh(b * x);
    case HARD_SIGMOID: return fmax(0, fmin(1, a * x + b));
    case ELU: return x >= 0 ? x : a * (exp(x) - 1);
    case SOFTSIGN: return x / (1 + fabs(x));
    default: return log1p(exp(x));
  }
}

static int same_name(const char* s, uint32_t len, const char* lower) {
  if (strlen(lower) != len) return 0;
  for (uint32_t i = 0; i < len; ++i) {
    char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    if (c != lower[i]) return 0;
  }
  return 1;
}

typedef struct rnn {
  uint32_t id;
  int64_t seq, batch, input, hidden, dirs, gates;
  int batch_major, reverse_only;
  double clip;
  eave_tensor_view x, lens, y, yh, yc;
  const void *w, *r; /* in `wkind`: float weights are read as stored, not converted per run */
  eave_nn_kind wkind;
  double *b, *p, *h0, *c0, *h, *c, *xt, *xw, *hr, *rh, *hrh; /* scratch */
  act act[2][3];                                             /* per direction: f, g, h */
} rnn;

/* The activations of each direction: `names` (absent: the op's defaults) hold per_dir functions
 * per direction, or per_dir for both; activation_alpha / activation_beta are consumed in order
 * by the functions that take them. */
static eave_status read_activations(rnn* R, const uint8_t* params, uint32_t size) {
  static const act_kind defaults[3][3] = {{TANH}, {SIGMOID, TANH}, {SIGMOID, TANH, TANH}};
  uint32_t per_dir = R->id == EAVE_BUILTIN_RNN ? 1 : R->id == EAVE_BUILTIN_GRU ? 2 : 3;
  eave_attr names, alphas, betas;
  int given =
      eave_attrs_find(params, size, "activations", &names) && names.kind == EAVE_ATTR_STRINGS;
  if (given && names.n != per_dir && names.n != per_dir * R->dirs)
    return EAVE_RUN_ERROR("activations has %u functions, expected %u per direction", names.n,
                          per_dir);
  int has_a =
      eave_attrs_find(params, size, "activation_alpha", &alphas) && alphas.kind == EAVE_ATTR_FLOATS;
  int has_b =
      eave_attrs_find(params, size, "activation_beta", &betas) && betas.kind == EAVE_ATTR_FLOATS;
  uint32_t ai = 0, bi = 0;
  for (uint32_t i = 0; i < per_dir * R->dirs; ++i) {
    act* f = &R->act[i / per_dir][i % per_dir];
    f->kind = defaults[per_dir - 1][i % per_dir];
    if (given) {
      uint32_t len;
      const char* s = eave_attr_strings_at(&names, i % names.n, &len);
      int k = 0;
      while (k < NUM_ACTS && !same_name(s, len, known[k].name)) ++k;
      if (k == NUM_ACTS) return EAVE_RUN_ERROR("unknown activation function '%.*s'", (int)len, s);
      f->kind = (act_kind)k;
    }
    f->alpha = known[f->kind].alpha;
    f->beta = known[f->kind].beta;
    if (known[f->kind].has_alpha && has_a && ai < alphas.n)
      f->alpha = eave_attr_floats_at(&alphas, ai++);
    if (known[f->kind].has_beta && has_b && bi < betas.n)
      f->beta = eave_attr_floats_at(&betas, bi++);
  }
  return NULL;
}

static double clipped(const rnn* R, double v) {
  return v < -R->clip ? -R->clip : v > R->clip ? R->clip : v;
}

/* out[i] = sum_k m[i * cols + k] * v[k] for i in [0, rows), summed in double; m is element
 * `at` of the weights, f32 or f64 as R->wkind says. */
#define MATVEC(T)                                                             \
  for (int64_t i = 0; i < rows; ++i) {                                        \
    const T* row = (const T*)m + at + i * cols;                               \
    double s = 0;                                                             \
    for (int64_t k = 0; k < cols; ++k) s += (double)row[k] * v[k];            \
    out[i] = s;                                                               \
  }
static void matvec(const rnn* R, const void* m, int64_t at, int64_t rows, int64_t cols,
                   const double* v, double* out) {
  if (R->wkind == EAVE_NN_F32) {
    MATVEC(float)
  } else {
    MATVEC(double)
  }
}
#undef MATVEC

/* One step of direction d: h (and LSTM's c) updated from input row R->xt. */
static void cell(rnn* R, int64_t d, int input_forget, int linear_before_reset) {
  int64_t H = R->hidden, G = R->gates, I = R->input;
  const act *f = &R->act[d][0], *g = &R->act[d][1], *hf = &R->act[d][2];
  const double* wb = R->b + d * 2 * G * H;
  const double* rb = wb + G * H;
  double *h = R->h, *xw = R->xw, *hr = R->hr;
  matvec(R, R->w, d * G * H * I, G * H, I, R->xt, xw);
  matvec(R, R->r, d * G * H * H, G * H, H, h, hr);
  switch (R->id) {
    case EAVE_BUILTIN_RNN: /* H = f(X W^T + H R^T + Wb + Rb) */
      for (int64_t j = 0; j < H; ++j) h[j] = apply(f, clipped(R, xw[j] + hr[j] + wb[j] + rb[j]));
      return;
    case EAVE_BUILTIN_GRU: {
      /* Gates z, r, h. h~ = g(X Wh^T + (r . H) Rh^T + Rbh + Wbh), or with linear_before_reset
       * g(X Wh^T + r . (H Rh^T + Rbh) + Wbh); H' = (1 - z) . h~ + z . H. xw's r block keeps r. */
      for (int64_t j = 0; j < H; ++j) {
        xw[j] = apply(f, clipped(R, xw[j] + hr[j] + wb[j] + rb[j]));
        xw[H + j] = apply(f, clipped(R, xw[H + j] + hr[H + j] + wb[H + j] + rb[H + j]));
        R->rh[j] = xw[H + j] * h[j];
      }
      if (!linear_before_reset) matvec(R, R->r, (d * 3 * H + 2 * H) * H, H, H, R->rh, R->hrh);
      for (int64_t j = 0; j < H; ++j) {
        int64_t k = 2 * H + j;
        double pre = linear_before_reset ? xw[k] + xw[H + j] * (hr[k] + rb[k]) + wb[k]
                                         : xw[k] + R->hrh[j] + rb[k] + wb[k];
        h[j] = (1 - xw[j]) * apply(g, clipped(R, pre)) + xw[j] * h[j];
      }
      return;
    }
    default: {
      /* Gates i, o, f, c; peepholes P in order i, o, f. C' = f . C + i . g(..),
       * o = f(.. + Po . C'), H' = o . h(C'); input_forget couples f = 1 - i. */
      const double* p = R->p + d * 3 * H;
      for (int64_t j = 0; j < H; ++j) {
        double pre[4], cj = R->c[j];
        for (int q = 0; q < 4; ++q)
          pre[q] = xw[q * H + j] + hr[q * H + j] + wb[q * H + j] + rb[q * H + j];
        double i = apply(f, clipped(R, pre[0] + p[j] * cj));
        double fg = input_forget ? 1 - i : apply(f, clipped(R, pre[2] + p[2 * H + j] * cj));
        double cn = fg * cj + i * apply(g, clipped(R, pre[3]));
        double o = apply(f, clipped(R, pre[1] + p[H + j] * cn));
        R->c[j] = cn;
        h[j] = o * apply(hf, cn);
      }
    }
  }
}

/* Checks input k against `rank` dims (when present) and reads it into dst as double in the
 * order [dirs][batch][hidden] for states (state != 0), or as stored otherwise; zeros when
 * absent. */
static eave_status read_input(eave_builtin_ctx* ctx, const rnn* R, uint32_t k, const char* what,
                              uint32_t rank, const int64_t* dims, int state, double* dst) {
  eave_tensor_view v = {0};
  uint64_t n = (uint64_t)eave_nn_prod(dims, rank);
  memset(dst, 0, (size_t)n * sizeof *dst);
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, k, &v));
  if (!v.data) return NULL;
  if (v.rank != rank || memcmp(v.dims, dims, rank * sizeof *dims))
    return EAVE_RUN_ERROR("%s does not have the expected shape", what);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t to = i;
    if (state && R->batch_major) { /* stored [batch][dirs][hidden] */
      uint64_t hh = i % (uint64_t)R->hidden, nd = i / (uint64_t)R->hidden;
      to = ((nd % (uint64_t)R->dirs) * (uint64_t)R->batch + nd / (uint64_t)R->dirs) *
               (uint64_t)R->hidden +
           hh;
    }
    dst[to] = eave_elem_f64(v.dtype, v.data, i);
  }
  return NULL;
}

eave_status eave_builtin_rnn_check(const eave_model* m, const eave_step* step,
                                   const uint8_t* params) {
  int lstm = step->id == EAVE_BUILTIN_LSTM;
  EAVE_RETURN_IF_ERROR(
      eave_nn_check_operands(m, step, "recurrent layer", 3, lstm ? 8 : 6, 3, lstm ? 3 : 2));
  eave_dtype x = eave_nn_dtype(m, step, 0);
  int ok = eave_dtype_is_float(x) && eave_nn_rank(m, step, 0) == 3 &&
           eave_nn_rank(m, step, 1) == 3 && eave_nn_rank(m, step, 2) == 3;
  for (uint32_t k = 1; k < step->input_count; ++k) {
    eave_dtype t = eave_nn_dtype(m, step, k);
    ok &= k == 4 ? t == EAVE_DTYPE_UNDEFINED || eave_nn_kind_of(t) == EAVE_NN_INT
                 : t == x || t == EAVE_DTYPE_UNDEFINED;
  }
  for (uint32_t k = 0; k < step->output_count; ++k) {
    eave_dtype t = eave_nn_dtype(m, step, step->input_count + k);
    ok &= t == x || t == EAVE_DTYPE_UNDEFINED;
  }
  return ok ? NULL : EAVE_INVALID("recurrent layer: unsupported element types or ranks");
}

eave_status eave_builtin_rnn_run(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  const eave_step* step = eave_builtin_step(ctx);
  rnn R;
  memset(&R, 0, sizeof R);
  R.id = step->id;
  R.gates = R.id == EAVE_BUILTIN_RNN ? 1 : R.id == EAVE_BUILTIN_GRU ? 3 : 4;
  eave_tensor_view w, r;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "X", &R.x));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "W", &w));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 2, "R", &r));
  R.batch_major = eave_attr_int(params, size, "layout", 0) != 0;
  R.seq = R.x.dims[R.batch_major ? 1 : 0];
  R.batch = R.x.dims[R.batch_major ? 0 : 1];
  R.input = R.x.dims[2];
  int bidirectional = eave_attr_string_is(params, size, "direction", "bidirectional", 0);
  R.reverse_only = eave_attr_string_is(params, size, "direction", "reverse", 0);
  if (!bidirectional && !R.reverse_only &&
      !eave_attr_string_is(params, size, "direction", "forward", 1))
    return EAVE_RUN_ERROR("direction must be forward, reverse or bidirectional");
  R.dirs = bidirectional ? 2 : 1;
  R.hidden = eave_attr_int(params, size, "hidden_size", r.dims[2]);
  int64_t G = R.gates, H = R.hidden, D = R.dirs;
  if (H < 0 || H >= ((int64_t)1 << 31)) return EAVE_RUN_ERROR("bad hidden_size %lld", (long long)H);
  if (w.dims[0] != D || w.dims[1] != G * H || w.dims[2] != R.input || r.dims[0] != D ||
      r.dims[1] != G * H || r.dims[2] != H)
    return EAVE_RUN_ERROR("W and R must have shapes [%lld, %lld, %lld] and [%lld, %lld, %lld]",
                          (long long)D, (long long)(G * H), (long long)R.input, (long long)D,
                          (long long)(G * H), (long long)H);
  R.clip = INFINITY;
  eave_attr clip;
  if (eave_attrs_find(params, size, "clip", &clip)) {
    R.clip = eave_attr_float(params, size, "clip", 0);
    if (!(R.clip > 0)) return EAVE_RUN_ERROR("clip must be positive");
  }
  EAVE_RETURN_IF_ERROR(read_activations(&R, params, size));
  int64_t state_dims[3] = {R.batch_major ? R.batch : D, R.batch_major ? D : R.batch, H};
  int64_t y_dims[4] = {R.seq, D, R.batch, H};
  if (R.batch_major) y_dims[0] = R.batch, y_dims[1] = R.seq, y_dims[2] = D;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 4, y_dims, &R.y));
  if (step->output_count > 1)
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 1, 3, state_dims, &R.yh));
  if (step->output_count > 2)
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 2, 3, state_dims, &R.yc));
  if (R.y.data) memset(R.y.data, 0, (size_t)R.y.bytes);

  R.wkind = w.dtype == EAVE_DTYPE_F32 && r.dtype == EAVE_DTYPE_F32 ? EAVE_NN_F32 : EAVE_NN_F64;
  EAVE_RETURN_IF_ERROR(eave_nn_load(ctx, &w, R.wkind, &R.w));
  EAVE_RETURN_IF_ERROR(eave_nn_load(ctx, &r, R.wkind, &R.r));
  /* One scratch block: B, P, both initial states, the working state and the gate sums. */
  int64_t B = R.batch, I = R.input;
  if ((double)D * (double)(2 * G * H + 3 * H + 2 * B * H) + (double)(4 * H + I + 2 * G * H) > 1e15)
    return EAVE_RUN_ERROR("the layer is too large");
  int64_t total = D * (2 * G * H + 3 * H + 2 * B * H) + 4 * H + I + 2 * G * H;
  double* at;
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)total, 1, sizeof *at, (void**)&at));
  memset(at, 0, (size_t)total * sizeof *at);
  double** parts[] = {&R.b, &R.p, &R.h0, &R.c0, &R.h, &R.c, &R.xt, &R.xw, &R.hr, &R.rh, &R.hrh};
  int64_t sizes[] = {D * 2 * G * H, D * 3 * H, D * B * H, D * B * H, H, H, I, G * H, G * H, H, H};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; at += sizes[i++]) *parts[i] = at;
  int64_t b_dims[2] = {D, 2 * G * H}, p_dims[2] = {D, 3 * H};
  EAVE_RETURN_IF_ERROR(read_input(ctx, &R, 3, "B", 2, b_dims, 0, R.b));
  EAVE_RETURN_IF_ERROR(read_input(ctx, &R, 5, "initial_h", 3, state_dims, 1, R.h0));
  if (R.id == EAVE_BUILTIN_LSTM) {
    EAVE_RETURN_IF_ERROR(read_input(ctx, &R, 6, "initial_c", 3, state_dims, 1, R.c0));
    EAVE_RETURN_IF_ERROR(read_input(ctx, &R, 7, "P", 2, p_dims, 0, R.p));
  }
  EAVE_RETURN_IF_ERROR(eave_nn_optional(ctx, 4, &R.lens));
  if (R.lens.data && (R.lens.rank != 1 || R.lens.dims[0] != R.batch))
    return EAVE_RUN_ERROR("sequence_lens must have shape [%lld]", (long long)R.batch);
  int input_forget = eave_attr_int(params, size, "input_forget", 0) != 0;
  int lbr = eave_attr_int(params, size, "linear_before_reset", 0) != 0;

  for (int64_t d = 0; d < D; ++d)
    for (int64_t n = 0; n < R.batch; ++n) {
      int64_t len = R.lens.data ? eave_elem_i64(R.lens.dtype, R.lens.data, (uint64_t)n) : R.seq;
      if (len < 0 || len > R.seq)
        return EAVE_RUN_ERROR("sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)n,
                              (long long)len, (long long)R.seq);
      memcpy(R.h, R.h0 + (d * R.batch + n) * H, (size_t)H * sizeof *R.h);
      memcpy(R.c, R.c0 + (d * R.batch + n) * H, (size_t)H * sizeof *R.c);
      for (int64_t s = 0; s < len; ++s) {
        int64_t t = d == 1 || R.reverse_only ? len - 1 - s : s;
        int64_t row = R.batch_major ? n * R.seq + t : t * R.batch + n;
        for (int64_t k = 0; k < R.input; ++k)
          R.xt[k] = eave_elem_f64(R.x.dtype, R.x.data, (uint64_t)(row * R.input + k));
        cell(&R, d, input_forget, lbr);
        int64_t yrow = R.batch_major ? (n * R.seq + t) * D + d : (t * D + d) * R.batch + n;
        for (int64_t j = 0; R.y.data && j < H; ++j)
          eave_elem_set_f64(R.y.dtype, R.y.data, (uint64_t)(yrow * H + j), R.h[j]);
      }
      int64_t srow = R.batch_major ? n * D + d : d * R.batch + n;
      for (int64_t j = 0; j < H; ++j) {
        if (R.yh.data) eave_elem_set_f64(R.yh.dtype, R.yh.data, (uint64_t)(srow * H + j), R.h[j]);
        if (R.yc.data) eave_elem_set_f64(R.yc.dtype, R.yc.data, (uint64_t)(srow * H + j), R.c[j]);
      }
    }
  return NULL;
}
