/* Static validation of the PROGRAM tables: every index in range, every string terminated,
 * every expression well-formed, every storage consistent with its program, so the executor
 * can index without checking again. The order matters: each pass relies on the ones before. */
#include <stdio.h>

#include "builtins/attrs.h"
#include "builtins/builtin.h"
#include "expr.h"
#include "model.h"

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

static eave_status check_value(const eave_model* m, uint32_t id) {
  const eave_value* v = &m->values[id];
  char label[160];
  value_label(m, id, label, sizeof label);
  if (!string_ok(m, v->name) || v->reserved0 || v->reserved1)
    return EAVE_INVALID("PROGRAM: value %u: bad name or reserved field", id);
  if (!eave_dtype_size((eave_dtype)v->dtype))
    return EAVE_INVALID("PROGRAM: %s: unknown dtype %u", label, v->dtype);
  if (v->rank > EAVE_MAX_RANK || !range_ok(v->dims, v->rank, m->dim_count))
    return EAVE_INVALID("PROGRAM: %s: rank %u or dims out of range", label, v->rank);
  if (v->program >= m->program_count)
    return EAVE_INVALID("PROGRAM: %s: program %u out of range", label, v->program);
  int all_constant = 1;
  for (uint32_t a = 0; a < v->rank; ++a) {
    int64_t d = m->dims[v->dims + a];
    if (EAVE_DIM_IS_SYMBOL(d) && EAVE_DIM_SYMBOL_INDEX(d) >= m->symbol_count)
      return EAVE_INVALID("PROGRAM: %s: dim %u names symbol %u of %u", label, a,
                          EAVE_DIM_SYMBOL_INDEX(d), m->symbol_count);
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
      if (v->index >= id || m->values[v->index].program != v->program)
        return EAVE_INVALID(
            "PROGRAM: %s: ALIAS of value %u, which is not an earlier value of "
            "the same program",
            label, v->index);
      return NULL;
  }
  return EAVE_INVALID("PROGRAM: %s: unknown storage kind %u", label, v->storage);
}

static const char* symbol_name(const eave_model* m, uint32_t s) {
  return eave_model_string(m, m->symbols[s].name);
}

