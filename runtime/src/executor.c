/* The executor: runs a program's steps in order, computing symbols, placing values (arena,
 * heap, outputs, aliases) and dispatching kernels, builtins and nested programs. Everything a
 * run allocates is kept for the next one, so a run with shapes no larger than an earlier one
 * allocates nothing. */
#include <stdio.h>
#include <string.h>

#include "executor.h"

#include "builtins/builtin.h"
#include "expr.h"

#define MAX_NESTING 32

static const char* sym_name(const eave_model* m, uint32_t s) {
  return eave_model_string(m, m->symbols[s].name);
}

#define value_name eave_value_name

/* ---- Symbols --------------------------------------------------------------------------- */

static eave_status define_symbol(eave_session* S, uint32_t s, int64_t value) {
  const eave_symbol* sym = &S->model->symbols[s];
  if (value < sym->min || (sym->max != -1 && value > sym->max)) {
    char max[24] = "inf";
    if (sym->max != -1) snprintf(max, sizeof max, "%lld", (long long)sym->max);
    return EAVE_RUN_ERROR("symbol '%s' = %lld is outside its bounds [%lld, %s]",
                          sym_name(S->model, s), (long long)value, (long long)sym->min, max);
  }
  S->syms[s] = value;
  S->defined[s] = 1;
  return NULL;
}

/* Reads element `index` of an integer or bool tensor as int64 (any alignment). */
static int read_integer(uint32_t dtype, const void* data, int64_t index, int64_t* out) {
  size_t size = eave_dtype_size((eave_dtype)dtype);
  int is_signed = dtype == EAVE_DTYPE_I8 || dtype == EAVE_DTYPE_I16 || dtype == EAVE_DTYPE_I32 ||
                  dtype == EAVE_DTYPE_I64;
  int is_unsigned = dtype == EAVE_DTYPE_U8 || dtype == EAVE_DTYPE_U16 || dtype == EAVE_DTYPE_U32 ||
                    dtype == EAVE_DTYPE_U64 || dtype == EAVE_DTYPE_BOOL;
  if (!is_signed && !is_unsigned) return -1;
  uint64_t bits = 0;
  memcpy(&bits, (const uint8_t*)data + (size_t)index * size, size); /* little-endian host */
  if (is_signed && size < 8 && ((bits >> (8 * size - 1)) & 1)) bits |= ~0ull << (8 * size);
  *out = (int64_t)bits;
  return 0;
}

int eave_exec_read_scalar(uint32_t dtype, const void* data, uint64_t bytes, int64_t* out) {
  if (!data || bytes != eave_dtype_size((eave_dtype)dtype)) return -1;
  return read_integer(dtype, data, 0, out);
}

static eave_status resolve(eave_session* S, uint32_t p, uint32_t v);

/* LOAD in an expression: an element of an already computed integer value of the symbol's
 * program (an alias of one is placed on the way). */
static int expr_load(void* self, uint32_t v, int64_t index, int64_t* out, char* err,
                     size_t err_size) {
  eave_session* S = self;
  const eave_model* m = S->model;
  uint32_t root = v;
  while (m->values[root].storage == EAVE_STORAGE_ALIAS) root = m->values[root].index;
  eave_status st = S->values[root].ready ? resolve(S, m->values[v].program, v) : NULL;
  if (st || !S->values[v].ready) {
    snprintf(err, err_size, "LOAD of value '%s' before it is computed%s%s", value_name(m, v),
             st ? ": " : "", eave_status_get_message(st));
    eave_status_release(st);
    return -1;
  }
  const eave_value_state* vs = &S->values[v];
  uint32_t dtype = m->values[v].dtype;
  size_t esize = eave_dtype_size((eave_dtype)dtype);
  if (index < 0 || (uint64_t)index >= vs->bytes / esize) {
    snprintf(err, err_size, "LOAD index %lld out of range for value '%s' (%llu elements)",
             (long long)index, value_name(S->model, v), (unsigned long long)(vs->bytes / esize));
    return -1;
  }
  if (read_integer(dtype, vs->data, index, out) != 0) {
    snprintf(err, err_size, "LOAD of value '%s', which is not an integer tensor",
             value_name(S->model, v));
    return -1;
  }
  return 0;
}

static const char* expr_symbol_name(void* self, uint32_t s) {
  return sym_name(((eave_session*)self)->model, s);
}

static eave_status eval_expr_symbol(eave_session* S, uint32_t s) {
  const eave_symbol* sym = &S->model->symbols[s];
  eave_expr_env env = {S->syms, S->defined, expr_symbol_name, expr_load, S};
  char err[256];
  int64_t value;
  if (eave_expr_eval(S->model->code + sym->code, sym->code_size, &env, &value, err, sizeof err))
    return EAVE_RUN_ERROR("computing symbol '%s': %s", sym_name(S->model, s), err);
  return define_symbol(S, s, value);
}

