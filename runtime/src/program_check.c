/* Static validation of the PROGRAM tables: every index in range, every string terminated,
 * every expression well-formed, every storage consistent with its program, so the executor
 * can index without checking again. The order matters: each pass relies on the ones before. */
#include <stdio.h>

#include "builtins/attrs.h"
#include "builtins/builtin.h"
#include "expr.h"
#include "model.h"

/* The program enclosing each program (UINT32_MAX for program 0), from the control-flow steps
 * that name them; valid once check_nesting has passed. */
typedef struct nesting {
  uint32_t* parent;
} nesting;

/* Is program a, or one enclosing it, program `outer`? */
static int encloses(const nesting* n, uint32_t outer, uint32_t a) {
  for (; a != UINT32_MAX; a = n->parent[a])
    if (a == outer) return 1;
  return 0;
}

static int is_list(const eave_value* v) { return v->kind != EAVE_VALUE_TENSOR; }

/* "value 7 'x'" for messages. */
static const char* value_label(const eave_model* m, uint32_t v, char* buf, size_t n) {
  snprintf(buf, n, "value %u '%s'", v, eave_model_string(m, m->values[v].name));
  return buf;
}

static int string_ok(const eave_model* m, uint32_t ref) { return ref < m->strings_size; }

/* A range [first, first + count) inside a table of `size` entries. */
static int range_ok(uint32_t first, uint32_t count, uint32_t size) {
  return first <= size && count <= size - first;
}

static eave_status check_programs(const eave_model* m) {
  for (uint32_t p = 0; p < m->program_count; ++p) {
    const eave_program* pr = &m->programs[p];
    if (!string_ok(m, pr->name) || !range_ok(pr->first_step, pr->step_count, m->step_count) ||
        !range_ok(pr->inputs, pr->input_count, m->list_count) ||
        !range_ok(pr->outputs, pr->output_count, m->list_count) || pr->reserved)
      return EAVE_INVALID("PROGRAM: program %u: steps, inputs or outputs out of range", p);
  }
  return NULL;
}

/* A live range inside the program's steps, or none (-1, -1). */
static int live_range_ok(const eave_value* v, const eave_program* pr) {
  if (v->first_step == -1 && v->last_step == -1) return 1;
  return v->first_step >= 0 && v->first_step <= v->last_step &&
         (uint32_t)v->last_step < pr->step_count;
}

