/* Control-flow steps: IF, LOOP, SCAN and SEQUENCE_MAP run nested programs over the step's
 * operands (artifact_format.h describes each layout).
 *
 * A nested program writes each tensor output into a buffer the step gives its slot (list.h),
 * growing it when it is owned and leaving there the shape it produced; the step then gives
 * its own output that shape (eave_exec_shape_value: RUNTIME symbols of the step's program are
 * defined by it, every other dim must agree) and copies the data. So branch results and
 * loop-carried values may change shape from one run or iteration to the next. Loop state is
 * double-buffered in the step's scratch (kept across runs), so a loop whose shapes do not
 * grow allocates nothing once warm. */
#include <string.h>

#include "builtins/attrs.h"
#include "executor.h"

static int32_t operand(const eave_model* m, const eave_step* st, uint32_t k) {
  return m->operands[st->operands + k];
}

static const eave_allocator* alloc_of(eave_session* S) { return &S->allocator; }

/* A buffer passed as a nested program's tensor input. */
static void pass_buffer(const eave_buffer* b, eave_tensor_ref* ref) {
  *ref = (eave_tensor_ref){b->data, b->bytes, b->dims, b->rank, b->dtype, NULL, NULL};
}

static void pass_list(eave_list* l, uint32_t dtype, eave_tensor_ref* ref) {
  *ref = (eave_tensor_ref){NULL, 0, NULL, 0, dtype, NULL, l};
}

static void output_to_buffer(eave_buffer* b, eave_tensor_ref* ref) {
  *ref = (eave_tensor_ref){NULL, 0, NULL, 0, 0, b, NULL};
}

/* Gives step output v (if present) the shape and bytes of buffer b. */
static eave_status take_output(eave_session* S, uint32_t p, int32_t v, const eave_buffer* b) {
  if (v < 0) return NULL;
  EAVE_RETURN_IF_ERROR(eave_exec_shape_value(S, p, (uint32_t)v, b->rank, b->dims));
  eave_value_state* vs = &S->values[v];
  if (vs->bytes != b->bytes)
    return eave_make_status(EAVE_STATUS_INTERNAL, "'%s': %llu bytes for %llu",
                            eave_value_name(S->model, (uint32_t)v), (unsigned long long)b->bytes,
                            (unsigned long long)vs->bytes);
  if (vs->data != b->data && b->bytes) memmove(vs->data, b->data, (size_t)b->bytes);
  return NULL;
}

/* Are value v's dims all known now (constants or defined symbols)? */
static int shape_known(const eave_session* S, uint32_t v) {
  const eave_value* val = &S->model->values[v];
  for (uint32_t a = 0; a < val->rank; ++a)
    if (eave_exec_dim_or(S, S->model->dims[val->dims + a], -1) < 0) return 0;
  return 1;
}

/* The declared shape of step output v with unknown dims as 0: what a scan output stacked from
 * no iterations is. */
static void declared_or_zero(const eave_session* S, uint32_t v, eave_buffer* b) {
  const eave_value* val = &S->model->values[v];
  b->rank = val->rank;
  for (uint32_t a = 0; a < val->rank; ++a) {
    int64_t d = eave_exec_dim_or(S, S->model->dims[val->dims + a], 0);
    b->dims[a] = d < 0 ? 0 : d;
  }
}

static eave_status zero_filled(eave_session* S, eave_buffer* b, uint32_t dtype) {
  b->dtype = dtype;
  uint64_t bytes = eave_tensor_bytes((eave_dtype)dtype, b->rank, b->dims);
  if (bytes == UINT64_MAX) return EAVE_RUN_ERROR("a stacked output is too large");
  EAVE_RETURN_IF_ERROR(eave_buffer_reserve(alloc_of(S), b, bytes, "a stacked output"));
  b->bytes = bytes;
  if (bytes) memset(b->data, 0, (size_t)bytes);
  return NULL;
}

/* Appends element e to acc, a stack of elements along a new axis 0 (`first` starts it);
 * every element must have the dtype and shape of the first. */