int64_t eave_exec_dim_or(const eave_session* S, int64_t d, int64_t otherwise) {
  if (!EAVE_DIM_IS_SYMBOL(d)) return d;
  uint32_t s = EAVE_DIM_SYMBOL_INDEX(d);
  return S->defined[s] ? S->syms[s] : otherwise;
}

/* The value of a dim (constant or symbol), which must be known. */
static eave_status eval_dim(eave_session* S, int64_t d, int64_t* out) {
  if (!EAVE_DIM_IS_SYMBOL(d)) return *out = d, NULL;
  uint32_t s = EAVE_DIM_SYMBOL_INDEX(d);
  if (!S->defined[s])
    return EAVE_RUN_ERROR("symbol '%s' is used before it is known", sym_name(S->model, s));
  *out = S->syms[s];
  return NULL;
}

/* Evaluates value v's dims into S->dims and its byte size into values[v].bytes. */
static eave_status eval_shape(eave_session* S, uint32_t v) {
  const eave_value* val = &S->model->values[v];
  uint64_t bytes = eave_dtype_size((eave_dtype)val->dtype);
  for (uint32_t a = 0; a < val->rank; ++a) {
    int64_t d;
    eave_status st = eval_dim(S, S->model->dims[val->dims + a], &d);
    if (st) return eave_status_annotate(st, "shape of value '%s': ", value_name(S->model, v));
    if (d < 0)
      return EAVE_RUN_ERROR("value '%s' axis %u has negative size %lld", value_name(S->model, v), a,
                            (long long)d);
    if (d && bytes > (UINT64_MAX >> 2) / (uint64_t)d)
      return EAVE_RUN_ERROR("value '%s' is too large", value_name(S->model, v));
    bytes *= (uint64_t)d;
    S->dims[val->dims + a] = d;
  }
  S->values[v].bytes = bytes;
  return NULL;
}

/* ---- Placing values ---------------------------------------------------------------------- */

/* Places value v of program p (its dims must be computable now): outputs go to the slot's
 * buffer, heap values to their kept block, aliases into their base. */
static eave_status resolve_list(eave_session* S, uint32_t p, uint32_t v) {
  eave_value_state* vs = &S->values[v];
  const eave_model* m = S->model;
  const eave_value* val = &m->values[v];
  if (val->storage == EAVE_STORAGE_HEAP) {
    vs->list = &vs->own;
  } else if (val->storage == EAVE_STORAGE_OUTPUT) {
    vs->list = p == 0 ? &S->outputs[val->index].list
                      : S->refs[m->programs[p].outputs + val->index].list;
    if (!vs->list)
      return eave_make_status(EAVE_STATUS_INTERNAL, "output list '%s' has no slot",
                              value_name(m, v));
  } else {
    return eave_make_status(EAVE_STATUS_INTERNAL, "list '%s' was not placed", value_name(m, v));
  }
  vs->data = NULL;
  vs->bytes = 0;
  vs->ready = 1;
  return NULL;
}

eave_status eave_exec_resolve(eave_session* S, uint32_t p, uint32_t v) { return resolve(S, p, v); }

static eave_status resolve(eave_session* S, uint32_t p, uint32_t v) {
  eave_value_state* vs = &S->values[v];
  if (vs->ready) return NULL;
  const eave_model* m = S->model;
  const eave_value* val = &m->values[v];
  if (eave_value_is_list(val)) return resolve_list(S, p, v);
  EAVE_RETURN_IF_ERROR(eval_shape(S, v));
  switch (val->storage) {
    case EAVE_STORAGE_OUTPUT: {
      eave_tensor_ref* ref = &S->refs[m->programs[p].outputs + val->index];
      if (p != 0) { /* a nested program writes the buffer its step gave the slot */
        if (!ref->out)
          return eave_make_status(EAVE_STATUS_INTERNAL, "output '%s' has no slot",
                                  value_name(m, v));
        EAVE_RETURN_IF_ERROR(
            eave_buffer_reserve(&S->allocator, ref->out, vs->bytes, "a nested program output"));
        vs->data = ref->out->data;
      } else if (!ref->data) { /* session-owned output */
        eave_output_state* o = &S->outputs[val->index];
        EAVE_RETURN_IF_ERROR(
            eave_session_reserve(S, &o->owned, &o->owned_capacity, vs->bytes, "a model output"));
        vs->data = o->owned;
      } else if (vs->bytes > ref->bytes) {
        return EAVE_RUN_ERROR("output '%s' needs %llu bytes, but its buffer has %llu",
                              value_name(m, v), (unsigned long long)vs->bytes,
                              (unsigned long long)ref->bytes);
      } else {
        vs->data = ref->data;
      }
      break;
    }
    case EAVE_STORAGE_HEAP:
      EAVE_RETURN_IF_ERROR(
          eave_session_reserve(S, &vs->heap, &vs->heap_capacity, vs->bytes, "a heap value"));
      vs->data = vs->heap;
      break;
    case EAVE_STORAGE_ALIAS: {
      EAVE_RETURN_IF_ERROR(resolve(S, p, val->index));
      const eave_value_state* base = &S->values[val->index];
      if (val->offset > base->bytes || vs->bytes > base->bytes - val->offset)
        return EAVE_RUN_ERROR("alias '%s' (bytes %llu + %llu) overruns its base '%s' (%llu bytes)",
                              value_name(m, v), (unsigned long long)val->offset,
                              (unsigned long long)vs->bytes, value_name(m, val->index),
                              (unsigned long long)base->bytes);
      vs->data = (uint8_t*)base->data + val->offset;
      break;
    }
    default: /* ARENA, INPUT and WEIGHT values are placed when their program starts */
      return eave_make_status(EAVE_STATUS_INTERNAL, "value '%s' was not placed", value_name(m, v));
  }
  vs->ready = 1;
  return NULL;
}