static eave_status check_value(const eave_model* m, const nesting* n, uint32_t id) {
  const eave_value* v = &m->values[id];
  char label[160];
  value_label(m, id, label, sizeof label);
  if (!string_ok(m, v->name) || v->reserved1)
    return EAVE_INVALID("PROGRAM: value %u: bad name or reserved field", id);
  if (!eave_dtype_size((eave_dtype)v->dtype))
    return EAVE_INVALID("PROGRAM: %s: unknown dtype %u", label, v->dtype);
  if (v->rank > EAVE_MAX_RANK || !range_ok(v->dims, v->rank, m->dim_count))
    return EAVE_INVALID("PROGRAM: %s: rank %u or dims out of range", label, v->rank);
  if (v->program >= m->program_count)
    return EAVE_INVALID("PROGRAM: %s: program %u out of range", label, v->program);
  if (v->kind > EAVE_VALUE_OPTIONAL_SEQUENCE)
    return EAVE_INVALID("PROGRAM: %s: unknown value kind %u", label, v->kind);
  if (is_list(v) && (v->rank || (v->storage != EAVE_STORAGE_HEAP &&
                                 v->storage != EAVE_STORAGE_INPUT &&
                                 v->storage != EAVE_STORAGE_OUTPUT)))
    return EAVE_INVALID("PROGRAM: %s: a sequence or optional has rank 0 and HEAP, INPUT or "
                        "OUTPUT storage",
                        label);
  int all_constant = 1;
  for (uint32_t a = 0; a < v->rank; ++a) {
    int64_t d = m->dims[v->dims + a];
    if (EAVE_DIM_IS_SYMBOL(d) && EAVE_DIM_SYMBOL_INDEX(d) >= m->symbol_count)
      return EAVE_INVALID("PROGRAM: %s: dim %u names symbol %u of %u", label, a,
                          EAVE_DIM_SYMBOL_INDEX(d), m->symbol_count);
    /* A symbol lives while its program runs: only that program and those it encloses see it. */
    if (EAVE_DIM_IS_SYMBOL(d) &&
        !encloses(n, m->symbols[EAVE_DIM_SYMBOL_INDEX(d)].program, v->program))
      return EAVE_INVALID("PROGRAM: %s: dim %u names symbol '%s' of program %u, which does not "
                          "enclose program %u",
                          label, a, eave_model_string(m, m->symbols[EAVE_DIM_SYMBOL_INDEX(d)].name),
                          m->symbols[EAVE_DIM_SYMBOL_INDEX(d)].program, v->program);
    all_constant &= !EAVE_DIM_IS_SYMBOL(d);
  }
  const eave_program* pr = &m->programs[v->program];
  switch (v->storage) {
    case EAVE_STORAGE_ARENA:
      if (v->offset % EAVE_ARENA_ALIGNMENT || v->offset > pr->arena_size ||
          v->size > pr->arena_size - v->offset || !live_range_ok(v, pr))
        return EAVE_INVALID(
            "PROGRAM: %s: ARENA offset %llu + size %llu (or live range) outside "
            "program %u's arena of %llu bytes",
            label, (unsigned long long)v->offset, (unsigned long long)v->size, v->program,
            (unsigned long long)pr->arena_size);
      return NULL;
    case EAVE_STORAGE_WEIGHT: {
      uint64_t bytes = eave_dtype_size((eave_dtype)v->dtype);
      for (uint32_t a = 0; a < v->rank && all_constant; ++a) {
        uint64_t d = (uint64_t)m->dims[v->dims + a];
        bytes = (d && bytes > UINT64_MAX / d) ? UINT64_MAX : bytes * d;
      }
      if (!all_constant || bytes != v->size)
        return EAVE_INVALID("PROGRAM: %s: WEIGHT needs constant dims and size %llu to match them",
                            label, (unsigned long long)v->size);
      if (v->offset % EAVE_WEIGHT_ALIGNMENT || v->offset > m->weights_size ||
          v->size > m->weights_size - v->offset)
        return EAVE_INVALID(
            "PROGRAM: %s: WEIGHT offset %llu + size %llu outside WEIGHTS (%llu "
            "bytes) or misaligned",
            label, (unsigned long long)v->offset, (unsigned long long)v->size,
            (unsigned long long)m->weights_size);
      return NULL;
    }
    case EAVE_STORAGE_INPUT:
      if (v->index >= pr->input_count || m->lists[pr->inputs + v->index] != id)
        return EAVE_INVALID("PROGRAM: %s: not input %u of program %u", label, v->index, v->program);
      return NULL;
    case EAVE_STORAGE_OUTPUT:
      if (v->index >= pr->output_count || m->lists[pr->outputs + v->index] != id)
        return EAVE_INVALID("PROGRAM: %s: not output %u of program %u", label, v->index,
                            v->program);
      return NULL;
    case EAVE_STORAGE_HEAP:
      if (!live_range_ok(v, pr)) return EAVE_INVALID("PROGRAM: %s: bad live range", label);
      return NULL;
    case EAVE_STORAGE_ALIAS:
      /* Bases come first, so alias chains end. */
      if (v->offset % eave_dtype_size((eave_dtype)v->dtype))
        return EAVE_INVALID(
            "PROGRAM: %s: ALIAS byte offset %llu is not a multiple of its element "
            "size",
            label, (unsigned long long)v->offset);
      if (v->index >= id || m->values[v->index].program != v->program ||
          is_list(&m->values[v->index]))
        return EAVE_INVALID(
            "PROGRAM: %s: ALIAS of value %u, which is not an earlier tensor of "
            "the same program",
            label, v->index);
      return NULL;
  }
  return EAVE_INVALID("PROGRAM: %s: unknown storage kind %u", label, v->storage);
}

static const char* symbol_name(const eave_model* m, uint32_t s) {
  return eave_model_string(m, m->symbols[s].name);
}

/* What every later check relies on: a name, bounds, a known kind, a program. */
static eave_status check_symbol_header(const eave_model* m, uint32_t s) {
  const eave_symbol* sym = &m->symbols[s];
  if (!string_ok(m, sym->name)) return EAVE_INVALID("PROGRAM: symbol %u: bad name", s);
  const char* name = symbol_name(m, s);
  if (sym->max != -1 && sym->min > sym->max)
    return EAVE_INVALID("PROGRAM: symbol %u '%s': bounds [%lld, %lld] are empty", s, name,
                        (long long)sym->min, (long long)sym->max);
  if (sym->kind != EAVE_SYMBOL_INPUT && sym->kind != EAVE_SYMBOL_EXPR &&
      sym->kind != EAVE_SYMBOL_RUNTIME)
    return EAVE_INVALID("PROGRAM: symbol %u '%s': unknown kind %u", s, name, sym->kind);
  if (sym->program >= m->program_count)
    return EAVE_INVALID("PROGRAM: symbol %u '%s': program out of range", s, name);
  return NULL;
}