static eave_status append_element(eave_session* S, eave_buffer* acc, const eave_buffer* e,
                                  int first, const char* what, uint32_t index) {
  if (first) {
    if (e->rank + 1 > EAVE_MAX_RANK)
      return EAVE_RUN_ERROR("%s %u: stacking rank-%u elements exceeds rank %u", what, index,
                            e->rank, EAVE_MAX_RANK);
    acc->dtype = e->dtype;
    acc->rank = e->rank + 1;
    acc->dims[0] = 0;
    if (e->rank) memcpy(acc->dims + 1, e->dims, e->rank * sizeof(int64_t));
    acc->bytes = 0;
  } else if (e->dtype != acc->dtype || e->rank + 1 != acc->rank ||
             (e->rank && memcmp(acc->dims + 1, e->dims, e->rank * sizeof(int64_t)))) {
    return EAVE_RUN_ERROR("%s %u changes shape or dtype between iterations", what, index);
  }
  if (e->bytes > UINT64_MAX / 4 - acc->bytes)
    return EAVE_RUN_ERROR("%s %u is too large", what, index);
  EAVE_RETURN_IF_ERROR(eave_buffer_grow(alloc_of(S), acc, acc->bytes + e->bytes, what));
  if (e->bytes) memcpy((uint8_t*)acc->data + acc->bytes, e->data, (size_t)e->bytes);
  acc->bytes += e->bytes;
  acc->dims[0] += 1;
  return NULL;
}

/* Starts state buffer/list `i` (double-buffered at 2i, 2i + 1) from value v, or from its
 * entry `batch` along axis 0 when batch >= 0. */
static eave_status init_state(eave_session* S, eave_step_scratch* sc, uint32_t i, uint32_t v,
                              int64_t batch) {
  const eave_value* val = &S->model->values[v];
  const eave_value_state* vs = &S->values[v];
  if (eave_value_is_list(val)) return eave_list_assign(alloc_of(S), &sc->lists[2 * i], vs->list);
  const int64_t* dims = S->dims + val->dims;
  if (batch < 0)
    return eave_buffer_set(alloc_of(S), &sc->buffers[2 * i], (eave_dtype)val->dtype, val->rank,
                           dims, vs->data);
  uint64_t per = dims[0] ? vs->bytes / (uint64_t)dims[0] : 0;
  return eave_buffer_set(alloc_of(S), &sc->buffers[2 * i], (eave_dtype)val->dtype, val->rank - 1,
                         dims + 1, (const uint8_t*)vs->data + (uint64_t)batch * per);
}

/* Binds state i (side `cur`) as input slot `in` and its other side as output slot `out`. */
static void bind_state(eave_session* S, eave_step_scratch* sc, uint32_t i, int cur, uint32_t v,
                       eave_tensor_ref* in, eave_tensor_ref* out) {
  if (eave_value_is_list(&S->model->values[v])) {
    pass_list(&sc->lists[2 * i + cur], S->model->values[v].dtype, in);
    pass_list(&sc->lists[2 * i + 1 - cur], S->model->values[v].dtype, out);
  } else {
    pass_buffer(&sc->buffers[2 * i + cur], in);
    output_to_buffer(&sc->buffers[2 * i + 1 - cur], out);
  }
}

/* Hands final state i (side `cur`) to step output v. */
static eave_status finish_state(eave_session* S, uint32_t p, eave_step_scratch* sc, uint32_t i,
                                int cur, int32_t v) {
  if (v < 0) return NULL;
  if (!eave_value_is_list(&S->model->values[v])) return take_output(S, p, v, &sc->buffers[2 * i + cur]);
  EAVE_RETURN_IF_ERROR(eave_exec_resolve(S, p, (uint32_t)v));
  eave_list_swap(S->values[v].list, &sc->lists[2 * i + cur]); /* both are session-owned */
  return NULL;
}

/* ---- IF ---------------------------------------------------------------------------------- */