/* Places program p's ARENA values, re-planning and growing the arena when a value no longer
 * fits the plan in use. */
static eave_status place_arena(eave_session* S, uint32_t p) {
  const eave_model* m = S->model;
  eave_range r = m->program_value_range[p];
  int replan = 0;
  for (uint32_t i = r.begin; i < r.end; ++i) {
    uint32_t v = m->program_values[i];
    if (m->values[v].storage != EAVE_STORAGE_ARENA) continue;
    EAVE_RETURN_IF_ERROR(eval_shape(S, v));
    replan |= S->values[v].bytes > S->plan_size[v];
  }
  eave_arena_state* arena = &S->arenas[p];
  if (replan) {
    uint32_t n = 0;
    for (uint32_t i = r.begin; i < r.end; ++i) {
      uint32_t v = m->program_values[i];
      if (m->values[v].storage != EAVE_STORAGE_ARENA) continue;
      /* Plan for the larger of this run and earlier ones, so plans only grow. A value no
       * step uses still gets its own bytes: an arena pointer is never out of bounds. */
      uint64_t bytes = S->values[v].bytes > S->plan_size[v] ? S->values[v].bytes : S->plan_size[v];
      int32_t first = m->values[v].first_step, last = m->values[v].last_step;
      if (first < 0) first = 0, last = INT32_MAX;
      S->plan_items[n++] = (eave_plan_item){bytes, first, last, 0};
    }
    if (eave_plan_arena(S->plan_items, n, EAVE_ARENA_ALIGNMENT, S->plan_scratch, &arena->planned))
      return EAVE_RUN_ERROR("the arena of program '%s' overflows",
                            eave_model_string(m, m->programs[p].name));
    n = 0;
    for (uint32_t i = r.begin; i < r.end; ++i) {
      uint32_t v = m->program_values[i];
      if (m->values[v].storage != EAVE_STORAGE_ARENA) continue;
      S->plan_offset[v] = S->plan_items[n].offset;
      S->plan_size[v] = S->plan_items[n++].size;
    }
  }
  if (arena->planned > arena->capacity || (!arena->base && arena->planned)) {
    void* base = arena->base;
    EAVE_RETURN_IF_ERROR(
        eave_session_reserve(S, &base, &arena->capacity, arena->planned, "the activation arena"));
    arena->base = base;
  }
  for (uint32_t i = r.begin; i < r.end; ++i) {
    uint32_t v = m->program_values[i];
    if (m->values[v].storage != EAVE_STORAGE_ARENA) continue;
    S->values[v].data = arena->base ? arena->base + S->plan_offset[v] : NULL;
    S->values[v].ready = 1;
  }
  return NULL;
}

/* Starts program p: binds its inputs from S->refs, defines the symbols they carry, checks
 * every input dim, computes the start-time symbols and places the arena. Returns in *cursor
 * where the step-time symbols begin in the schedule. */