static eave_status check_symbol(const eave_model* m, const nesting* n, uint32_t s) {
  const eave_symbol* sym = &m->symbols[s];
  const char* name = symbol_name(m, s);
  if (sym->kind == EAVE_SYMBOL_RUNTIME) return NULL;
  const eave_program* pr = &m->programs[sym->program];
  if (sym->kind == EAVE_SYMBOL_INPUT) {
    if (sym->input >= pr->input_count)
      return EAVE_INVALID("PROGRAM: symbol %u '%s': input %u out of range", s, name, sym->input);
    const eave_value* v = &m->values[m->lists[pr->inputs + sym->input]];
    if (sym->axis >= v->rank || m->dims[v->dims + sym->axis] != EAVE_DIM_SYMBOL(s))
      return EAVE_INVALID(
          "PROGRAM: symbol %u '%s': input %u axis %u does not have this symbol "
          "as its dim",
          s, name, sym->input, sym->axis);
    return NULL;
  }
  if (sym->ready_step < -1 || sym->ready_step >= (int64_t)pr->step_count ||
      !range_ok(sym->code, sym->code_size, m->code_size))
    return EAVE_INVALID("PROGRAM: symbol %u '%s': ready_step or code out of range", s, name);
  const char* err =
      eave_expr_check(m->code + sym->code, sym->code_size, m->symbol_count, m->value_count, NULL);
  if (err) return EAVE_INVALID("PROGRAM: symbol %u '%s': bad expression: %s", s, name, err);
  /* LOAD reads a value of the symbol's own program, whose placement is current whenever the
   * program runs (another program's values may hold pointers from an earlier run). */
  for (size_t pos = 0; pos < sym->code_size;) {
    eave_expr_insn in;
    eave_expr_decode(m->code + sym->code, sym->code_size, &pos, &in);
    if (in.op == EAVE_EXPR_LOAD &&
        (m->values[in.imm].program != sym->program || is_list(&m->values[in.imm])))
      return EAVE_INVALID("PROGRAM: symbol %u '%s': LOAD of value %lld, not a tensor of its "
                          "program",
                          s, name, (long long)in.imm);
    if (in.op == EAVE_EXPR_SYM && !encloses(n, m->symbols[in.imm].program, sym->program))
      return EAVE_INVALID("PROGRAM: symbol %u '%s': reads symbol %lld of a program that does "
                          "not enclose program %u",
                          s, name, (long long)in.imm, sym->program);
  }
  return NULL;
}

/* Can the arena be planned when the program starts? Its dims may use INPUT symbols and EXPR
 * symbols computed at program start without LOAD; a RUNTIME or late symbol means the value
 * must be HEAP. */
static eave_status check_arena_dims(const eave_model* m, uint32_t id) {
  const eave_value* v = &m->values[id];
  for (uint32_t a = 0; a < v->rank; ++a) {
    int64_t d = m->dims[v->dims + a];
    if (!EAVE_DIM_IS_SYMBOL(d)) continue;
    uint32_t s = EAVE_DIM_SYMBOL_INDEX(d);
    const eave_symbol* sym = &m->symbols[s];
    int uses_load = 0;
    if (sym->kind == EAVE_SYMBOL_EXPR)
      eave_expr_check(m->code + sym->code, sym->code_size, m->symbol_count, m->value_count,
                      &uses_load);
    int early = sym->kind == EAVE_SYMBOL_INPUT ||
                (sym->kind == EAVE_SYMBOL_EXPR && sym->ready_step == -1 && !uses_load);
    if (!early) {
      char label[160];
      return EAVE_INVALID(
          "PROGRAM: %s: ARENA dims use symbol '%s', which is not known when "
          "its program starts (make the value HEAP)",
          value_label(m, id, label, sizeof label), symbol_name(m, s));
    }
  }
  return NULL;
}

static eave_status check_lists(const eave_model* m) {
  for (uint32_t p = 0; p < m->program_count; ++p) {
    const eave_program* pr = &m->programs[p];
    for (uint32_t i = 0; i < pr->input_count; ++i) {
      uint32_t v = m->lists[pr->inputs + i];
      if (v >= m->value_count || m->values[v].program != p ||
          m->values[v].storage != EAVE_STORAGE_INPUT || m->values[v].index != i)
        return EAVE_INVALID("PROGRAM: program %u input %u is not an INPUT value of it", p, i);
    }
    for (uint32_t i = 0; i < pr->output_count; ++i) {
      uint32_t v = m->lists[pr->outputs + i];
      if (v >= m->value_count || m->values[v].program != p)
        return EAVE_INVALID("PROGRAM: program %u output %u is not a value of it", p, i);
      if (m->values[v].storage == EAVE_STORAGE_OUTPUT && m->values[v].index != i)
        return EAVE_INVALID("PROGRAM: program %u output %u is OUTPUT storage of slot %u", p, i,
                            m->values[v].index);
    }
  }
  return NULL;
}

/* Could writing to value v write into a weight or a caller's input? */
static int read_only(const eave_model* m, uint32_t v) {
  while (m->values[v].storage == EAVE_STORAGE_ALIAS) v = m->values[v].index;
  return m->values[v].storage == EAVE_STORAGE_WEIGHT || m->values[v].storage == EAVE_STORAGE_INPUT;
}

