/* Normalization builtins (reference/normalization.cc): Softmax, LogSoftmax and Hardmax (before
 * opset 13 over the axes [axis, rank) of the input coerced to 2-D, since then over `axis`),
 * BatchNormalization, InstanceNormalization, LayerNormalization (optional Mean and InvStdDev
 * outputs), GroupNormalization (per-group scale before opset 21, per-channel since),
 * LpNormalization, MeanVarianceNormalization and LRN. Inputs are float types; everything
 * computes in double. Every op works on groups of elements picked by an axis mask (the groups
 * in row-major order of the other axes), with population variances computed in two passes. */
#include <math.h>
#include <string.h>

#include "math_util.h"

/* ---------------------------------------------------------------- helpers */

static double at(const eave_tensor_view* x, int64_t i) { return eave_load_f64(x, (uint64_t)i); }

/* Mean and population variance of one group. */
static void group_stats(const eave_tensor_view* x, int64_t base, eave_iter* in, double* mean,
                        double* var) {
  int64_t n = eave_iter_count(in);
  double sum = 0, sq = 0;
  eave_iter_reset(in);
  for (int64_t k = 0; k < n; ++k, eave_iter_next(in)) sum += at(x, base + in->off[0]);
  *mean = sum / (double)n;
  eave_iter_reset(in);
  for (int64_t k = 0; k < n; ++k, eave_iter_next(in)) {
    double d = at(x, base + in->off[0]) - *mean;
    sq += d * d;
  }
  *var = sq / (double)n;
}

/* Checks: inputs in [min_in, max_in], outputs up to max_out, and every present input and
 * output a float dtype (the integer-typed inputs of the losses are checked by them). */
static eave_status check_float_op(const eave_model* m, const eave_step* step, const char* name,
                                  uint32_t min_in, uint32_t max_in, uint32_t max_out) {
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, name, min_in, max_in, max_out));
  uint8_t t = eave_operand(m, step, 0)->dtype;
  for (uint32_t k = 0; k < step->input_count + step->output_count; ++k) {
    const eave_value* v = eave_operand(m, step, k);
    if (v && !EAVE_IS_FLOAT(v->dtype))
      return EAVE_INVALID("%s: operand %u has dtype %s, expected a float type", name, k,
                          eave_dtype_name((eave_dtype)v->dtype));
  }
  const eave_value* y = eave_operand(m, step, step->input_count);
  if (y && y->dtype != t) return EAVE_INVALID("%s: output dtype differs from input 0", name);
  return NULL;
}

/* Output 0 shaped like x. */
static eave_status output_like(eave_builtin_ctx* ctx, uint32_t k, const eave_tensor_view* x,
                               eave_tensor_view* out) {
  return eave_builtin_output_shaped(ctx, k, x->rank, x->dims, out);
}

/* Input k, which must have `want` elements. */
static eave_status param(eave_builtin_ctx* ctx, uint32_t k, const char* what, int64_t want,
                         eave_tensor_view* p) {
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, p));
  char s[96];
  if (eave_numel(p->rank, p->dims) != want)
    return EAVE_RUN_ERROR("%s (input %u) must have %lld elements, got shape %s", what, k,
                          (long long)want, EAVE_DIMS(s, *p));
  return NULL;
}

static eave_status need_rank2(const eave_tensor_view* x) {
  char s[96];
  if (x->rank < 2)
    return EAVE_RUN_ERROR("X must have rank >= 2 (N x C x ...), got shape %s", EAVE_DIMS(s, *x));
  return NULL;
}

/* ---------------------------------------------------------------- Softmax, LogSoftmax, Hardmax */

eave_status eave_builtin_softmax_check(const eave_model* m, const eave_step* step,
                                       const uint8_t* params) {
  return check_float_op(m, step, eave_builtin_find(step->id)->name, 1, 1, 1);
}