static eave_status check_symbol(const eave_model* m, uint32_t s) {
  const eave_symbol* sym = &m->symbols[s];
  if (!string_ok(m, sym->name)) return EAVE_INVALID("PROGRAM: symbol %u: bad name", s);
  const char* name = symbol_name(m, s);
  if (sym->max != -1 && sym->min > sym->max)
    return EAVE_INVALID("PROGRAM: symbol %u '%s': bounds [%lld, %lld] are empty", s, name,
                        (long long)sym->min, (long long)sym->max);
  if (sym->kind == EAVE_SYMBOL_RUNTIME) return NULL;
  if (sym->program >= m->program_count)
    return EAVE_INVALID("PROGRAM: symbol %u '%s': program out of range", s, name);
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
  if (sym->kind != EAVE_SYMBOL_EXPR)
    return EAVE_INVALID("PROGRAM: symbol %u '%s': unknown kind %u", s, name, sym->kind);
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
    if (in.op == EAVE_EXPR_LOAD && m->values[in.imm].program != sym->program)
      return EAVE_INVALID("PROGRAM: symbol %u '%s': LOAD of value %lld of another program", s, name,
                          (long long)in.imm);
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

/* A nested program of a control-flow step: later in the table (so there is no recursion),
 * with the inputs and outputs the step passes. */
static eave_status check_nested(const eave_model* m, uint32_t p, uint32_t s, uint32_t nested,
                                uint32_t inputs, uint32_t outputs) {
  if (nested <= p || nested >= m->program_count)
    return EAVE_INVALID("PROGRAM: step %u: nested program %u must come after program %u", s, nested,
                        p);
  const eave_program* np = &m->programs[nested];
  if (np->input_count != inputs || np->output_count != outputs)
    return EAVE_INVALID(
        "PROGRAM: step %u: nested program %u takes %u inputs and gives %u "
        "outputs; the step passes %u and expects %u",
        s, nested, np->input_count, np->output_count, inputs, outputs);
  return NULL;
}

static eave_status check_step(const eave_model* m, uint32_t p, uint32_t s) {
  const eave_step* st = &m->steps[s];
  uint32_t n = st->input_count + st->output_count;
  if (!string_ok(m, st->name) || st->input_count > 65536 || st->output_count > 65536 ||
      !range_ok(st->operands, n, m->operand_count))
    return EAVE_INVALID("PROGRAM: step %u: name or operands out of range", s);
  const char* name = eave_model_string(m, st->name);
  for (uint32_t k = 0; k < n; ++k) {
    int32_t v = m->operands[st->operands + k];
    int is_output = k >= st->input_count;
    /* Absent: an optional input, or an output of a builtin the graph does not use. */
    if (v == -1 && (!is_output || st->kind == EAVE_STEP_BUILTIN)) continue;
    if (v < 0 || (uint32_t)v >= m->value_count || m->values[v].program != p)
      return EAVE_INVALID("PROGRAM: step %u '%s': operand %u is not a value of program %u", s, name,
                          k, p);
    if (is_output && read_only(m, (uint32_t)v))
      return EAVE_INVALID(
          "PROGRAM: step %u '%s': output %u would write into a weight or an "
          "input",
          s, name, k - st->input_count);
  }
  switch (st->kind) {
    case EAVE_STEP_KERNEL:
      if (EAVE_DIM_IS_SYMBOL(st->tiles) && EAVE_DIM_SYMBOL_INDEX(st->tiles) >= m->symbol_count)
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
      if (st->input_count < 1 || m->operands[st->operands] < 0)
        return EAVE_INVALID("PROGRAM: step %u '%s': IF needs a condition", s, name);
      EAVE_RETURN_IF_ERROR(
          check_nested(m, p, s, st->programs[0], st->input_count - 1, st->output_count));
      return check_nested(m, p, s, st->programs[1], st->input_count - 1, st->output_count);
    case EAVE_STEP_LOOP:
      if (st->input_count < 2 || st->output_count != st->input_count - 2)
        return EAVE_INVALID(
            "PROGRAM: step %u '%s': LOOP takes [max_trip, cond, v...] and "
            "gives [v...] (scan outputs are not supported)",
            s, name);
      return check_nested(m, p, s, st->programs[0], st->input_count, st->output_count + 1);
    case EAVE_STEP_SCAN:
      return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                              "PROGRAM: step %u '%s': SCAN steps are not supported by this "
                              "runtime",
                              s, name);
  }
  return EAVE_INVALID("PROGRAM: step %u '%s': unknown kind %u", s, name, st->kind);
}

eave_status eave_program_check(const eave_model* m) {
  EAVE_RETURN_IF_ERROR(check_programs(m));
  for (uint32_t v = 0; v < m->value_count; ++v) EAVE_RETURN_IF_ERROR(check_value(m, v));
  EAVE_RETURN_IF_ERROR(check_lists(m));
  for (uint32_t s = 0; s < m->symbol_count; ++s) EAVE_RETURN_IF_ERROR(check_symbol(m, s));
  for (uint32_t v = 0; v < m->value_count; ++v)
    if (m->values[v].storage == EAVE_STORAGE_ARENA) EAVE_RETURN_IF_ERROR(check_arena_dims(m, v));
  for (uint32_t p = 0; p < m->program_count; ++p) {
    const eave_program* pr = &m->programs[p];
    for (uint32_t s = pr->first_step; s < pr->first_step + pr->step_count; ++s)
      EAVE_RETURN_IF_ERROR(check_step(m, p, s));
  }
  return NULL;
}

eave_status eave_program_check_kernels(const eave_model* m) {
  for (uint32_t s = 0; s < m->step_count; ++s)
    if (m->steps[s].kind == EAVE_STEP_KERNEL && m->steps[s].id >= m->kernels->count)
      return EAVE_INVALID("PROGRAM: step %u '%s': kernel %u, but CODE has %u kernels", s,
                          eave_model_string(m, m->steps[s].name), m->steps[s].id,
                          m->kernels->count);
  return NULL;
}