eave_status eave_run_if(eave_session* S, uint32_t p, uint32_t step, int depth) {
  const eave_model* m = S->model;
  const eave_step* st = &m->steps[step];
  EAVE_RETURN_IF_ERROR(eave_exec_resolve_inputs(S, p, st));
  uint32_t c = (uint32_t)operand(m, st, 0);
  int64_t cond;
  if (eave_exec_read_scalar(m->values[c].dtype, S->values[c].data, S->values[c].bytes, &cond))
    return EAVE_RUN_ERROR("the condition '%s' must be one integer or bool element",
                          eave_value_name(m, c));
  uint32_t branch = st->programs[cond ? 0 : 1];
  uint32_t first = cond ? 1 : 1 + m->programs[st->programs[0]].input_count;
  const eave_program* bp = &m->programs[branch];
  for (uint32_t i = 0; i < bp->input_count; ++i)
    eave_exec_pass_value(S, (uint32_t)operand(m, st, first + i), &S->refs[bp->inputs + i]);
  /* Buffers [0, K) are owned scratch for outputs shaped by the branch; [K, 2K) wrap outputs
   * whose shape is known now, which the branch then writes in place. Lists take the step's
   * output lists, or scratch ones for outputs the graph does not use. */
  uint32_t K = st->output_count;
  eave_step_scratch* sc;
  EAVE_RETURN_IF_ERROR(eave_exec_step_scratch(S, step, 2 * K, K, &sc));
  for (uint32_t k = 0; k < K; ++k) {
    int32_t v = operand(m, st, st->input_count + k);
    eave_tensor_ref* ref = &S->refs[bp->outputs + k];
    const eave_value* produced = &m->values[m->lists[bp->outputs + k]];
    if (eave_value_is_list(produced)) {
      eave_list* l = &sc->lists[k];
      if (v >= 0) {
        EAVE_RETURN_IF_ERROR(eave_exec_resolve(S, p, (uint32_t)v));
        l = S->values[v].list;
      }
      pass_list(l, produced->dtype, ref);
    } else if (v >= 0 && shape_known(S, (uint32_t)v)) {
      EAVE_RETURN_IF_ERROR(eave_exec_resolve(S, p, (uint32_t)v));
      eave_buffer* w = &sc->buffers[K + k];
      memset(w, 0, sizeof *w);
      w->data = S->values[v].data;
      w->capacity = S->values[v].bytes;
      output_to_buffer(w, ref);
    } else {
      output_to_buffer(&sc->buffers[k], ref);
    }
  }
  EAVE_RETURN_IF_ERROR(eave_status_annotate(eave_exec_program(S, branch, depth + 1),
                                            "%s branch: ", cond ? "then" : "else"));
  for (uint32_t k = 0; k < K; ++k) {
    int32_t v = operand(m, st, st->input_count + k);
    if (v < 0 || eave_value_is_list(&m->values[v])) continue;
    EAVE_RETURN_IF_ERROR(eave_status_annotate(take_output(S, p, v, S->refs[bp->outputs + k].out),
                                              "output %u of the %s branch: ", k,
                                              cond ? "then" : "else"));
  }
  return NULL;
}

/* ---- LOOP -------------------------------------------------------------------------------- */

/* A one-element integer operand k, when present. */
static eave_status scalar_operand(eave_session* S, const eave_step* st, uint32_t k,
                                  const char* what, int64_t* out) {
  int32_t v = operand(S->model, st, k);
  if (v < 0) return NULL;
  if (eave_exec_read_scalar(S->model->values[v].dtype, S->values[v].data, S->values[v].bytes,
                            out))
    return EAVE_RUN_ERROR("%s '%s' must be one integer or bool element", what,
                          eave_value_name(S->model, (uint32_t)v));
  return NULL;
}