eave_status eave_builtin_softmax_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                     uint32_t params_size) {
  uint32_t op = eave_builtin_step(ctx)->id;
  eave_tensor_view x, y;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  uint8_t mask[EAVE_MAX_RANK] = {0};
  int old = eave_attrs_opset(params, params_size) < 13;
  int64_t axis = eave_attr_int(params, params_size, "axis", old ? 1 : -1);
  uint32_t a;
  /* Before opset 13, axis == rank is allowed: rows of one element. */
  if (old && axis == (int64_t)x.rank) a = x.rank;
  else if (!eave_axis_in_range(axis, x.rank, &a))
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)axis, x.rank);
  for (uint32_t d = a; d < (old ? x.rank : a + 1); ++d) mask[d] = 1;
  EAVE_RETURN_IF_ERROR(output_like(ctx, 0, &x, &y));
  if (!y.data) return NULL;
  eave_iter outer, in;
  eave_iter_axes(&outer, x.rank, x.dims, mask, 0);
  eave_iter_axes(&in, x.rank, x.dims, mask, 1);
  int64_t groups = eave_iter_count(&outer), n = eave_iter_count(&in);
  for (int64_t g = 0; g < groups; ++g, eave_iter_next(&outer)) {
    int64_t base = outer.off[0], best = 0;
    double top = -INFINITY, sum = 0, bv = 0;
    eave_iter_reset(&in);
    for (int64_t k = 0; k < n; ++k, eave_iter_next(&in)) {
      double v = at(&x, base + in.off[0]);
      if (top < v) top = v;
      /* Hardmax: the first largest value; NaN counts as largest, as in numpy's argmax. */
      if (k == 0 || (bv == bv && (v != v || bv < v))) best = k, bv = v;
    }
    eave_iter_reset(&in);
    for (int64_t k = 0; k < n; ++k, eave_iter_next(&in)) sum += exp(at(&x, base + in.off[0]) - top);
    eave_iter_reset(&in);
    for (int64_t k = 0; k < n; ++k, eave_iter_next(&in)) {
      int64_t i = base + in.off[0];
      double v = at(&x, i), r;
      if (op == EAVE_MATH_SOFTMAX) r = exp(v - top) / sum;
      else if (op == EAVE_MATH_LOG_SOFTMAX) r = v - top - log(sum);
      else r = k == best;
      eave_elem_set_f64(y.dtype, y.data, (uint64_t)i, r);
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------- group normalization */

/* What normalize() does with each group: y = (x - mean) * inv_std * scale[p] + bias[p], where
 * the statistics are the group's own or given per group, inv_std = 1 / sqrt(var + eps) (or
 * 1 / (sqrt(var) + 1e-9) for MeanVarianceNormalization), and p = param_of(g, k), or g. */
typedef struct norm_spec norm_spec;
struct norm_spec {
  double eps, momentum;
  int mvn, training;
  const eave_tensor_view *scale, *bias; /* NULL: no affine step */
  const eave_tensor_view *mean, *var;   /* given statistics (BatchNormalization) */
  int64_t (*param_of)(const norm_spec* s, int64_t g, int64_t k);
  int64_t ctl[3];
  eave_tensor_view* outs; /* the step's outputs, for the statistics outputs */
  void (*on_stats)(const norm_spec* s, int64_t g, double mean, double var);
};

static void normalize(const eave_tensor_view* x, const eave_tensor_view* y, eave_iter* outer,
                      eave_iter* in, const norm_spec* s) {
  int64_t groups = eave_iter_count(outer), n = eave_iter_count(in);
  for (int64_t g = 0; g < groups; ++g, eave_iter_next(outer)) {
    double mean, var;
    if (s->mean) mean = at(s->mean, g), var = at(s->var, g);
    else group_stats(x, outer->off[0], in, &mean, &var);
    if (s->on_stats) s->on_stats(s, g, mean, var);
    if (!y->data) continue;
    double inv_std = s->mvn ? 1 / (sqrt(var) + 1e-9) : 1 / sqrt(var + s->eps);
    eave_iter_reset(in);
    for (int64_t k = 0; k < n; ++k, eave_iter_next(in)) {
      int64_t i = outer->off[0] + in->off[0], p = s->param_of ? s->param_of(s, g, k) : g;
      double v = (at(x, i) - mean) * inv_std;
      if (s->scale) v = v * at(s->scale, p) + at(s->bias, p);
      eave_elem_set_f64(y->dtype, y->data, (uint64_t)i, v);
    }
  }
}

/* Runs normalize() over the groups of x that the mask's kept axes pick, into output 0. */
static eave_status normalize_masked(eave_builtin_ctx* ctx, const eave_tensor_view* x,
                                    uint32_t rank, const int64_t* dims, const uint8_t* mask,
                                    const norm_spec* s) {
  eave_tensor_view y;
  EAVE_RETURN_IF_ERROR(output_like(ctx, 0, x, &y));
  eave_iter outer, in;
  eave_iter_axes(&outer, rank, dims, mask, 0);
  eave_iter_axes(&in, rank, dims, mask, 1);
  normalize(x, &y, &outer, &in, s);
  return NULL;
}

/* x viewed as [groups, size], normalized per row. */
static eave_status normalize_rows(eave_builtin_ctx* ctx, const eave_tensor_view* x,
                                  int64_t groups, const norm_spec* s) {
  int64_t flat[2] = {groups, groups ? eave_numel(x->rank, x->dims) / groups : 0};
  static const uint8_t mask[2] = {0, 1};
  return normalize_masked(ctx, x, 2, flat, mask, s);
}

/* ---------------------------------------------------------------- BatchNormalization */

/* Training (training_mode since opset 14; before that, asking for any output beyond Y). */
static int bn_training(const eave_model* m, const eave_step* step, const uint8_t* p, uint32_t n) {
  if (eave_attrs_opset(p, n) >= 14) return eave_attr_int(p, n, "training_mode", 0) != 0;
  for (uint32_t k = 1; k < step->output_count; ++k)
    if (eave_operand(m, step, step->input_count + k)) return 1;
  return 0;
}

eave_status eave_builtin_batch_norm_check(const eave_model* m, const eave_step* step,
                                          const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(check_float_op(m, step, "BATCH_NORM", 5, 5, 5));
  for (uint32_t k = 1; k < 5; ++k)
    if (!eave_operand(m, step, k)) return EAVE_INVALID("BATCH_NORM: input %u is absent", k);
  return NULL;
}

/* Outputs 1 and 2: the running statistics (passed through in inference, updated in training);
 * outputs 3 and 4 (training before opset 14): the batch statistics. */
static void bn_stats(const norm_spec* s, int64_t g, double mean, double var) {
  double v[5] = {0, mean, var, mean, var};
  if (s->training) {
    v[1] = at(&s->outs[5 + 3], g) * s->momentum + mean * (1 - s->momentum);
    v[2] = at(&s->outs[5 + 4], g) * s->momentum + var * (1 - s->momentum);
  }
  for (uint32_t k = 1; k < 5; ++k)
    if (s->outs[k].data) eave_elem_set_f64(s->outs[k].dtype, s->outs[k].data, (uint64_t)g, v[k]);
}

/* Y = (X - mean) / sqrt(var + epsilon) * scale + B per channel (per (C, D1, ...) position with
 * spatial=0 before opset 9): the given statistics in inference, the batch's own in training,
 * which also outputs running * momentum + batch * (1 - momentum). */
eave_status eave_builtin_batch_norm_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                        uint32_t params_size) {
  const eave_step* step = eave_builtin_step(ctx);
  eave_tensor_view x, io[10] = {{0}}; /* outputs 0..4, then inputs 0..4 */
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  EAVE_RETURN_IF_ERROR(need_rank2(&x));
  int spatial = eave_attrs_opset(params, params_size) >= 9 ||
                eave_attr_int(params, params_size, "spatial", 1) != 0;
  uint8_t mask[EAVE_MAX_RANK];
  for (uint32_t d = 0; d < x.rank; ++d) mask[d] = spatial ? d != 1 : d == 0;
  int64_t groups = 1;
  for (uint32_t d = 0; d < x.rank; ++d) groups *= mask[d] ? 1 : x.dims[d];
  static const char* const names[] = {"scale", "B", "input_mean", "input_var"};
  for (uint32_t k = 1; k < 5; ++k) EAVE_RETURN_IF_ERROR(param(ctx, k, names[k - 1], groups, &io[5 + k]));
  for (uint32_t k = 1; k < step->output_count; ++k) {
    const eave_tensor_view* like = &io[5 + (k & 1 ? 3 : 4)];
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, k, like->rank, like->dims, &io[k]));
  }
  norm_spec s = {eave_attr_float(params, params_size, "epsilon", 1e-5f),
                 eave_attr_float(params, params_size, "momentum", 0.9f)};
  s.training = bn_training(eave_builtin_model(ctx), step, params, params_size);
  s.scale = &io[6], s.bias = &io[7], s.outs = io, s.on_stats = bn_stats;
  if (!s.training) s.mean = &io[8], s.var = &io[9];
  return normalize_masked(ctx, &x, x.rank, x.dims, mask, &s);
}