/* Records which step names each nested program: every nested program comes after the
 * program of its step (so there is no recursion) and is named by exactly one step. */
static eave_status check_nesting(const eave_model* m, nesting* n) {
  for (uint32_t p = 0; p < m->program_count; ++p) n->parent[p] = UINT32_MAX;
  for (uint32_t p = 0; p < m->program_count; ++p) {
    const eave_program* pr = &m->programs[p];
    for (uint32_t s = pr->first_step; s < pr->first_step + pr->step_count; ++s) {
      const eave_step* st = &m->steps[s];
      uint32_t count = st->kind == EAVE_STEP_IF ? 2
                       : st->kind == EAVE_STEP_LOOP || st->kind == EAVE_STEP_SCAN ||
                               st->kind == EAVE_STEP_SEQUENCE_MAP
                           ? 1
                           : 0;
      for (uint32_t k = 0; k < count; ++k) {
        uint32_t q = st->programs[k];
        if (q <= p || q >= m->program_count)
          return EAVE_INVALID("PROGRAM: step %u: nested program %u must come after program %u", s,
                              q, p);
        if (n->parent[q] != UINT32_MAX)
          return EAVE_INVALID("PROGRAM: step %u: nested program %u is already run by another "
                              "step",
                              s, q);
        n->parent[q] = p;
      }
    }
  }
  for (uint32_t p = 1; p < m->program_count; ++p)
    if (n->parent[p] == UINT32_MAX)
      return EAVE_INVALID("PROGRAM: program %u is not run by any step", p);
  return NULL;
}

/* Sequences and optional sequences are the same list (an optional one may be empty), and ONNX
 * passes one where the other is declared (a loop body taking an optional sequence and giving a
 * sequence). */
static int same_kind(uint32_t a, uint32_t b) {
  int seq_a = a == EAVE_VALUE_SEQUENCE || a == EAVE_VALUE_OPTIONAL_SEQUENCE;
  int seq_b = b == EAVE_VALUE_SEQUENCE || b == EAVE_VALUE_OPTIONAL_SEQUENCE;
  return a == b || (seq_a && seq_b);
}

/* Does the value passed (a step operand) fit the slot it fills (a nested program's input or
 * output value)? The same kind and dtype; for tensors the operand has `extra` more axes
 * (stacked or batched). */
static int fits(const eave_model* m, uint32_t operand_value, uint32_t slot_value, uint32_t extra) {
  const eave_value* a = &m->values[operand_value];
  const eave_value* b = &m->values[slot_value];
  if (!same_kind(a->kind, b->kind) || a->dtype != b->dtype) return 0;
  return is_list(a) ? extra == 0 : a->rank == b->rank + extra;
}

typedef struct step_view {
  const eave_model* m;
  const eave_step* st;
  uint32_t s;
  const char* name;
} step_view;

static int32_t opnd(const step_view* v, uint32_t k) { return v->m->operands[v->st->operands + k]; }
static int32_t out_opnd(const step_view* v, uint32_t k) {
  return v->m->operands[v->st->operands + v->st->input_count + k];
}
static uint32_t in_slot(const eave_model* m, uint32_t p, uint32_t i) {
  return m->lists[m->programs[p].inputs + i];
}
static uint32_t out_slot(const eave_model* m, uint32_t p, uint32_t i) {
  return m->lists[m->programs[p].outputs + i];
}

/* Operand k passes (must be present and fit) nested input i. */
static eave_status pass_in(const step_view* v, uint32_t k, uint32_t np, uint32_t i,
                           uint32_t extra) {
  int32_t a = opnd(v, k);
  if (a < 0 || !fits(v->m, (uint32_t)a, in_slot(v->m, np, i), extra))
    return EAVE_INVALID("PROGRAM: step %u '%s': operand %u does not fit input %u of program %u "
                        "(kind, dtype or rank)",
                        v->s, v->name, k, i, np);
  return NULL;
}

/* Nested output i lands in step output k (if used). */
static eave_status pass_out(const step_view* v, uint32_t np, uint32_t i, uint32_t k,
                            uint32_t extra) {
  int32_t a = out_opnd(v, k);
  if (a >= 0 && !fits(v->m, (uint32_t)a, out_slot(v->m, np, i), extra))
    return EAVE_INVALID("PROGRAM: step %u '%s': output %u of program %u does not fit output %u "
                        "(kind, dtype or rank)",
                        v->s, v->name, i, np, k);
  return NULL;
}

static int is_scalar_tensor(const eave_value* v, uint32_t dtype) {
  return !is_list(v) && v->rank == 0 && v->dtype == dtype;
}

static eave_status counts(const step_view* v, uint32_t np, uint32_t inputs, uint32_t outputs) {
  const eave_program* pr = &v->m->programs[np];
  if (pr->input_count != inputs || pr->output_count != outputs)
    return EAVE_INVALID(
        "PROGRAM: step %u '%s': nested program %u takes %u inputs and gives %u "
        "outputs; the step passes %u and expects %u",
        v->s, v->name, np, pr->input_count, pr->output_count, inputs, outputs);
  return NULL;
}