static eave_status enter_program(eave_session* S, uint32_t p, uint32_t* cursor) {
  const eave_model* m = S->model;
  const eave_program* pr = &m->programs[p];
  eave_range r = m->program_value_range[p];
  for (uint32_t i = r.begin; i < r.end; ++i) {
    uint32_t v = m->program_values[i];
    if (m->values[v].storage != EAVE_STORAGE_WEIGHT) S->values[v].ready = 0;
  }
  /* The program's symbols live from here to its next start (each loop iteration). */
  eave_range owned = m->owned_symbol_range[p];
  for (uint32_t i = owned.begin; i < owned.end; ++i) S->defined[m->owned_symbols[i]] = 0;
  for (uint32_t i = 0; i < pr->input_count; ++i) {
    uint32_t v = m->lists[pr->inputs + i];
    const eave_value* val = &m->values[v];
    const eave_tensor_ref* ref = &S->refs[pr->inputs + i];
    if (eave_value_is_list(val) != (ref->list != NULL))
      return eave_make_status(EAVE_STATUS_INTERNAL, "input '%s' of program '%s' got a %s",
                              value_name(m, v), eave_model_string(m, pr->name),
                              ref->list ? "list" : "tensor");
    if (ref->list) {
      S->values[v].list = ref->list;
      S->values[v].data = NULL;
      S->values[v].bytes = 0;
      S->values[v].ready = 1;
      continue;
    }
    if (ref->dtype != val->dtype || ref->rank != val->rank)
      return EAVE_RUN_ERROR("input '%s' of program '%s' is %s rank %u, got %s rank %u",
                            eave_model_string(m, val->name), eave_model_string(m, pr->name),
                            eave_dtype_name((eave_dtype)val->dtype), val->rank,
                            eave_dtype_name((eave_dtype)ref->dtype), ref->rank);
  }
  eave_range sched = m->schedule_range[p];
  uint32_t k = sched.begin;
  for (; k < sched.end && m->symbols[m->schedule[k]].kind == EAVE_SYMBOL_INPUT; ++k) {
    const eave_symbol* sym = &m->symbols[m->schedule[k]];
    eave_status st =
        define_symbol(S, m->schedule[k], S->refs[pr->inputs + sym->input].dims[sym->axis]);
    if (st)
      return eave_status_annotate(
          st, "input '%s' axis %u: ", value_name(m, m->lists[pr->inputs + sym->input]), sym->axis);
  }
  for (; k < sched.end && m->symbols[m->schedule[k]].ready_step == -1; ++k)
    EAVE_RETURN_IF_ERROR(eval_expr_symbol(S, m->schedule[k]));
  *cursor = k;
  /* Every input dim must now agree with its constant or symbol. */
  for (uint32_t i = 0; i < pr->input_count; ++i) {
    uint32_t v = m->lists[pr->inputs + i];
    const eave_value* val = &m->values[v];
    const eave_tensor_ref* ref = &S->refs[pr->inputs + i];
    if (ref->list) continue;
    EAVE_RETURN_IF_ERROR(eval_shape(S, v));
    for (uint32_t a = 0; a < val->rank; ++a) {
      int64_t want = S->dims[val->dims + a], d = m->dims[val->dims + a];
      if (ref->dims[a] == want) continue;
      if (!EAVE_DIM_IS_SYMBOL(d))
        return EAVE_RUN_ERROR("input '%s' axis %u is %lld, expected %lld", value_name(m, v), a,
                              (long long)ref->dims[a], (long long)want);
      const eave_symbol* sym = &m->symbols[EAVE_DIM_SYMBOL_INDEX(d)];
      return EAVE_RUN_ERROR(
          "input '%s' axis %u is %lld, but symbol '%s' is %lld (set by input '%s' "
          "axis %u)",
          value_name(m, v), a, (long long)ref->dims[a], sym_name(m, EAVE_DIM_SYMBOL_INDEX(d)),
          (long long)want,
          sym->kind == EAVE_SYMBOL_INPUT
              ? value_name(m, m->lists[m->programs[sym->program].inputs + sym->input])
              : "(an expression)",
          sym->axis);
    }
    if (S->values[v].bytes > ref->bytes)
      return EAVE_RUN_ERROR("input '%s' needs %llu bytes, got %llu", value_name(m, v),
                            (unsigned long long)S->values[v].bytes, (unsigned long long)ref->bytes);
    S->values[v].data = ref->data;
    S->values[v].ready = 1;
  }
  return place_arena(S, p);
}

/* ---- Steps ------------------------------------------------------------------------------- */


typedef struct kernel_call {
  eave_kernel_fn fn;
  void* const* buffers;
  const int64_t* syms;
} kernel_call;

static void kernel_chunk(void* ctx, int64_t begin, int64_t end) {
  const kernel_call* c = ctx;
  c->fn(c->buffers, c->syms, begin, end);
}

static int32_t operand(const eave_model* m, const eave_step* st, uint32_t k) {
  return m->operands[st->operands + k];
}

/* Places every operand of a step; outputs too unless `inputs_only`. */
static eave_status resolve_operands(eave_session* S, uint32_t p, const eave_step* st,
                                    int inputs_only);

eave_status eave_exec_resolve_inputs(eave_session* S, uint32_t p, const eave_step* st) {
  return resolve_operands(S, p, st, 1);
}

static eave_status resolve_operands(eave_session* S, uint32_t p, const eave_step* st,
                                    int inputs_only) {
  uint32_t n = st->input_count + (inputs_only ? 0 : st->output_count);
  for (uint32_t k = 0; k < n; ++k) {
    int32_t v = operand(S->model, st, k);
    S->buffers[k] = NULL;
    if (v < 0) continue;
    EAVE_RETURN_IF_ERROR(resolve(S, p, (uint32_t)v));
    S->buffers[k] = S->values[v].data;
  }
  return NULL;
}