/* ---------------------------------------------------------------- Instance, Group, MVN */

eave_status eave_builtin_instance_norm_check(const eave_model* m, const eave_step* step,
                                             const uint8_t* params) {
  return check_float_op(m, step, "INSTANCE_NORM", 3, 3, 1);
}

/* check_float_op for an op whose integer attribute `attr` must be positive. */
static eave_status check_positive_attr(const eave_model* m, const eave_step* step,
                                       const uint8_t* params, const char* name, uint32_t inputs,
                                       const char* attr) {
  EAVE_RETURN_IF_ERROR(check_float_op(m, step, name, inputs, inputs, 1));
  if (eave_attr_int(params, step->params_size, attr, 0) <= 0)
    return EAVE_INVALID("%s: %s must be positive", name, attr);
  return NULL;
}

eave_status eave_builtin_group_norm_check(const eave_model* m, const eave_step* step,
                                          const uint8_t* params) {
  return check_positive_attr(m, step, params, "GROUP_NORM", 3, "num_groups");
}

eave_status eave_builtin_mean_variance_norm_check(const eave_model* m, const eave_step* step,
                                                  const uint8_t* params) {
  return check_float_op(m, step, "MEAN_VARIANCE_NORM", 1, 1, 1);
}

/* ctl: {channels}. Groups run over (n, c) in row-major order. */
static int64_t instance_param(const norm_spec* s, int64_t g, int64_t k) { return g % s->ctl[0]; }