eave_status eave_run_loop(eave_session* S, uint32_t p, uint32_t step, int depth) {
  const eave_model* m = S->model;
  const eave_step* st = &m->steps[step];
  uint32_t N = st->id, K = st->output_count - N, C = st->input_count - 2 - N;
  EAVE_RETURN_IF_ERROR(eave_exec_resolve_inputs(S, p, st));
  int64_t trips = INT64_MAX, cond = 1;
  EAVE_RETURN_IF_ERROR(scalar_operand(S, st, 0, "the trip count", &trips));
  EAVE_RETURN_IF_ERROR(scalar_operand(S, st, 1, "the condition", &cond));
  uint32_t body = st->programs[0];
  const eave_program* bp = &m->programs[body];
  /* buffers: state i at 2i, 2i + 1; scan k's element at 2N + 2k, its stack at 2N + 2k + 1. */
  eave_step_scratch* sc;
  EAVE_RETURN_IF_ERROR(eave_exec_step_scratch(S, step, 2 * N + 2 * K, 2 * N, &sc));
  for (uint32_t i = 0; i < N; ++i)
    EAVE_RETURN_IF_ERROR(init_state(S, sc, i, (uint32_t)operand(m, st, 2 + i), -1));
  uint8_t cond_bytes[64];
  eave_buffer cond_out = {cond_bytes, 0, sizeof cond_bytes, 0, 0, 0, {0}};
  static const int64_t no_dims[1] = {0};
  int64_t iter = 0;
  uint8_t cond_in = 1;
  int cur = 0;
  for (; iter < trips && cond; ++iter, cur = 1 - cur) {
    cond_in = 1;
    S->refs[bp->inputs + 0] = (eave_tensor_ref){&iter, 8, no_dims, 0, EAVE_DTYPE_I64, NULL, NULL};
    S->refs[bp->inputs + 1] = (eave_tensor_ref){&cond_in, 1, no_dims, 0, EAVE_DTYPE_BOOL, NULL, NULL};
    output_to_buffer(&cond_out, &S->refs[bp->outputs + 0]);
    for (uint32_t i = 0; i < N; ++i)
      bind_state(S, sc, i, cur, (uint32_t)operand(m, st, 2 + i), &S->refs[bp->inputs + 2 + i],
                 &S->refs[bp->outputs + 1 + i]);
    for (uint32_t j = 0; j < C; ++j)
      eave_exec_pass_value(S, (uint32_t)operand(m, st, 2 + N + j),
                           &S->refs[bp->inputs + 2 + N + j]);
    for (uint32_t k = 0; k < K; ++k)
      output_to_buffer(&sc->buffers[2 * N + 2 * k], &S->refs[bp->outputs + 1 + N + k]);
    eave_status err = eave_exec_program(S, body, depth + 1);
    if (err) return eave_status_annotate(err, "LOOP iteration %lld: ", (long long)iter);
    if (eave_exec_read_scalar(cond_out.dtype, cond_out.data, cond_out.bytes, &cond))
      return EAVE_RUN_ERROR("LOOP iteration %lld: the body's condition is not one element",
                            (long long)iter);
    for (uint32_t k = 0; k < K; ++k)
      EAVE_RETURN_IF_ERROR(append_element(S, &sc->buffers[2 * N + 2 * k + 1],
                                          &sc->buffers[2 * N + 2 * k], iter == 0, "scan output",
                                          k));
  }
  for (uint32_t i = 0; i < N; ++i)
    EAVE_RETURN_IF_ERROR(eave_status_annotate(
        finish_state(S, p, sc, i, cur, operand(m, st, st->input_count + i)),
        "loop-carried value %u: ", i));
  for (uint32_t k = 0; k < K; ++k) {
    int32_t v = operand(m, st, st->input_count + N + k);
    if (v < 0) continue;
    eave_buffer* acc = &sc->buffers[2 * N + 2 * k + 1];
    if (iter == 0) {
      declared_or_zero(S, (uint32_t)v, acc);
      acc->dims[0] = 0;
      EAVE_RETURN_IF_ERROR(zero_filled(S, acc, m->values[v].dtype));
    }
    EAVE_RETURN_IF_ERROR(
        eave_status_annotate(take_output(S, p, v, acc), "scan output %u: ", k));
  }
  return NULL;
}

/* ---- SCAN -------------------------------------------------------------------------------- */

/* Entry i of INTS attribute `name`, or dflt. */
static int64_t attr_at(const uint8_t* blob, uint32_t size, const char* name, uint32_t i,
                       int64_t dflt) {
  eave_attr a;
  if (!eave_attrs_find(blob, size, name, &a) || a.kind != EAVE_ATTR_INTS || i >= a.n) return dflt;
  return eave_attr_ints_at(&a, i);
}

typedef struct scan_ctx {
  eave_session* S;
  uint32_t p, step, body;
  const eave_step* st;
  const uint8_t* params;
  uint32_t params_size;
  uint32_t N, M, K, C;
  int batched;
  int64_t batch, length; /* batched: entries along axis 0; every mode: the scan length */
  eave_step_scratch* sc;
} scan_ctx;

/* Buffer indices in the scratch. */
static uint32_t slice_buf(const scan_ctx* x, uint32_t j) { return 2 * x->N + j; }
static uint32_t elem_buf(const scan_ctx* x, uint32_t k) { return 2 * x->N + x->M + 2 * k; }
static uint32_t stack_buf(const scan_ctx* x, uint32_t k) { return elem_buf(x, k) + 1; }
static uint32_t final_buf(const scan_ctx* x, uint32_t i) { return 2 * x->N + x->M + 2 * x->K + i; }