static eave_status run_kernel(eave_session* S, uint32_t p, const eave_step* st) {
  EAVE_RETURN_IF_ERROR(resolve_operands(S, p, st, 0));
  int64_t tiles;
  EAVE_RETURN_IF_ERROR(eval_dim(S, st->tiles, &tiles));
  kernel_call call = {S->model->kernels->fns[st->id], S->buffers, S->syms};
  eave_thread_pool_parallel_for(S->pool, tiles, kernel_chunk, &call);
  return NULL;
}

struct eave_builtin_ctx {
  eave_session* S;
  uint32_t program;
  const eave_step* step;
  uint32_t scratch_used; /* blocks handed out during this call */
};

const eave_model* eave_builtin_model(const eave_builtin_ctx* ctx) { return ctx->S->model; }
const eave_step* eave_builtin_step(const eave_builtin_ctx* ctx) { return ctx->step; }

static void fill_view(const eave_session* S, uint32_t v, eave_tensor_view* out) {
  const eave_value* val = &S->model->values[v];
  out->data = S->values[v].data;
  out->bytes = S->values[v].bytes;
  out->dtype = (eave_dtype)val->dtype;
  out->rank = val->rank;
  out->dims = S->dims + val->dims;
}

eave_status eave_builtin_input(eave_builtin_ctx* ctx, uint32_t k, eave_tensor_view* out) {
  memset(out, 0, sizeof *out);
  if (k >= ctx->step->input_count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for input %u of %u", k,
                            ctx->step->input_count);
  int32_t v = operand(ctx->S->model, ctx->step, k);
  if (v < 0) return NULL;
  if (eave_value_is_list(&ctx->S->model->values[v]))
    return EAVE_RUN_ERROR("input %u ('%s') is a sequence or optional, not a tensor", k,
                          value_name(ctx->S->model, (uint32_t)v));
  fill_view(ctx->S, (uint32_t)v, out);
  return NULL;
}

eave_status eave_builtin_output(eave_builtin_ctx* ctx, uint32_t k, eave_tensor_view* out) {
  memset(out, 0, sizeof *out);
  if (k >= ctx->step->output_count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for output %u of %u", k,
                            ctx->step->output_count);
  int32_t v = operand(ctx->S->model, ctx->step, ctx->step->input_count + k);
  if (v < 0) return NULL; /* the graph does not use this output */
  if (eave_value_is_list(&ctx->S->model->values[v]))
    return EAVE_RUN_ERROR("output %u ('%s') is a sequence or optional, not a tensor", k,
                          value_name(ctx->S->model, (uint32_t)v));
  EAVE_RETURN_IF_ERROR(resolve(ctx->S, ctx->program, (uint32_t)v));
  fill_view(ctx->S, (uint32_t)v, out);
  return NULL;
}

eave_status eave_exec_shape_value(eave_session* S, uint32_t p, uint32_t v, uint32_t rank,
                                  const int64_t* dims) {
  const eave_model* m = S->model;
  const eave_value* val = &m->values[v];
  if (eave_value_is_list(val) || val->rank != rank)
    return EAVE_RUN_ERROR("'%s' has rank %u here, but the model declares %u", value_name(m, v),
                          rank, val->rank);
  /* Define the RUNTIME symbols of this program that the dims name, then check every dim. */
  for (uint32_t a = 0; a < rank; ++a) {
    int64_t enc = m->dims[val->dims + a];
    if (!EAVE_DIM_IS_SYMBOL(enc)) continue;
    uint32_t s = EAVE_DIM_SYMBOL_INDEX(enc);
    if (!S->defined[s] && m->symbols[s].kind == EAVE_SYMBOL_RUNTIME && m->symbols[s].program == p)
      EAVE_RETURN_IF_ERROR(define_symbol(S, s, dims[a]));
  }
  EAVE_RETURN_IF_ERROR(resolve(S, p, v));
  for (uint32_t a = 0; a < rank; ++a)
    if (S->dims[val->dims + a] != dims[a])
      return EAVE_RUN_ERROR("'%s' axis %u is %lld here, but the model's shapes say %lld",
                            value_name(m, v), a, (long long)dims[a],
                            (long long)S->dims[val->dims + a]);
  return NULL;
}

eave_status eave_builtin_output_shaped(eave_builtin_ctx* ctx, uint32_t k, uint32_t rank,
                                       const int64_t* dims, eave_tensor_view* out) {
  memset(out, 0, sizeof *out);
  if (k >= ctx->step->output_count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for output %u of %u", k,
                            ctx->step->output_count);
  eave_session* S = ctx->S;
  int32_t v = operand(S->model, ctx->step, ctx->step->input_count + k);
  if (v < 0) return NULL; /* the graph does not use this output */
  EAVE_RETURN_IF_ERROR(eave_status_annotate(
      eave_exec_shape_value(S, ctx->program, (uint32_t)v, rank, dims), "output %u: ", k));
  fill_view(S, (uint32_t)v, out);
  return NULL;
}