/* Each (n, c) slice normalized over the spatial axes, then per-channel scale and B. */
eave_status eave_builtin_instance_norm_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                           uint32_t params_size) {
  eave_tensor_view x, sb[2];
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  EAVE_RETURN_IF_ERROR(need_rank2(&x));
  int64_t c = x.dims[1];
  EAVE_RETURN_IF_ERROR(param(ctx, 1, "scale", c, &sb[0]));
  EAVE_RETURN_IF_ERROR(param(ctx, 2, "B", c, &sb[1]));
  norm_spec s = {eave_attr_float(params, params_size, "epsilon", 1e-5f)};
  s.scale = &sb[0], s.bias = &sb[1], s.param_of = instance_param, s.ctl[0] = c;
  return normalize_rows(ctx, &x, x.dims[0] * c, &s);
}

/* ctl: {num_groups, channels per group, spatial size}; per channel since opset 21. */
static int64_t group_param(const norm_spec* s, int64_t g, int64_t k) {
  return (g % s->ctl[0]) * s->ctl[1] + k / s->ctl[2];
}

/* The C channels split into num_groups groups of consecutive channels; each (n, group)
 * normalized over its channels and spatial axes, then scaled and shifted per group (opset 18)
 * or per channel (opset 21). */
eave_status eave_builtin_group_norm_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                        uint32_t params_size) {
  eave_tensor_view x, sb[2];
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  EAVE_RETURN_IF_ERROR(need_rank2(&x));
  int64_t groups = eave_attr_int(params, params_size, "num_groups", 1), c = x.dims[1];
  if (c % groups)
    return EAVE_RUN_ERROR("num_groups %lld must divide the channel count %lld",
                          (long long)groups, (long long)c);
  int per_channel = eave_attrs_opset(params, params_size) >= 21;
  EAVE_RETURN_IF_ERROR(param(ctx, 1, "scale", per_channel ? c : groups, &sb[0]));
  EAVE_RETURN_IF_ERROR(param(ctx, 2, "bias", per_channel ? c : groups, &sb[1]));
  norm_spec s = {eave_attr_float(params, params_size, "epsilon", 1e-5f)};
  s.scale = &sb[0], s.bias = &sb[1];
  if (per_channel) {
    s.param_of = group_param;
    s.ctl[0] = groups, s.ctl[1] = c / groups, s.ctl[2] = eave_numel(x.rank - 2, x.dims + 2);
    if (!s.ctl[2]) s.ctl[2] = 1; /* no elements to map */
  } else {
    s.param_of = instance_param, s.ctl[0] = groups;
  }
  return normalize_rows(ctx, &x, x.dims[0] * groups, &s);
}