static eave_status check_if(const step_view* v) {
  const eave_model* m = v->m;
  const eave_step* st = v->st;
  if (st->input_count < 1 || opnd(v, 0) < 0 || is_list(&m->values[opnd(v, 0)]))
    return EAVE_INVALID("PROGRAM: step %u '%s': IF needs a condition tensor", v->s, v->name);
  uint32_t tp = st->programs[0], ep = st->programs[1];
  uint32_t tn = m->programs[tp].input_count;
  if (tn > st->input_count - 1)
    return EAVE_INVALID("PROGRAM: step %u '%s': the then branch takes %u inputs of %u", v->s,
                        v->name, tn, st->input_count - 1);
  EAVE_RETURN_IF_ERROR(counts(v, tp, tn, st->output_count));
  EAVE_RETURN_IF_ERROR(counts(v, ep, st->input_count - 1 - tn, st->output_count));
  for (uint32_t i = 0; i < tn; ++i) EAVE_RETURN_IF_ERROR(pass_in(v, 1 + i, tp, i, 0));
  for (uint32_t i = 0; i + 1 + tn < st->input_count; ++i)
    EAVE_RETURN_IF_ERROR(pass_in(v, 1 + tn + i, ep, i, 0));
  for (uint32_t k = 0; k < st->output_count; ++k) {
    EAVE_RETURN_IF_ERROR(pass_out(v, tp, k, k, 0));
    EAVE_RETURN_IF_ERROR(pass_out(v, ep, k, k, 0));
    if (is_list(&m->values[out_slot(m, tp, k)]) != is_list(&m->values[out_slot(m, ep, k)]))
      return EAVE_INVALID("PROGRAM: step %u '%s': the branches' output %u differ in kind", v->s,
                          v->name, k);
  }
  return NULL;
}

static eave_status check_loop(const step_view* v) {
  const eave_model* m = v->m;
  const eave_step* st = v->st;
  uint32_t N = st->id, body = st->programs[0];
  if (st->input_count < 2 || N > st->input_count - 2 || N > st->output_count)
    return EAVE_INVALID("PROGRAM: step %u '%s': LOOP with %u loop-carried values takes [max_trip, "
                        "cond, v...] and gives [v..., scan...]",
                        v->s, v->name, N);
  for (uint32_t k = 0; k < 2; ++k)
    if (opnd(v, k) >= 0 && is_list(&m->values[opnd(v, k)]))
      return EAVE_INVALID("PROGRAM: step %u '%s': LOOP's trip count and condition are tensors",
                          v->s, v->name);
  EAVE_RETURN_IF_ERROR(counts(v, body, st->input_count, st->output_count + 1));
  /* The body's condition output is read as one element when each iteration ends. */
  const eave_value* cond_out = &m->values[out_slot(m, body, 0)];
  if (!is_scalar_tensor(&m->values[in_slot(m, body, 0)], EAVE_DTYPE_I64) ||
      !is_scalar_tensor(&m->values[in_slot(m, body, 1)], EAVE_DTYPE_BOOL) || is_list(cond_out) ||
      cond_out->dtype != EAVE_DTYPE_BOOL)
    return EAVE_INVALID("PROGRAM: step %u '%s': the body takes iter (i64) and cond (bool) "
                        "scalars and gives a bool condition first",
                        v->s, v->name);
  for (uint32_t i = 0; i < N; ++i) {
    EAVE_RETURN_IF_ERROR(pass_in(v, 2 + i, body, 2 + i, 0));
    if (!fits(m, out_slot(m, body, 1 + i), in_slot(m, body, 2 + i), 0))
      return EAVE_INVALID("PROGRAM: step %u '%s': loop-carried value %u changes kind, dtype or "
                          "rank in the body",
                          v->s, v->name, i);
    EAVE_RETURN_IF_ERROR(pass_out(v, body, 1 + i, i, 0));
  }
  for (uint32_t j = 2 + N; j < st->input_count; ++j) EAVE_RETURN_IF_ERROR(pass_in(v, j, body, j, 0));
  for (uint32_t k = N; k < st->output_count; ++k) {
    if (is_list(&m->values[out_slot(m, body, 1 + k)]))
      return EAVE_INVALID("PROGRAM: step %u '%s': scan output %u must be a tensor", v->s, v->name,
                          k - N);
    EAVE_RETURN_IF_ERROR(pass_out(v, body, 1 + k, k, 1));
  }
  return NULL;
}