eave_status eave_builtin_set_symbol(eave_builtin_ctx* ctx, uint32_t s, int64_t value) {
  const eave_model* m = ctx->S->model;
  if (s >= m->symbol_count || m->symbols[s].kind != EAVE_SYMBOL_RUNTIME ||
      m->symbols[s].program != ctx->program)
    return EAVE_RUN_ERROR("builtin set symbol %u, not a RUNTIME symbol of its program", s);
  return define_symbol(ctx->S, s, value);
}

/* ---- Lists for builtins -------------------------------------------------------------------- */

static eave_status list_operand(eave_builtin_ctx* ctx, uint32_t k, int32_t* v) {
  const eave_step* st = ctx->step;
  if (k >= st->input_count + st->output_count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for operand %u of %u", k,
                            st->input_count + st->output_count);
  *v = operand(ctx->S->model, st, k);
  if (*v >= 0 && !eave_value_is_list(&ctx->S->model->values[*v]))
    return EAVE_RUN_ERROR("operand %u ('%s') is a tensor, not a sequence or optional", k,
                          value_name(ctx->S->model, (uint32_t)*v));
  return NULL;
}

eave_status eave_builtin_input_list(eave_builtin_ctx* ctx, uint32_t k, const eave_list** out) {
  *out = NULL;
  int32_t v;
  if (k >= ctx->step->input_count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for input %u of %u", k,
                            ctx->step->input_count);
  EAVE_RETURN_IF_ERROR(list_operand(ctx, k, &v));
  if (v >= 0) *out = ctx->S->values[v].list;
  return NULL;
}

eave_status eave_builtin_output_list(eave_builtin_ctx* ctx, uint32_t k, eave_list** out) {
  *out = NULL;
  int32_t v;
  if (k >= ctx->step->output_count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for output %u of %u", k,
                            ctx->step->output_count);
  EAVE_RETURN_IF_ERROR(list_operand(ctx, ctx->step->input_count + k, &v));
  if (v < 0) return NULL;
  EAVE_RETURN_IF_ERROR(resolve(ctx->S, ctx->program, (uint32_t)v));
  *out = ctx->S->values[v].list;
  return NULL;
}

int eave_builtin_operand_kind(const eave_builtin_ctx* ctx, uint32_t k) {
  const eave_step* st = ctx->step;
  if (k >= st->input_count + st->output_count) return -1;
  int32_t v = operand(ctx->S->model, st, k);
  return v < 0 ? -1 : ctx->S->model->values[v].kind;
}

eave_status eave_builtin_list_resize(eave_builtin_ctx* ctx, eave_list* l, uint32_t count) {
  return eave_list_resize(&ctx->S->allocator, l, count);
}

eave_status eave_builtin_list_set(eave_builtin_ctx* ctx, eave_list* l, uint32_t i,
                                  eave_dtype dtype, uint32_t rank, const int64_t* dims,
                                  const void* data, void** out_data) {
  if (i >= l->count)
    return eave_make_status(EAVE_STATUS_INTERNAL, "list item %u of %u", i, l->count);
  EAVE_RETURN_IF_ERROR(eave_buffer_set(&ctx->S->allocator, &l->items[i], dtype, rank, dims, data));
  if (out_data) *out_data = l->items[i].data;
  return NULL;
}

eave_status eave_builtin_list_assign(eave_builtin_ctx* ctx, eave_list* dst, const eave_list* src) {
  if (dst == src) return NULL;
  return eave_list_assign(&ctx->S->allocator, dst, src);
}

eave_status eave_builtin_scratch(eave_builtin_ctx* ctx, uint64_t bytes, void** out) {
  *out = NULL;
  uint32_t i = ctx->scratch_used;
  if (i >= EAVE_BUILTIN_SCRATCH_BLOCKS)
    return eave_make_status(EAVE_STATUS_INTERNAL, "builtin asked for more than %d scratch blocks",
                            EAVE_BUILTIN_SCRATCH_BLOCKS);
  eave_session* S = ctx->S;
  EAVE_RETURN_IF_ERROR(eave_session_reserve(S, &S->builtin_scratch[i],
                                            &S->builtin_scratch_capacity[i], bytes,
                                            "builtin scratch"));
  ctx->scratch_used = i + 1;
  *out = S->builtin_scratch[i];
  return NULL;
}

eave_status eave_builtin_string(eave_builtin_ctx* ctx, const char* text, uint64_t len,
                                char** out) {
  eave_string_pool* sp = &ctx->S->strings;
  uint64_t need = len + 1;
  while (sp->used + need > sp->capacity[sp->current] || !sp->block[sp->current]) {
    uint32_t next = sp->block[sp->current] ? sp->current + 1 : sp->current;
    if (next >= EAVE_STRING_BLOCKS)
      return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory: strings of a run");
    /* A later block is unused this run: it may be replaced by a larger one. */
    uint64_t size = (uint64_t)4096 << (next < 20 ? next : 20);
    EAVE_RETURN_IF_ERROR(eave_session_reserve(ctx->S, &sp->block[next], &sp->capacity[next],
                                              need > size ? need : size, "strings"));
    sp->current = next;
    sp->used = 0;
  }
  char* s = (char*)sp->block[sp->current] + sp->used;
  sp->used += need;
  if (text && len) memcpy(s, text, (size_t)len);
  s[len] = 0;
  *out = s;
  return NULL;
}