/* (X - mean) / (sqrt(variance) + 1e-9) over `axes` (default N and the first two spatial
 * axes); the 1e-9 is the epsilon of the op's ONNX function definition. */
eave_status eave_builtin_mean_variance_norm_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                                uint32_t params_size) {
  eave_tensor_view x;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  uint8_t mask[EAVE_MAX_RANK] = {0};
  eave_attr a;
  static const int64_t dflt[] = {0, 2, 3};
  int has = eave_attrs_find(params, params_size, "axes", &a) && a.kind == EAVE_ATTR_INTS;
  for (uint32_t i = 0; i < (has ? a.n : 3); ++i) {
    int64_t v = has ? eave_attr_ints_at(&a, i) : dflt[i];
    uint32_t d;
    if (!eave_axis_in_range(v, x.rank, &d))
      return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)v, x.rank);
    if (mask[d]) return EAVE_RUN_ERROR("axis %lld is given more than once", (long long)v);
    mask[d] = 1;
  }
  norm_spec s = {0};
  s.mvn = 1;
  return normalize_masked(ctx, &x, x.rank, x.dims, mask, &s);
}

/* ---------------------------------------------------------------- LayerNormalization */

eave_status eave_builtin_layer_norm_check(const eave_model* m, const eave_step* step,
                                          const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(check_float_op(m, step, "LAYER_NORM", 2, 3, 3));
  uint8_t t = eave_operand(m, step, 0)->dtype;
  for (uint32_t k = 1; k < step->input_count; ++k) {
    const eave_value* v = eave_operand(m, step, k);
    if (v && v->dtype != t) return EAVE_INVALID("LAYER_NORM: Scale and B must have X's dtype");
  }
  if (!eave_operand(m, step, 1)) return EAVE_INVALID("LAYER_NORM: Scale (input 1) is absent");
  return NULL;
}

static void ln_stats(const norm_spec* s, int64_t g, double mean, double var) {
  double v[3] = {0, mean, 1 / sqrt(var + s->eps)};
  for (uint32_t k = 1; k < 3; ++k)
    if (s->outs[k].data) eave_elem_set_f64(s->outs[k].dtype, s->outs[k].data, (uint64_t)g, v[k]);
}

/* Normalizes over axes [axis, rank). The statistics (outputs Mean and InvStdDev, shaped like
 * X with the normalized axes set to 1) come out in their outputs' dtype (stash_type); the
 * normalized values are rounded to X's dtype, as the ONNX function definition casts them, then
 * scaled and shifted, Scale and B broadcasting to X's shape. */
eave_status eave_builtin_layer_norm_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                        uint32_t params_size) {
  eave_tensor_view x, y, s, b, outs[3] = {{0}};
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 1, &s));
  int has_b = eave_input_present(ctx, 2);
  if (has_b) EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 2, &b));
  int64_t axis_attr = eave_attr_int(params, params_size, "axis", -1);
  uint32_t axis;
  if (!eave_axis_in_range(axis_attr, x.rank, &axis))
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)axis_attr, x.rank);
  const eave_tensor_view* ins[3] = {&x, &s, has_b ? &b : NULL};
  uint32_t rank;
  int64_t dims[EAVE_MAX_RANK], stat_dims[EAVE_MAX_RANK];
  EAVE_RETURN_IF_ERROR(eave_broadcast_shapes(ins, 3, &rank, dims));
  char s1[96], s2[96];
  if (rank != x.rank || memcmp(dims, x.dims, rank * sizeof *dims) != 0)
    return EAVE_RUN_ERROR("Scale %s and B must broadcast to X's shape %s", EAVE_DIMS(s1, s),
                          EAVE_DIMS(s2, x));
  uint8_t mask[EAVE_MAX_RANK];
  for (uint32_t d = 0; d < x.rank; ++d) stat_dims[d] = d < axis ? x.dims[d] : 1, mask[d] = d >= axis;
  for (uint32_t k = 1; k < eave_builtin_step(ctx)->output_count; ++k)
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, k, x.rank, stat_dims, &outs[k]));
  norm_spec spec = {eave_attr_float(params, params_size, "epsilon", 1e-5f)};
  spec.outs = outs, spec.on_stats = ln_stats;
  EAVE_RETURN_IF_ERROR(normalize_masked(ctx, &x, x.rank, x.dims, mask, &spec));
  EAVE_RETURN_IF_ERROR(output_like(ctx, 0, &x, &y));
  if (!y.data) return NULL;
  eave_iter it;
  eave_iter_broadcast(&it, x.rank, x.dims, ins + 1, 2);
  int64_t total = eave_iter_count(&it);
  for (int64_t i = 0; i < total; ++i, eave_iter_next(&it)) {
    double v = at(&y, i) * at(&s, it.off[0]);
    if (has_b) v += at(&b, it.off[1]);
    eave_elem_set_f64(y.dtype, y.data, (uint64_t)i, v);
  }
  return NULL;
}