static int64_t norm_axis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

/* Passes slice `at` of scan input j (of batch entry b when batched) to body input `ref`:
 * a view when the slice is contiguous, else gathered into the slice buffer. */
static eave_status pass_slice(scan_ctx* x, uint32_t j, int64_t b, int64_t at,
                              eave_tensor_ref* ref) {
  eave_session* S = x->S;
  const eave_model* m = S->model;
  uint32_t v = (uint32_t)operand(m, x->st, 1 + x->N + j);
  const eave_value* val = &m->values[v];
  const int64_t* dims = S->dims + val->dims;
  eave_buffer* sl = &x->sc->buffers[slice_buf(x, j)];
  int64_t axis = x->batched ? 1 : norm_axis(attr_at(x->params, x->params_size, "scan_input_axes",
                                                    j, 0), val->rank);
  uint64_t esize = eave_dtype_size((eave_dtype)val->dtype);
  uint64_t outer = 1, inner = esize;
  uint32_t r = 0;
  for (uint32_t a = 0; a < val->rank; ++a) {
    if ((int64_t)a == axis) continue;
    if ((int64_t)a < axis) outer *= (uint64_t)dims[a];
    else inner *= (uint64_t)dims[a];
    if (!(x->batched && a == 0)) sl->dims[r++] = dims[a];
  }
  sl->rank = r;
  sl->dtype = val->dtype;
  const uint8_t* base = S->values[v].data;
  uint64_t len = (uint64_t)dims[axis];
  if (x->batched) { /* [B, T, ...]: entry b, step at, contiguous */
    sl->bytes = inner;
    pass_buffer(sl, ref);
    ref->data = (void*)(base + ((uint64_t)b * len + (uint64_t)at) * inner);
    return NULL;
  }
  if (outer == 1) {
    sl->bytes = inner;
    pass_buffer(sl, ref);
    ref->data = (void*)(base + (uint64_t)at * inner);
    return NULL;
  }
  uint64_t bytes = outer * inner;
  EAVE_RETURN_IF_ERROR(eave_buffer_reserve(alloc_of(S), sl, bytes, "a scan input slice"));
  sl->bytes = bytes;
  for (uint64_t o = 0; o < outer; ++o)
    memcpy((uint8_t*)sl->data + o * inner, base + (o * len + (uint64_t)at) * inner, (size_t)inner);
  pass_buffer(sl, ref);
  return NULL;
}

/* Places element e of scan output k for batch entry b, step t, into its stack [B, T, ...],
 * zero-filled when the first element arrives. */
static eave_status place_batched(scan_ctx* x, uint32_t k, int64_t b, int64_t t) {
  eave_buffer* e = &x->sc->buffers[elem_buf(x, k)];
  eave_buffer* acc = &x->sc->buffers[stack_buf(x, k)];
  if (acc->rank == 0) {
    if (e->rank + 2 > EAVE_MAX_RANK)
      return EAVE_RUN_ERROR("scan output %u: rank-%u elements are too many dims to stack", k,
                            e->rank);
    acc->rank = e->rank + 2;
    acc->dims[0] = x->batch;
    acc->dims[1] = x->length;
    if (e->rank) memcpy(acc->dims + 2, e->dims, e->rank * sizeof(int64_t));
    EAVE_RETURN_IF_ERROR(zero_filled(x->S, acc, e->dtype));
  } else if (e->dtype != acc->dtype || e->rank + 2 != acc->rank ||
             (e->rank && memcmp(acc->dims + 2, e->dims, e->rank * sizeof(int64_t)))) {
    return EAVE_RUN_ERROR("scan output %u changes shape or dtype between iterations", k);
  }
  memcpy((uint8_t*)acc->data + (uint64_t)(b * x->length + t) * e->bytes, e->data,
         (size_t)e->bytes);
  return NULL;
}

/* Runs the body over one sequence: the whole scan, or batch entry b (opset 8) of length len.
 * Returns in *cur which side of the state buffers holds the final state. */