static eave_status run_builtin(eave_session* S, uint32_t p, const eave_step* st) {
  EAVE_RETURN_IF_ERROR(resolve_operands(S, p, st, 1));
  eave_builtin_ctx ctx = {S, p, st, 0};
  const eave_builtin_desc* b = eave_builtin_find(st->id); /* checked at load */
  return eave_status_annotate(b->run(&ctx, S->model->params + st->params, st->params_size),
                              "builtin %s: ", b->name);
}

void eave_exec_pass_value(eave_session* S, uint32_t v, eave_tensor_ref* ref) {
  const eave_value* val = &S->model->values[v];
  const eave_value_state* vs = &S->values[v];
  *ref = (eave_tensor_ref){vs->data, vs->bytes, S->dims + val->dims, val->rank, val->dtype,
                           NULL, eave_value_is_list(val) ? vs->list : NULL};
}

eave_status eave_exec_step_scratch(eave_session* S, uint32_t step, uint32_t buffers,
                                   uint32_t lists, eave_step_scratch** out) {
  eave_step_scratch* sc = S->step_scratch[step];
  if (!sc) {
    size_t bytes = sizeof *sc + (size_t)buffers * sizeof(eave_buffer) +
                   (size_t)lists * sizeof(eave_list);
    sc = S->allocator.alloc(S->allocator.self, bytes, 64);
    if (!sc)
      return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY,
                              "out of memory: %zu bytes for a control-flow step", bytes);
    memset(sc, 0, bytes);
    sc->buffer_count = buffers;
    sc->list_count = lists;
    sc->buffers = (eave_buffer*)(sc + 1);
    sc->lists = (eave_list*)(sc->buffers + buffers);
    for (uint32_t i = 0; i < buffers; ++i) sc->buffers[i].owned = 1;
    S->step_scratch[step] = sc;
  }
  if (sc->buffer_count != buffers || sc->list_count != lists)
    return eave_make_status(EAVE_STATUS_INTERNAL, "step %u's scratch changed shape", step);
  *out = sc;
  return NULL;
}

/* Copies program p's outputs that were not written in place into their slots, and for a
 * nested program records the shape of each tensor in its slot's buffer. For program 0,
 * records the results. */
static eave_status finish_outputs(eave_session* S, uint32_t p) {
  const eave_model* m = S->model;
  const eave_program* pr = &m->programs[p];
  for (uint32_t i = 0; i < pr->output_count; ++i) {
    uint32_t v = m->lists[pr->outputs + i];
    const eave_value* val = &m->values[v];
    EAVE_RETURN_IF_ERROR(resolve(S, p, v));
    eave_value_state* vs = &S->values[v];
    eave_tensor_ref* slot = &S->refs[pr->outputs + i];
    if (eave_value_is_list(val)) {
      eave_list* dst = p == 0 ? &S->outputs[i].list : slot->list;
      if (!dst)
        return eave_make_status(EAVE_STATUS_INTERNAL, "output list %u has no slot", i);
      if (dst != vs->list) EAVE_RETURN_IF_ERROR(eave_list_assign(&S->allocator, dst, vs->list));
      continue;
    }
    if (p != 0) {
      eave_buffer* b = slot->out;
      if (!b) return eave_make_status(EAVE_STATUS_INTERNAL, "output %u has no slot", i);
      if (val->storage != EAVE_STORAGE_OUTPUT) {
        EAVE_RETURN_IF_ERROR(eave_status_annotate(
            eave_buffer_reserve(&S->allocator, b, vs->bytes, "the output"), "output %u ('%s'): ",
            i, value_name(m, v)));
        if (b->data != vs->data && vs->bytes) memmove(b->data, vs->data, (size_t)vs->bytes);
      }
      b->bytes = vs->bytes;
      b->dtype = val->dtype;
      b->rank = val->rank;
      if (val->rank) memcpy(b->dims, S->dims + val->dims, val->rank * sizeof(int64_t));
      continue;
    }
    void* dst = slot->data;
    if (!dst) {
      eave_output_state* o = &S->outputs[i];
      if (val->storage != EAVE_STORAGE_OUTPUT)
        EAVE_RETURN_IF_ERROR(
            eave_session_reserve(S, &o->owned, &o->owned_capacity, vs->bytes, "a model output"));
      dst = o->owned;
    } else if (vs->bytes > slot->bytes) {
      return EAVE_RUN_ERROR("output %u ('%s') has %llu bytes, but its buffer holds %llu", i,
                            value_name(m, v), (unsigned long long)vs->bytes,
                            (unsigned long long)slot->bytes);
    }
    if (dst != vs->data && vs->bytes) memmove(dst, vs->data, (size_t)vs->bytes);
    S->outputs[i].result =
        (eave_tensor_ref){dst, vs->bytes, S->dims + val->dims, val->rank, val->dtype, NULL, NULL};
  }
  return NULL;
}