/* ---------------------------------------------------------------- LpNormalization, LRN */

eave_status eave_builtin_lp_norm_check(const eave_model* m, const eave_step* step,
                                       const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(check_float_op(m, step, "LP_NORM", 1, 1, 1));
  int64_t p = eave_attr_int(params, step->params_size, "p", 2);
  if (p != 1 && p != 2) return EAVE_INVALID("LP_NORM: p must be 1 or 2, got %lld", (long long)p);
  return NULL;
}

/* Divides by the L1 or L2 norm along `axis`; an all-zero vector gives zeros, not 0/0. */
eave_status eave_builtin_lp_norm_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                     uint32_t params_size) {
  eave_tensor_view x, y;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  int64_t axis_attr = eave_attr_int(params, params_size, "axis", -1);
  int p = eave_attr_int(params, params_size, "p", 2) == 1 ? 1 : 2;
  uint32_t axis;
  if (!eave_axis_in_range(axis_attr, x.rank, &axis))
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)axis_attr, x.rank);
  EAVE_RETURN_IF_ERROR(output_like(ctx, 0, &x, &y));
  if (!y.data) return NULL;
  int64_t outer = eave_numel(axis, x.dims), n = x.dims[axis];
  int64_t inner = eave_numel(x.rank - axis - 1, x.dims + axis + 1);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t base = o * n * inner + i;
      double norm = 0;
      for (int64_t k = 0; k < n; ++k) {
        double v = at(&x, base + k * inner);
        norm += p == 1 ? fabs(v) : v * v;
      }
      if (p == 2) norm = sqrt(norm);
      for (int64_t k = 0; k < n; ++k) {
        int64_t j = base + k * inner;
        eave_elem_set_f64(y.dtype, y.data, (uint64_t)j, norm == 0 ? 0 : at(&x, j) / norm);
      }
    }
  return NULL;
}

eave_status eave_builtin_lrn_check(const eave_model* m, const eave_step* step,
                                   const uint8_t* params) {
  return check_positive_attr(m, step, params, "LRN", 1, "size");
}

/* Each element divided by (bias + alpha / size * sum of squares over the channels
 * c - floor((size-1)/2) .. c + ceil((size-1)/2) at the same position) ^ beta. */
eave_status eave_builtin_lrn_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                 uint32_t params_size) {
  eave_tensor_view x, y;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  EAVE_RETURN_IF_ERROR(need_rank2(&x));
  int64_t size = eave_attr_int(params, params_size, "size", 1);
  double alpha = eave_attr_float(params, params_size, "alpha", 1e-4f);
  double beta = eave_attr_float(params, params_size, "beta", 0.75f);
  double bias = eave_attr_float(params, params_size, "bias", 1.0f);
  EAVE_RETURN_IF_ERROR(output_like(ctx, 0, &x, &y));
  if (!y.data) return NULL;
  int64_t c = x.dims[1], spatial = eave_numel(x.rank - 2, x.dims + 2);
  int64_t before = (size - 1) / 2, after = size - 1 - before;
  for (int64_t n = 0; n < x.dims[0]; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < spatial; ++i) {
        double sq = 0;
        int64_t lo = ch - before < 0 ? 0 : ch - before, hi = ch + after < c ? ch + after : c - 1;
        for (int64_t j = lo; j <= hi; ++j) {
          double v = at(&x, (n * c + j) * spatial + i);
          sq += v * v;
        }
        int64_t o = (n * c + ch) * spatial + i;
        eave_elem_set_f64(y.dtype, y.data, (uint64_t)o,
                          at(&x, o) / pow(bias + alpha / (double)size * sq, beta));
      }
  return NULL;
}