static eave_status scan_sequence(scan_ctx* x, int64_t b, int64_t len, int depth, int* cur_out) {
  eave_session* S = x->S;
  const eave_model* m = S->model;
  const eave_step* st = x->st;
  const eave_program* bp = &m->programs[x->body];
  eave_step_scratch* sc = x->sc;
  for (uint32_t i = 0; i < x->N; ++i)
    EAVE_RETURN_IF_ERROR(init_state(S, sc, i, (uint32_t)operand(m, st, 1 + i), b));
  int cur = 0;
  for (int64_t t = 0; t < len; ++t, cur = 1 - cur) {
    for (uint32_t i = 0; i < x->N; ++i)
      bind_state(S, sc, i, cur, (uint32_t)operand(m, st, 1 + i), &S->refs[bp->inputs + i],
                 &S->refs[bp->outputs + i]);
    for (uint32_t j = 0; j < x->M; ++j) {
      int64_t dir = attr_at(x->params, x->params_size,
                            x->batched ? "directions" : "scan_input_directions", j, 0);
      EAVE_RETURN_IF_ERROR(pass_slice(x, j, b, dir ? len - 1 - t : t, &S->refs[bp->inputs + x->N + j]));
    }
    for (uint32_t c = 0; c < x->C; ++c)
      eave_exec_pass_value(S, (uint32_t)operand(m, st, 1 + x->N + x->M + c),
                           &S->refs[bp->inputs + x->N + x->M + c]);
    for (uint32_t k = 0; k < x->K; ++k)
      output_to_buffer(&sc->buffers[elem_buf(x, k)], &S->refs[bp->outputs + x->N + k]);
    eave_status err = eave_exec_program(S, x->body, depth + 1);
    if (err)
      return x->batched ? eave_status_annotate(err, "SCAN entry %lld step %lld: ", (long long)b,
                                               (long long)t)
                        : eave_status_annotate(err, "SCAN step %lld: ", (long long)t);
    for (uint32_t k = 0; k < x->K; ++k)
      EAVE_RETURN_IF_ERROR(x->batched ? place_batched(x, k, b, t)
                                      : append_element(S, &sc->buffers[stack_buf(x, k)],
                                                       &sc->buffers[elem_buf(x, k)], t == 0,
                                                       "scan output", k));
  }
  *cur_out = cur;
  return NULL;
}

/* Writes the stack of scan output k (elements in iteration order along axis 0) into step
 * output v along axis `axis`, reversed if `reverse`. */
static eave_status scatter_output(scan_ctx* x, uint32_t k, int32_t v) {
  eave_session* S = x->S;
  const eave_model* m = S->model;
  if (v < 0) return NULL;
  eave_buffer* acc = &x->sc->buffers[stack_buf(x, k)];
  const eave_value* val = &m->values[v];
  int64_t axis = norm_axis(attr_at(x->params, x->params_size, "scan_output_axes", k, 0), val->rank);
  int64_t reverse = attr_at(x->params, x->params_size, "scan_output_directions", k, 0);
  if (x->length == 0) {
    declared_or_zero(S, (uint32_t)v, acc);
    acc->dims[axis] = 0;
    EAVE_RETURN_IF_ERROR(zero_filled(S, acc, val->dtype));
    return take_output(S, x->p, v, acc);
  }
  /* acc is [L, e0, e1, ...]; the output inserts L at `axis` of the element's dims. */
  int64_t dims[EAVE_MAX_RANK];
  uint64_t elem_bytes = acc->bytes / (uint64_t)x->length, outer = 1;
  for (uint32_t a = 0, r = 0; a < acc->rank; ++a) {
    if ((int64_t)a == axis) dims[a] = x->length;
    else dims[a] = acc->dims[1 + r++];
    if ((int64_t)a < axis) outer *= (uint64_t)dims[a];
  }
  if (acc->rank != val->rank)
    return EAVE_RUN_ERROR("scan output %u has rank %u, the model declares %u", k, acc->rank,
                          val->rank);
  if (axis == 0 && !reverse) {
    memcpy(acc->dims, dims, sizeof dims[0] * acc->rank);
    return take_output(S, x->p, v, acc);
  }
  EAVE_RETURN_IF_ERROR(eave_exec_shape_value(S, x->p, (uint32_t)v, acc->rank, dims));
  uint8_t* out = S->values[v].data;
  uint64_t inner = outer ? elem_bytes / outer : 0;
  for (int64_t t = 0; t < x->length; ++t) {
    uint64_t pos = (uint64_t)(reverse ? x->length - 1 - t : t);
    const uint8_t* e = (const uint8_t*)acc->data + (uint64_t)t * elem_bytes;
    for (uint64_t o = 0; o < outer; ++o)
      memcpy(out + (o * (uint64_t)x->length + pos) * inner, e + o * inner, (size_t)inner);
  }
  return NULL;
}