/* INTS attribute `name` of a SCAN, if present: n entries in [lo, hi] (hi < lo: no range). */
static eave_status check_ints(const step_view* v, const uint8_t* blob, uint32_t size,
                              const char* name, uint32_t n) {
  eave_attr a;
  if (!eave_attrs_find(blob, size, name, &a)) return NULL;
  if (a.kind != EAVE_ATTR_INTS || a.n != n)
    return EAVE_INVALID("PROGRAM: step %u '%s': SCAN attribute %s must list %u integers", v->s,
                        v->name, name, n);
  return NULL;
}

/* Entry i of a checked INTS attribute, or 0. */
static int64_t ints_at(const uint8_t* blob, uint32_t size, const char* name, uint32_t i) {
  eave_attr a;
  return eave_attrs_find(blob, size, name, &a) && a.kind == EAVE_ATTR_INTS && i < a.n
             ? eave_attr_ints_at(&a, i)
             : 0;
}

static eave_status check_scan(const step_view* v) {
  const eave_model* m = v->m;
  const eave_step* st = v->st;
  const uint8_t* blob = m->params + st->params;
  uint32_t size = st->params_size;
  if (!size)
    return EAVE_INVALID("PROGRAM: step %u '%s': SCAN needs its attributes", v->s, v->name);
  EAVE_RETURN_IF_ERROR(eave_status_annotate(eave_attrs_check(blob, size),
                                            "PROGRAM: step %u '%s': ", v->s, v->name));
  eave_attr a;
  if (!eave_attrs_find(blob, size, "num_scan_inputs", &a) || a.kind != EAVE_ATTR_INT || a.i < 1 ||
      a.i > 65536)
    return EAVE_INVALID("PROGRAM: step %u '%s': SCAN needs num_scan_inputs >= 1", v->s, v->name);
  uint32_t N = st->id, M = (uint32_t)a.i, body = st->programs[0];
  int batched = eave_attrs_opset(blob, size) < 9;
  if (st->input_count < 1 || N > st->input_count - 1 || M > st->input_count - 1 - N ||
      N > st->output_count)
    return EAVE_INVALID("PROGRAM: step %u '%s': SCAN with %u state values and %u scan inputs "
                        "does not fit its %u inputs and %u outputs",
                        v->s, v->name, N, M, st->input_count, st->output_count);
  uint32_t K = st->output_count - N, extra = batched ? 1 : 0;
  EAVE_RETURN_IF_ERROR(counts(v, body, st->input_count - 1, st->output_count));
  int32_t lens = opnd(v, 0);
  if (lens >= 0 && (!batched || is_list(&m->values[lens]) || m->values[lens].rank != 1 ||
                    (m->values[lens].dtype != EAVE_DTYPE_I32 &&
                     m->values[lens].dtype != EAVE_DTYPE_I64)))
    return EAVE_INVALID("PROGRAM: step %u '%s': sequence_lens is an i32/i64 vector of the "
                        "opset-8 form only",
                        v->s, v->name);
  for (uint32_t i = 0; i < N; ++i) {
    EAVE_RETURN_IF_ERROR(pass_in(v, 1 + i, body, i, extra));
    if (batched && is_list(&m->values[in_slot(m, body, i)]))
      return EAVE_INVALID("PROGRAM: step %u '%s': opset-8 SCAN states are tensors", v->s, v->name);
    if (!fits(m, out_slot(m, body, i), in_slot(m, body, i), 0))
      return EAVE_INVALID("PROGRAM: step %u '%s': state %u changes kind, dtype or rank in the "
                          "body",
                          v->s, v->name, i);
    EAVE_RETURN_IF_ERROR(pass_out(v, body, i, i, extra));
  }
  const char* in_dirs = batched ? "directions" : "scan_input_directions";
  EAVE_RETURN_IF_ERROR(check_ints(v, blob, size, "scan_input_axes", M));
  EAVE_RETURN_IF_ERROR(check_ints(v, blob, size, in_dirs, M));
  EAVE_RETURN_IF_ERROR(check_ints(v, blob, size, "scan_output_axes", K));
  EAVE_RETURN_IF_ERROR(check_ints(v, blob, size, "scan_output_directions", K));
  if (batched && (eave_attrs_find(blob, size, "scan_input_axes", &a) ||
                  eave_attrs_find(blob, size, "scan_output_axes", &a)))
    return EAVE_INVALID("PROGRAM: step %u '%s': opset-8 SCAN has no axes", v->s, v->name);
  for (uint32_t j = 0; j < M; ++j) {
    int32_t x = opnd(v, 1 + N + j);
    if (x < 0 || is_list(&m->values[x]))
      return EAVE_INVALID("PROGRAM: step %u '%s': scan input %u must be a tensor", v->s, v->name,
                          j);
    EAVE_RETURN_IF_ERROR(pass_in(v, 1 + N + j, body, N + j, 1 + extra));
    int64_t r = m->values[x].rank, axis = ints_at(blob, size, "scan_input_axes", j);
    int64_t dir = ints_at(blob, size, in_dirs, j);
    if (axis < -r || axis >= r || (dir != 0 && dir != 1))
      return EAVE_INVALID("PROGRAM: step %u '%s': scan input %u: axis %lld or direction %lld out "
                          "of range",
                          v->s, v->name, j, (long long)axis, (long long)dir);
  }
  for (uint32_t j = 1 + N + M; j < st->input_count; ++j)
    EAVE_RETURN_IF_ERROR(pass_in(v, j, body, j - 1, 0));
  for (uint32_t k = 0; k < K; ++k) {
    const eave_value* e = &m->values[out_slot(m, body, N + k)];
    if (is_list(e))
      return EAVE_INVALID("PROGRAM: step %u '%s': scan output %u must be a tensor", v->s, v->name,
                          k);
    EAVE_RETURN_IF_ERROR(pass_out(v, body, N + k, N + k, 1 + extra));
    int64_t r = e->rank + 1, axis = ints_at(blob, size, "scan_output_axes", k);
    int64_t dir = ints_at(blob, size, "scan_output_directions", k);
    if (axis < -r || axis >= r || (dir != 0 && dir != 1))
      return EAVE_INVALID("PROGRAM: step %u '%s': scan output %u: axis %lld or direction %lld "
                          "out of range",
                          v->s, v->name, k, (long long)axis, (long long)dir);
  }
  return NULL;
}

