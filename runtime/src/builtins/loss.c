/* Loss builtins (reference/loss.cc): NegativeLogLikelihoodLoss over log-probabilities and
 * SoftmaxCrossEntropyLoss over scores (log-softmax along axis 1, then the same NLL; optional
 * output 1 is the log-probabilities). Inputs [N, C, d...] float, targets [N, d...] integer,
 * optional weight [C]; ignore_index; reduction none ([N, d...]), sum or mean (weighted, a
 * scalar). Everything computes in double. */
#include <math.h>

#include "math_util.h"

enum { REDUCE_NONE, REDUCE_SUM, REDUCE_MEAN };

static int reduction_of(const uint8_t* p, uint32_t n) {
  if (eave_attr_string_is(p, n, "reduction", "none", 0)) return REDUCE_NONE;
  if (eave_attr_string_is(p, n, "reduction", "sum", 0)) return REDUCE_SUM;
  return REDUCE_MEAN;
}

eave_status eave_builtin_loss_check(const eave_model* m, const eave_step* step,
                                    const uint8_t* params) {
  const char* name = eave_builtin_find(step->id)->name;
  EAVE_RETURN_IF_ERROR(eave_check_arity(step, m, name, 2, 3, 2));
  const eave_value* x = eave_operand(m, step, 0);
  const eave_value* t = eave_operand(m, step, 1);
  const eave_value* w = step->input_count > 2 ? eave_operand(m, step, 2) : NULL;
  if (!EAVE_IS_FLOAT(x->dtype) || (w && !EAVE_IS_FLOAT(w->dtype)))
    return EAVE_INVALID("%s: input and weight must be float tensors", name);
  if (!t || !eave_dtype_is_int((eave_dtype)t->dtype))
    return EAVE_INVALID("%s: target (input 1) must be an integer tensor", name);
  for (uint32_t k = 0; k < step->output_count; ++k) {
    const eave_value* o = eave_operand(m, step, step->input_count + k);
    if (o && o->dtype != x->dtype) return EAVE_INVALID("%s: outputs must have the input's dtype", name);
  }
  uint32_t size = step->params_size;
  if (!eave_attr_string_is(params, size, "reduction", "mean", 1) &&
      reduction_of(params, size) == REDUCE_MEAN)
    return EAVE_INVALID("%s: reduction must be none, sum or mean", name);
  return NULL;
}

eave_status eave_builtin_loss_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                  uint32_t params_size) {
  int softmax = eave_builtin_step(ctx)->id == EAVE_MATH_SOFTMAX_CROSS_ENTROPY_LOSS;
  eave_tensor_view x, t, w = {0}, loss, lp = {0};
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 1, &t));
  int has_w = eave_input_present(ctx, 2);
  if (has_w) EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 2, &w));
  char s1[96], s2[96];
  if (x.rank < 2) return EAVE_RUN_ERROR("input must have rank >= 2, got %u", x.rank);
  int64_t n = x.dims[0], c = x.dims[1], inner = eave_numel(x.rank - 2, x.dims + 2);
  int64_t tdims[EAVE_MAX_RANK];
  tdims[0] = n;
  for (uint32_t d = 2; d < x.rank; ++d) tdims[d - 1] = x.dims[d];
  int same = t.rank == x.rank - 1;
  for (uint32_t d = 0; same && d < t.rank; ++d) same = t.dims[d] == tdims[d];
  if (!same)
    return EAVE_RUN_ERROR("target shape %s must be %s", EAVE_DIMS(s1, t),
                          eave_dims_str(s2, sizeof s2, x.rank - 1, tdims));
  if (has_w && (w.rank != 1 || w.dims[0] != c))
    return EAVE_RUN_ERROR("weight must be [%lld], got shape %s", (long long)c, EAVE_DIMS(s1, w));
  eave_attr ig;
  int has_ignore = eave_attrs_find(params, params_size, "ignore_index", &ig) &&
                   ig.kind == EAVE_ATTR_INT;
  int red = reduction_of(params, params_size);
  /* Check every target before writing anything. */
  for (int64_t i = 0; i < n * inner; ++i) {
    int64_t k = eave_elem_i64(t.dtype, t.data, (uint64_t)i);
    if (!(has_ignore && k == ig.i) && (k < 0 || k >= c))
      return EAVE_RUN_ERROR("target %lld is out of range for %lld classes", (long long)k,
                            (long long)c);
  }
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, red == REDUCE_NONE ? x.rank - 1 : 0,
                                                  tdims, &loss));
  if (softmax && eave_builtin_step(ctx)->output_count > 1)
    EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 1, x.rank, x.dims, &lp));
  double total = 0, total_w = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i) {
      double lse = 0;
      if (softmax) {
        double top = -INFINITY, sum = 0;
        for (int64_t k = 0; k < c; ++k) {
          double v = eave_elem_f64(x.dtype, x.data, (uint64_t)((b * c + k) * inner + i));
          if (top < v) top = v;
        }
        for (int64_t k = 0; k < c; ++k)
          sum += exp(eave_elem_f64(x.dtype, x.data, (uint64_t)((b * c + k) * inner + i)) - top);
        lse = top + log(sum);
        if (lp.data)
          for (int64_t k = 0; k < c; ++k) {
            uint64_t j = (uint64_t)((b * c + k) * inner + i);
            eave_elem_set_f64(lp.dtype, lp.data, j, eave_elem_f64(x.dtype, x.data, j) - lse);
          }
      }
      int64_t k = eave_elem_i64(t.dtype, t.data, (uint64_t)(b * inner + i));
      double l = 0, wt = 0;
      if (!(has_ignore && k == ig.i)) {
        wt = has_w ? eave_elem_f64(w.dtype, w.data, (uint64_t)k) : 1.0;
        l = -(eave_elem_f64(x.dtype, x.data, (uint64_t)((b * c + k) * inner + i)) - lse) * wt;
      }
      if (red == REDUCE_NONE && loss.data)
        eave_elem_set_f64(loss.dtype, loss.data, (uint64_t)(b * inner + i), l);
      total += l;
      total_w += wt;
    }
  if (red != REDUCE_NONE && loss.data)
    eave_elem_set_f64(loss.dtype, loss.data, 0,
                      red == REDUCE_SUM ? total : total_w == 0 ? 0.0 : total / total_w);
  return NULL;
}