eave_status eave_run_scan(eave_session* S, uint32_t p, uint32_t step, int depth) {
  const eave_model* m = S->model;
  const eave_step* st = &m->steps[step];
  scan_ctx x = {S, p, step, st->programs[0], st, m->params + st->params, st->params_size};
  x.N = st->id;
  x.M = (uint32_t)eave_attr_int(x.params, x.params_size, "num_scan_inputs", 0);
  x.K = st->output_count - x.N;
  x.C = st->input_count - 1 - x.N - x.M; /* the counts were checked at load */
  x.batched = eave_attrs_opset(x.params, x.params_size) < 9;
  EAVE_RETURN_IF_ERROR(eave_exec_resolve_inputs(S, p, st));
  EAVE_RETURN_IF_ERROR(
      eave_exec_step_scratch(S, step, 3 * x.N + x.M + 2 * x.K, 2 * x.N, &x.sc));
  /* The scan length (and batch): the same along every scan input's axis. */
  x.length = -1;
  for (uint32_t j = 0; j < x.M; ++j) {
    uint32_t v = (uint32_t)operand(m, st, 1 + x.N + j);
    const int64_t* dims = S->dims + m->values[v].dims;
    int64_t axis = x.batched ? 1
                             : norm_axis(attr_at(x.params, x.params_size, "scan_input_axes", j, 0),
                                         m->values[v].rank);
    if (x.length >= 0 && (dims[axis] != x.length || (x.batched && dims[0] != x.batch)))
      return EAVE_RUN_ERROR("scan input %u ('%s') has length %lld, scan input 0 %lld", j,
                            eave_value_name(m, v), (long long)dims[axis], (long long)x.length);
    x.length = dims[axis];
    if (x.batched) x.batch = dims[0];
  }
  for (uint32_t k = 0; k < x.K; ++k) x.sc->buffers[stack_buf(&x, k)].rank = 0;
  if (!x.batched) {
    int cur = 0;
    EAVE_RETURN_IF_ERROR(scan_sequence(&x, -1, x.length, depth, &cur));
    for (uint32_t i = 0; i < x.N; ++i)
      EAVE_RETURN_IF_ERROR(eave_status_annotate(
          finish_state(S, p, x.sc, i, cur, operand(m, st, st->input_count + i)),
          "state %u: ", i));
    for (uint32_t k = 0; k < x.K; ++k)
      EAVE_RETURN_IF_ERROR(eave_status_annotate(
          scatter_output(&x, k, operand(m, st, st->input_count + x.N + k)), "scan output %u: ",
          k));
    return NULL;
  }
  /* Opset 8: each batch entry runs on its own for its length; the final states stack along a
   * batch axis, outputs are zero past an entry's length. */
  for (uint32_t i = 0; i < x.N; ++i) {
    int64_t b0 = S->dims[m->values[operand(m, st, 1 + i)].dims];
    if (b0 != x.batch)
      return EAVE_RUN_ERROR("state %u has batch %lld, the scan inputs %lld", i, (long long)b0,
                            (long long)x.batch);
  }
  int32_t lens_v = operand(m, st, 0);
  for (int64_t b = 0; b < x.batch; ++b) {
    int64_t len = x.length;
    if (lens_v >= 0) {
      const eave_value_state* lv = &S->values[lens_v];
      uint64_t esize = eave_dtype_size((eave_dtype)m->values[lens_v].dtype);
      if (lv->bytes != (uint64_t)x.batch * esize)
        return EAVE_RUN_ERROR("sequence_lens has %llu entries, the batch is %lld",
                              (unsigned long long)(lv->bytes / esize), (long long)x.batch);
      eave_exec_read_scalar(m->values[lens_v].dtype, (const uint8_t*)lv->data + (uint64_t)b * esize,
                            esize, &len);
      if (len < 0 || len > x.length)
        return EAVE_RUN_ERROR("sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b,
                              (long long)len, (long long)x.length);
    }
    int cur = 0;
    EAVE_RETURN_IF_ERROR(scan_sequence(&x, b, len, depth, &cur));
    for (uint32_t i = 0; i < x.N; ++i)
      EAVE_RETURN_IF_ERROR(append_element(S, &x.sc->buffers[final_buf(&x, i)],
                                          &x.sc->buffers[2 * i + cur], b == 0, "state", i));
  }
  for (uint32_t i = 0; i < x.N; ++i) {
    int32_t v = operand(m, st, st->input_count + i);
    eave_buffer* acc = &x.sc->buffers[final_buf(&x, i)];
    if (v < 0) continue;
    if (x.batch == 0) {
      declared_or_zero(S, (uint32_t)v, acc);
      EAVE_RETURN_IF_ERROR(zero_filled(S, acc, m->values[v].dtype));
    }
    EAVE_RETURN_IF_ERROR(eave_status_annotate(take_output(S, p, v, acc), "state %u: ", i));
  }
  for (uint32_t k = 0; k < x.K; ++k) {
    int32_t v = operand(m, st, st->input_count + x.N + k);
    eave_buffer* acc = &x.sc->buffers[stack_buf(&x, k)];
    if (v < 0) continue;
    if (acc->rank == 0) { /* no step ran: the declared shape, zeros */
      declared_or_zero(S, (uint32_t)v, acc);
      acc->dims[0] = x.batch;
      if (acc->rank > 1) acc->dims[1] = x.length;
      EAVE_RETURN_IF_ERROR(zero_filled(S, acc, m->values[v].dtype));
    }
    EAVE_RETURN_IF_ERROR(eave_status_annotate(take_output(S, p, v, acc), "scan output %u: ", k));
  }
  return NULL;
}

