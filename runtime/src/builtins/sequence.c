/* Sequence builtins (ONNX SequenceConstruct, SequenceEmpty, SequenceAt, SequenceInsert,
 * SequenceErase, SequenceLength, SplitToSequence, ConcatFromSequence). A sequence is a list
 * of tensors of the value's dtype whose shapes may differ (list.h); reference/sequence.cc is
 * the definition. Outputs are rebuilt in their own list, which keeps its buffers from one
 * run to the next. */
#include <string.h>

#include "attrs.h"
#include "builtin.h"
#include "elem.h"

/* ---- Checks ------------------------------------------------------------------------------- */

static int kind_of(const eave_value* v) { return v ? v->kind : -1; }

/* Inputs [first, last) present, the rest up to `input_count` optional; one output. */
static eave_status arity(const eave_step* step, uint32_t required, uint32_t max_inputs,
                         const char* what) {
  if (step->input_count < required || step->input_count > max_inputs || step->output_count != 1)
    return EAVE_INVALID("%s takes %u to %u inputs and 1 output", what, required, max_inputs);
  return NULL;
}

/* A position operand k: an i32/i64 tensor, or absent if allowed. */
static eave_status check_position(const eave_model* m, const eave_step* step, uint32_t k,
                                  int optional, const char* what) {
  const eave_value* v = k < step->input_count ? eave_step_value(m, step, k) : NULL;
  if (!v) return optional ? NULL : EAVE_INVALID("%s needs a position", what);
  if (v->kind != EAVE_VALUE_TENSOR || (v->dtype != EAVE_DTYPE_I32 && v->dtype != EAVE_DTYPE_I64))
    return EAVE_INVALID("%s: the position is an i32 or i64 tensor", what);
  return NULL;
}

static eave_status check_seq(const eave_value* v, const char* what, const char* role) {
  if (kind_of(v) != EAVE_VALUE_SEQUENCE) return EAVE_INVALID("%s: the %s is a sequence", what, role);
  return NULL;
}

static eave_status check_tensor(const eave_value* v, const eave_value* like, const char* what,
                                const char* role) {
  if (kind_of(v) != EAVE_VALUE_TENSOR || (like && v->dtype != like->dtype))
    return EAVE_INVALID("%s: the %s is a tensor of the sequence's dtype", what, role);
  return NULL;
}

#define IN(k) eave_step_value(m, step, k)
#define OUT(k) eave_step_value(m, step, step->input_count + (k))

eave_status eave_builtin_sequence_construct_check(const eave_model* m, const eave_step* step,
                                                  const uint8_t* params) {
  if (step->output_count != 1) return EAVE_INVALID("SEQUENCE_CONSTRUCT gives 1 output");
  EAVE_RETURN_IF_ERROR(check_seq(OUT(0), "SEQUENCE_CONSTRUCT", "output"));
  for (uint32_t k = 0; k < step->input_count; ++k)
    EAVE_RETURN_IF_ERROR(check_tensor(IN(k), OUT(0), "SEQUENCE_CONSTRUCT", "input"));
  return NULL;
}

eave_status eave_builtin_sequence_empty_check(const eave_model* m, const eave_step* step,
                                              const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 0, 0, "SEQUENCE_EMPTY"));
  return check_seq(OUT(0), "SEQUENCE_EMPTY", "output");
}

eave_status eave_builtin_sequence_at_check(const eave_model* m, const eave_step* step,
                                           const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 2, 2, "SEQUENCE_AT"));
  EAVE_RETURN_IF_ERROR(check_seq(IN(0), "SEQUENCE_AT", "input"));
  EAVE_RETURN_IF_ERROR(check_position(m, step, 1, 0, "SEQUENCE_AT"));
  return check_tensor(OUT(0), IN(0), "SEQUENCE_AT", "output");
}

eave_status eave_builtin_sequence_insert_check(const eave_model* m, const eave_step* step,
                                               const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 2, 3, "SEQUENCE_INSERT"));
  EAVE_RETURN_IF_ERROR(check_seq(IN(0), "SEQUENCE_INSERT", "input"));
  EAVE_RETURN_IF_ERROR(check_tensor(IN(1), IN(0), "SEQUENCE_INSERT", "inserted value"));
  EAVE_RETURN_IF_ERROR(check_position(m, step, 2, 1, "SEQUENCE_INSERT"));
  EAVE_RETURN_IF_ERROR(check_seq(OUT(0), "SEQUENCE_INSERT", "output"));
  return OUT(0)->dtype == IN(0)->dtype ? NULL
                                       : EAVE_INVALID("SEQUENCE_INSERT: dtypes differ");
}