static eave_status check_sequence_map(const step_view* v) {
  const eave_model* m = v->m;
  const eave_step* st = v->st;
  uint32_t E = st->id, body = st->programs[0];
  if (E < 1 || E > st->input_count || opnd(v, 0) < 0 ||
      m->values[opnd(v, 0)].kind != EAVE_VALUE_SEQUENCE)
    return EAVE_INVALID("PROGRAM: step %u '%s': SEQUENCE_MAP takes a sequence first", v->s,
                        v->name);
  EAVE_RETURN_IF_ERROR(counts(v, body, st->input_count, st->output_count));
  for (uint32_t j = 0; j < st->input_count; ++j) {
    int32_t a = opnd(v, j);
    if (a < 0)
      return EAVE_INVALID("PROGRAM: step %u '%s': SEQUENCE_MAP operand %u is absent", v->s,
                          v->name, j);
    const eave_value* in = &m->values[in_slot(m, body, j)];
    if (j < E && m->values[a].kind == EAVE_VALUE_SEQUENCE) {
      if (is_list(in) || in->dtype != m->values[a].dtype)
        return EAVE_INVALID("PROGRAM: step %u '%s': input %u of the body takes an element of "
                            "sequence operand %u",
                            v->s, v->name, j, j);
    } else {
      EAVE_RETURN_IF_ERROR(pass_in(v, j, body, j, 0));
    }
  }
  for (uint32_t k = 0; k < st->output_count; ++k) {
    const eave_value* e = &m->values[out_slot(m, body, k)];
    int32_t a = out_opnd(v, k);
    if (is_list(e) || (a >= 0 && (m->values[a].kind != EAVE_VALUE_SEQUENCE ||
                                  m->values[a].dtype != e->dtype)))
      return EAVE_INVALID("PROGRAM: step %u '%s': output %u is a sequence of the body's tensor "
                          "output %u",
                          v->s, v->name, k, k);
  }
  return NULL;
}