static eave_status run_step(eave_session* S, uint32_t p, uint32_t step, int depth) {
  const eave_step* st = &S->model->steps[step];
  switch (st->kind) {
    case EAVE_STEP_KERNEL: return run_kernel(S, p, st);
    case EAVE_STEP_BUILTIN: return run_builtin(S, p, st);
    case EAVE_STEP_IF: return eave_run_if(S, p, step, depth);
    case EAVE_STEP_LOOP: return eave_run_loop(S, p, step, depth);
    case EAVE_STEP_SCAN: return eave_run_scan(S, p, step, depth);
    case EAVE_STEP_SEQUENCE_MAP: return eave_run_sequence_map(S, p, step, depth);
  }
  return eave_make_status(EAVE_STATUS_INTERNAL, "step kind %u", st->kind);
}

/* run_step with the profiling callback around it (only when one is set). */
static eave_status run_step_profiled(eave_session* S, uint32_t p, uint32_t k, uint32_t index,
                                     int depth) {
  static const char* const kinds[] = {"step", "kernel", "builtin", "if", "loop", "scan",
                                      "sequence_map"};
  const eave_step* step = &S->model->steps[index];
  const eave_builtin_desc* b =
      step->kind == EAVE_STEP_BUILTIN ? eave_builtin_find(step->id) : NULL;
  eave_step_event e = {EAVE_STEP_BEGIN,
                       (int32_t)p,
                       (int32_t)k,
                       depth,
                       eave_model_string(S->model, step->name),
                       kinds[step->kind < 7 ? step->kind : 0],
                       b ? b->name : NULL,
                       0};
  S->on_step(S->on_step_user_data, &e);
  eave_status st = run_step(S, p, index, depth);
  for (uint32_t i = 0; i < step->input_count + step->output_count; ++i) {
    int32_t v = operand(S->model, step, i);
    if (v >= 0 && S->values[v].ready) e.bytes += S->values[v].bytes;
  }
  e.phase = EAVE_STEP_END;
  S->on_step(S->on_step_user_data, &e);
  return st;
}

eave_status eave_exec_program(eave_session* S, uint32_t p, int depth) {
  if (depth > MAX_NESTING)
    return EAVE_RUN_ERROR("control flow nested deeper than %d programs", MAX_NESTING);
  const eave_model* m = S->model;
  const eave_program* pr = &m->programs[p];
  uint32_t cursor = 0;
  eave_status st = enter_program(S, p, &cursor);
  if (st) return eave_status_annotate(st, "program '%s': ", eave_model_string(m, pr->name));
  eave_range sched = m->schedule_range[p];
  for (uint32_t k = 0; k < pr->step_count; ++k) {
    const eave_step* step = &m->steps[pr->first_step + k];
    for (; !st && cursor < sched.end && m->symbols[m->schedule[cursor]].ready_step == (int32_t)k;
         ++cursor)
      st = eval_expr_symbol(S, m->schedule[cursor]);
    if (!st)
      st = S->on_step ? run_step_profiled(S, p, k, pr->first_step + k, depth)
                      : run_step(S, p, pr->first_step + k, depth);
    if (st)
      return eave_status_annotate(st, "program '%s' step %u '%s': ", eave_model_string(m, pr->name),
                                  k, eave_model_string(m, step->name));
  }
  return finish_outputs(S, p);
}

eave_status eave_session_run(eave_session* S) {
  if (!S) return eave_make_status(EAVE_STATUS_INVALID_ARGUMENT, "eave_session_run: null session");
  const eave_model* m = S->model;
  const eave_program* p0 = &m->programs[0];
  S->has_results = 0;
  for (uint32_t i = 0; i < p0->input_count; ++i) {
    if (!S->inputs[i].bound)
      return eave_make_status(EAVE_STATUS_FAILED_PRECONDITION, "input '%s' is not bound",
                              m->inputs[i].info.name);
    S->refs[p0->inputs + i] = S->inputs[i].ref;
  }
  for (uint32_t i = 0; i < p0->output_count; ++i)
    S->refs[p0->outputs + i] = (eave_tensor_ref){
        S->outputs[i].bound, S->outputs[i].bound_capacity, NULL, 0, 0, NULL, &S->outputs[i].list};
  memset(S->defined, 0, m->symbol_count);
  S->strings.current = 0;
  S->strings.used = 0;
  EAVE_RETURN_IF_ERROR(eave_exec_program(S, 0, 0));
  S->has_results = 1;
  return NULL;
}