eave_status eave_builtin_sequence_erase_check(const eave_model* m, const eave_step* step,
                                              const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 1, 2, "SEQUENCE_ERASE"));
  EAVE_RETURN_IF_ERROR(check_seq(IN(0), "SEQUENCE_ERASE", "input"));
  EAVE_RETURN_IF_ERROR(check_position(m, step, 1, 1, "SEQUENCE_ERASE"));
  EAVE_RETURN_IF_ERROR(check_seq(OUT(0), "SEQUENCE_ERASE", "output"));
  return OUT(0)->dtype == IN(0)->dtype ? NULL : EAVE_INVALID("SEQUENCE_ERASE: dtypes differ");
}

eave_status eave_builtin_sequence_length_check(const eave_model* m, const eave_step* step,
                                               const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 1, 1, "SEQUENCE_LENGTH"));
  EAVE_RETURN_IF_ERROR(check_seq(IN(0), "SEQUENCE_LENGTH", "input"));
  const eave_value* out = OUT(0);
  if (kind_of(out) != EAVE_VALUE_TENSOR || out->dtype != EAVE_DTYPE_I64 || out->rank != 0)
    return EAVE_INVALID("SEQUENCE_LENGTH gives an i64 scalar");
  return NULL;
}

eave_status eave_builtin_split_to_sequence_check(const eave_model* m, const eave_step* step,
                                                 const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 1, 2, "SPLIT_TO_SEQUENCE"));
  EAVE_RETURN_IF_ERROR(check_tensor(IN(0), NULL, "SPLIT_TO_SEQUENCE", "input"));
  const eave_value* split = step->input_count > 1 ? IN(1) : NULL;
  if (split && (split->kind != EAVE_VALUE_TENSOR || split->rank > 1 ||
                (split->dtype != EAVE_DTYPE_I32 && split->dtype != EAVE_DTYPE_I64)))
    return EAVE_INVALID("SPLIT_TO_SEQUENCE: split is an i32/i64 scalar or vector");
  EAVE_RETURN_IF_ERROR(check_seq(OUT(0), "SPLIT_TO_SEQUENCE", "output"));
  return OUT(0)->dtype == IN(0)->dtype ? NULL : EAVE_INVALID("SPLIT_TO_SEQUENCE: dtypes differ");
}

eave_status eave_builtin_concat_from_sequence_check(const eave_model* m, const eave_step* step,
                                                    const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(arity(step, 1, 1, "CONCAT_FROM_SEQUENCE"));
  EAVE_RETURN_IF_ERROR(check_seq(IN(0), "CONCAT_FROM_SEQUENCE", "input"));
  return check_tensor(OUT(0), IN(0), "CONCAT_FROM_SEQUENCE", "output");
}

/* ---- Runs --------------------------------------------------------------------------------- */

/* Reads a position operand (one i32/i64 element) into [0, n] (or [0, n - 1] unless
 * allow_end), negative counting from the back. */
static eave_status read_position(eave_builtin_ctx* ctx, uint32_t k, int64_t n, int allow_end,
                                 int64_t* out) {
  eave_tensor_view p;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, &p));
  if (p.bytes != eave_dtype_size(p.dtype))
    return EAVE_RUN_ERROR("the position must have one element");
  int64_t pos = eave_elem_i64(p.dtype, p.data, 0);
  int64_t hi = allow_end ? n : n - 1;
  if (pos < -n || pos > hi)
    return EAVE_RUN_ERROR("position %lld is out of range [%lld, %lld] for a sequence of %lld "
                          "tensors",
                          (long long)pos, (long long)-n, (long long)hi, (long long)n);
  *out = pos < 0 ? pos + n : pos;
  return NULL;
}

eave_status eave_builtin_sequence_construct_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                                uint32_t params_size) {
  eave_list* out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  uint32_t n = eave_builtin_step(ctx)->input_count;
  EAVE_RETURN_IF_ERROR(eave_builtin_list_resize(ctx, out, n));
  out->present = 1;
  for (uint32_t k = 0; k < n; ++k) {
    eave_tensor_view t;
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, k, &t));
    if (!t.data) return EAVE_RUN_ERROR("input %u is absent", k);
    EAVE_RETURN_IF_ERROR(eave_builtin_list_set(ctx, out, k, t.dtype, t.rank, t.dims, t.data, NULL));
  }
  return NULL;
}

eave_status eave_builtin_sequence_empty_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                            uint32_t params_size) {
  eave_list* out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  out->present = 1;
  return eave_builtin_list_resize(ctx, out, 0);
}

eave_status eave_builtin_sequence_at_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                         uint32_t params_size) {
  const eave_list* seq;
  EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &seq));
  int64_t at;
  EAVE_RETURN_IF_ERROR(read_position(ctx, 1, seq->count, 0, &at));
  const eave_buffer* item = &seq->items[at];
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, item->rank, item->dims, &out));
  if (out.data && item->bytes) memcpy(out.data, item->data, (size_t)item->bytes);
  return NULL;
}