/* ---- SEQUENCE_MAP ------------------------------------------------------------------------- */

eave_status eave_run_sequence_map(eave_session* S, uint32_t p, uint32_t step, int depth) {
  const eave_model* m = S->model;
  const eave_step* st = &m->steps[step];
  uint32_t E = st->id, K = st->output_count;
  EAVE_RETURN_IF_ERROR(eave_exec_resolve_inputs(S, p, st));
  uint32_t body = st->programs[0];
  const eave_program* bp = &m->programs[body];
  const eave_list* seq = S->values[operand(m, st, 0)].list;
  uint32_t n = seq->count;
  for (uint32_t j = 1; j < E; ++j) {
    uint32_t v = (uint32_t)operand(m, st, j);
    if (eave_value_is_list(&m->values[v]) && S->values[v].list->count != n)
      return EAVE_RUN_ERROR("input sequence %u ('%s') has %u tensors, input 0 has %u", j,
                            eave_value_name(m, v), S->values[v].list->count, n);
  }
  eave_step_scratch* sc; /* lists for outputs the graph does not use */
  EAVE_RETURN_IF_ERROR(eave_exec_step_scratch(S, step, 0, K, &sc));
  for (uint32_t k = 0; k < K; ++k) {
    int32_t v = operand(m, st, st->input_count + k);
    eave_list* out = &sc->lists[k];
    if (v >= 0) {
      EAVE_RETURN_IF_ERROR(eave_exec_resolve(S, p, (uint32_t)v));
      out = S->values[v].list;
    }
    EAVE_RETURN_IF_ERROR(eave_list_resize(alloc_of(S), out, n));
    out->present = 1;
  }
  for (uint32_t i = 0; i < n; ++i) {
    for (uint32_t j = 0; j < st->input_count; ++j) {
      uint32_t v = (uint32_t)operand(m, st, j);
      eave_tensor_ref* ref = &S->refs[bp->inputs + j];
      if (j < E && eave_value_is_list(&m->values[v]))
        pass_buffer(&S->values[v].list->items[i], ref);
      else
        eave_exec_pass_value(S, v, ref);
    }
    for (uint32_t k = 0; k < K; ++k) {
      int32_t v = operand(m, st, st->input_count + k);
      eave_list* out = v >= 0 ? S->values[v].list : &sc->lists[k];
      output_to_buffer(&out->items[i], &S->refs[bp->outputs + k]);
    }
    eave_status err = eave_exec_program(S, body, depth + 1);
    if (err) return eave_status_annotate(err, "SEQUENCE_MAP element %u: ", i);
  }
  return NULL;
}