static eave_status check_step(const eave_model* m, const nesting* n, uint32_t p, uint32_t s) {
  const eave_step* st = &m->steps[s];
  uint32_t count = st->input_count + st->output_count;
  if (!string_ok(m, st->name) || st->input_count > 65536 || st->output_count > 65536 ||
      !range_ok(st->operands, count, m->operand_count))
    return EAVE_INVALID("PROGRAM: step %u: name or operands out of range", s);
  const char* name = eave_model_string(m, st->name);
  int control = st->kind == EAVE_STEP_IF || st->kind == EAVE_STEP_LOOP ||
                st->kind == EAVE_STEP_SCAN || st->kind == EAVE_STEP_SEQUENCE_MAP;
  for (uint32_t k = 0; k < count; ++k) {
    int32_t v = m->operands[st->operands + k];
    int is_output = k >= st->input_count;
    /* Absent: an optional input, or an output the graph does not use (builtins and control
     * flow; the control-flow checks say which inputs may be absent). */
    if (v == -1 && (!is_output || st->kind == EAVE_STEP_BUILTIN || control)) continue;
    if (v < 0 || (uint32_t)v >= m->value_count || m->values[v].program != p)
      return EAVE_INVALID("PROGRAM: step %u '%s': operand %u is not a value of program %u", s, name,
                          k, p);
    if (is_output && read_only(m, (uint32_t)v))
      return EAVE_INVALID(
          "PROGRAM: step %u '%s': output %u would write into a weight or an "
          "input",
          s, name, k - st->input_count);
    if (st->kind == EAVE_STEP_KERNEL && is_list(&m->values[v]))
      return EAVE_INVALID("PROGRAM: step %u '%s': a kernel's operand %u is a sequence or optional",
                          s, name, k);
  }
  if (!control && (st->programs[0] || st->programs[1]))
    return EAVE_INVALID("PROGRAM: step %u '%s': only control-flow steps name programs", s, name);
  step_view view = {m, st, s, name};
  switch (st->kind) {
    case EAVE_STEP_KERNEL:
      if (EAVE_DIM_IS_SYMBOL(st->tiles) &&
          (EAVE_DIM_SYMBOL_INDEX(st->tiles) >= m->symbol_count ||
           !encloses(n, m->symbols[EAVE_DIM_SYMBOL_INDEX(st->tiles)].program, p)))
        return EAVE_INVALID("PROGRAM: step %u '%s': tile count names a bad symbol", s, name);
      return NULL; /* the kernel index is checked once the code is loaded */
    case EAVE_STEP_BUILTIN: {
      const eave_builtin_desc* b = eave_builtin_find(st->id);
      if (!b) return EAVE_INVALID("PROGRAM: step %u '%s': unknown builtin %u", s, name, st->id);
      if (st->params % 8 || !range_ok(st->params, st->params_size, m->params_size))
        return EAVE_INVALID("PROGRAM: step %u '%s': params out of range", s, name);
      /* Builtin parameters are attribute blobs (builtins/attrs.h), or empty. */
      if (st->params_size)
        EAVE_RETURN_IF_ERROR(eave_status_annotate(
            eave_attrs_check(m->params + st->params, st->params_size),
            "PROGRAM: step %u '%s': ", s, name));
      return eave_status_annotate(b->check(m, st, m->params + st->params),
                                  "PROGRAM: step %u '%s': ", s, name);
    }
    case EAVE_STEP_IF:
      if (st->id || st->params_size)
        return EAVE_INVALID("PROGRAM: step %u '%s': IF has no id or params", s, name);
      return check_if(&view);
    case EAVE_STEP_LOOP:
      if (st->params_size)
        return EAVE_INVALID("PROGRAM: step %u '%s': LOOP has no params", s, name);
      return check_loop(&view);
    case EAVE_STEP_SCAN:
      if (st->params % 8 || !range_ok(st->params, st->params_size, m->params_size))
        return EAVE_INVALID("PROGRAM: step %u '%s': params out of range", s, name);
      return check_scan(&view);
    case EAVE_STEP_SEQUENCE_MAP:
      if (st->params_size)
        return EAVE_INVALID("PROGRAM: step %u '%s': SEQUENCE_MAP has no params", s, name);
      return check_sequence_map(&view);
  }
  return EAVE_INVALID("PROGRAM: step %u '%s': unknown kind %u", s, name, st->kind);
}

static eave_status check_all(const eave_model* m, nesting* n) {
  EAVE_RETURN_IF_ERROR(check_programs(m));
  for (uint32_t s = 0; s < m->symbol_count; ++s) EAVE_RETURN_IF_ERROR(check_symbol_header(m, s));
  EAVE_RETURN_IF_ERROR(check_nesting(m, n));
  for (uint32_t v = 0; v < m->value_count; ++v) EAVE_RETURN_IF_ERROR(check_value(m, n, v));
  EAVE_RETURN_IF_ERROR(check_lists(m));
  for (uint32_t s = 0; s < m->symbol_count; ++s) EAVE_RETURN_IF_ERROR(check_symbol(m, n, s));
  for (uint32_t v = 0; v < m->value_count; ++v)
    if (m->values[v].storage == EAVE_STORAGE_ARENA) EAVE_RETURN_IF_ERROR(check_arena_dims(m, v));
  for (uint32_t p = 0; p < m->program_count; ++p) {
    const eave_program* pr = &m->programs[p];
    for (uint32_t s = pr->first_step; s < pr->first_step + pr->step_count; ++s)
      EAVE_RETURN_IF_ERROR(check_step(m, n, p, s));
  }
  return NULL;
}

eave_status eave_program_check(const eave_model* m) {
  nesting n;
  n.parent = m->allocator.alloc(m->allocator.self, (m->program_count + 1) * sizeof(uint32_t), 8);
  if (!n.parent) return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory loading");
  eave_status st = check_all(m, &n);
  m->allocator.free(m->allocator.self, n.parent);
  return st;
}

eave_status eave_program_check_kernels(const eave_model* m) {
  for (uint32_t s = 0; s < m->step_count; ++s)
    if (m->steps[s].kind == EAVE_STEP_KERNEL && m->steps[s].id >= m->kernels->count)
      return EAVE_INVALID("PROGRAM: step %u '%s': kernel %u, but CODE has %u kernels", s,
                          eave_model_string(m, m->steps[s].name), m->steps[s].id,
                          m->kernels->count);
  return NULL;
}