eave_status eave_builtin_sequence_insert_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                             uint32_t params_size) {
  const eave_list* seq;
  eave_list* out;
  eave_tensor_view t;
  EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &seq));
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 1, &t));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  int64_t n = seq->count, at = n;
  if (eave_builtin_operand_kind(ctx, 2) >= 0 && eave_builtin_step(ctx)->input_count > 2)
    EAVE_RETURN_IF_ERROR(read_position(ctx, 2, n, 1, &at));
  EAVE_RETURN_IF_ERROR(eave_builtin_list_assign(ctx, out, seq));
  EAVE_RETURN_IF_ERROR(eave_builtin_list_resize(ctx, out, (uint32_t)n + 1));
  out->present = 1;
  EAVE_RETURN_IF_ERROR(
      eave_builtin_list_set(ctx, out, (uint32_t)n, t.dtype, t.rank, t.dims, t.data, NULL));
  eave_list_move_item(out, (uint32_t)n, (uint32_t)at);
  return NULL;
}

eave_status eave_builtin_sequence_erase_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                            uint32_t params_size) {
  const eave_list* seq;
  eave_list* out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &seq));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  int64_t n = seq->count, at = n - 1;
  if (n == 0) return EAVE_RUN_ERROR("cannot erase from an empty sequence");
  if (eave_builtin_operand_kind(ctx, 1) >= 0 && eave_builtin_step(ctx)->input_count > 1)
    EAVE_RETURN_IF_ERROR(read_position(ctx, 1, n, 0, &at));
  EAVE_RETURN_IF_ERROR(eave_builtin_list_assign(ctx, out, seq));
  /* The erased item keeps its buffer past the end, for reuse. */
  eave_list_move_item(out, (uint32_t)at, (uint32_t)n - 1);
  return eave_builtin_list_resize(ctx, out, (uint32_t)n - 1);
}

eave_status eave_builtin_sequence_length_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                             uint32_t params_size) {
  const eave_list* seq;
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &seq));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 0, NULL, &out));
  if (out.data) eave_elem_set_i64(EAVE_DTYPE_I64, out.data, 0, seq->count);
  return NULL;
}

static int64_t norm_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

/* Copies [at, at + len) along `axis` of x (dims, element size) into dst. */
static void copy_slab(const eave_tensor_view* x, int64_t axis, int64_t at, int64_t len,
                      void* dst) {
  uint64_t outer = 1, inner = eave_dtype_size(x->dtype);
  for (int64_t a = 0; a < axis; ++a) outer *= (uint64_t)x->dims[a];
  for (uint32_t a = (uint32_t)axis + 1; a < x->rank; ++a) inner *= (uint64_t)x->dims[a];
  uint64_t L = (uint64_t)x->dims[axis];
  for (uint64_t o = 0; o < outer; ++o)
    memcpy((uint8_t*)dst + o * (uint64_t)len * inner,
           (const uint8_t*)x->data + (o * L + (uint64_t)at) * inner, (size_t)((uint64_t)len * inner));
}

eave_status eave_builtin_split_to_sequence_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                               uint32_t params_size) {
  eave_tensor_view x, split = {0};
  eave_list* out;
  EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 0, &x));
  if (eave_builtin_step(ctx)->input_count > 1)
    EAVE_RETURN_IF_ERROR(eave_builtin_input(ctx, 1, &split));
  EAVE_RETURN_IF_ERROR(eave_builtin_output_list(ctx, 0, &out));
  if (x.rank < 1) return EAVE_RUN_ERROR("the input must have rank >= 1");
  int64_t axis = norm_axis(eave_attr_int(params, params_size, "axis", 0), x.rank);
  if (axis < 0 || axis >= (int64_t)x.rank)
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u",
                          (long long)eave_attr_int(params, params_size, "axis", 0), x.rank);
  int64_t len = x.dims[axis];
  int keepdims = eave_attr_int(params, params_size, "keepdims", 1) != 0;
  uint64_t esize = eave_dtype_size(split.dtype);
  uint64_t n_split = split.data && esize ? split.bytes / esize : 0;
  int64_t chunk = 1; /* pieces of `chunk` (the last may be shorter), unless split lists sizes */
  uint64_t pieces;
  if (!split.data) {
    pieces = (uint64_t)len;
  } else if (split.rank == 0) {
    chunk = eave_elem_i64(split.dtype, split.data, 0);
    if (chunk <= 0) return EAVE_RUN_ERROR("split must be positive, got %lld", (long long)chunk);
    pieces = (uint64_t)((len + chunk - 1) / chunk);
  } else {
    int64_t total = 0;
    for (uint64_t i = 0; i < n_split; ++i) {
      int64_t s = eave_elem_i64(split.dtype, split.data, i);
      if (s < 0 || s > len) return EAVE_RUN_ERROR("split size %lld is out of range", (long long)s);
      total += s;
    }
    if (total != len)
      return EAVE_RUN_ERROR("split sizes sum to %lld, but axis %lld has length %lld",
                            (long long)total, (long long)axis, (long long)len);
    pieces = n_split;
  }
  if (pieces > UINT32_MAX) return EAVE_RUN_ERROR("too many pieces");
  EAVE_RETURN_IF_ERROR(eave_builtin_list_resize(ctx, out, (uint32_t)pieces));
  out->present = 1;
  int64_t dims[EAVE_MAX_RANK];
  int64_t at = 0;
  for (uint64_t i = 0; i < pieces; ++i) {
    int64_t size = !split.data       ? 1
                   : split.rank == 0 ? (chunk < len - at ? chunk : len - at)
                                     : eave_elem_i64(split.dtype, split.data, i);
    uint32_t r = 0;
    for (uint32_t a = 0; a < x.rank; ++a) {
      if ((int64_t)a != axis) dims[r++] = x.dims[a];
      else if (split.data || keepdims) dims[r++] = size;
    }
    void* dst;
    EAVE_RETURN_IF_ERROR(eave_builtin_list_set(ctx, out, (uint32_t)i, x.dtype, r, dims, NULL, &dst));
    copy_slab(&x, axis, at, size, dst);
    at += size;
  }
  return NULL;
}

eave_status eave_builtin_concat_from_sequence_run(eave_builtin_ctx* ctx, const uint8_t* params,
                                                  uint32_t params_size) {
  const eave_list* seq;
  EAVE_RETURN_IF_ERROR(eave_builtin_input_list(ctx, 0, &seq));
  if (seq->count == 0) return EAVE_RUN_ERROR("the input sequence is empty");
  int new_axis = eave_attr_int(params, params_size, "new_axis", 0) != 0;
  const eave_buffer* first = &seq->items[0];
  uint32_t rank = first->rank, out_rank = rank + (new_axis ? 1 : 0);
  if (!new_axis && rank < 1) return EAVE_RUN_ERROR("cannot concatenate scalars without new_axis");
  if (out_rank > EAVE_MAX_RANK) return EAVE_RUN_ERROR("the result's rank is too large");
  int64_t raw = eave_attr_int(params, params_size, "axis", 0);
  int64_t axis = norm_axis(raw, out_rank);
  if (axis < 0 || axis >= (int64_t)out_rank)
    return EAVE_RUN_ERROR("axis %lld is out of range for rank %u", (long long)raw, out_rank);
  /* Every tensor is viewed with rank out_rank: new_axis inserts a 1 at `axis`. */
  int64_t dims[EAVE_MAX_RANK];
  for (uint32_t a = 0, r = 0; a < out_rank; ++a) {
    int64_t d = new_axis && (int64_t)a == axis ? 1 : first->dims[r++];
    dims[a] = (int64_t)a == axis ? 0 : d; /* the axis sums below */
  }
  for (uint32_t i = 0; i < seq->count; ++i) {
    const eave_buffer* t = &seq->items[i];
    if (t->rank != rank || t->dtype != first->dtype)
      return EAVE_RUN_ERROR("tensor %u has rank %u, tensor 0 rank %u", i, t->rank, rank);
    for (uint32_t a = 0, r = 0; a < out_rank; ++a) {
      int64_t d = new_axis && (int64_t)a == axis ? 1 : t->dims[r++];
      if ((int64_t)a == axis) dims[a] += d;
      else if (d != dims[a])
        return EAVE_RUN_ERROR("tensor %u has size %lld on axis %u, tensor 0 %lld", i,
                              (long long)d, a, (long long)dims[a]);
    }
  }
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, out_rank, dims, &out));
  if (!out.data) return NULL;
  uint64_t outer = 1, inner = eave_dtype_size((eave_dtype)first->dtype);
  for (int64_t a = 0; a < axis; ++a) outer *= (uint64_t)dims[a];
  for (uint32_t a = (uint32_t)axis + 1; a < out_rank; ++a) inner *= (uint64_t)dims[a];
  uint64_t row = (uint64_t)dims[axis] * inner, at = 0;
  for (uint32_t i = 0; i < seq->count; ++i) {
    const eave_buffer* t = &seq->items[i];
    uint64_t piece = outer ? t->bytes / outer : 0; /* bytes of t per outer index */
    for (uint64_t o = 0; o < outer; ++o)
      memcpy((uint8_t*)out.data + o * row + at, (const uint8_t*)t->data + o * piece, (size_t)piece);
    at += piece;
  }
  return NULL;
}
