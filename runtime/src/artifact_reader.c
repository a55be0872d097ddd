/* Validation of an artifact's container: header, section table, checksums, STRINGS, TARGET
 * and the PROGRAM table of tables; then the tables the executor derives from the program.
 * The order matters: nothing is read through an offset before that offset is checked. */
#include <string.h>

#include "cpu_features.h"
#include "model.h"

static const char* section_name(uint32_t kind) {
  switch (kind) {
    case EAVE_SECTION_STRINGS: return "STRINGS";
    case EAVE_SECTION_TARGET: return "TARGET";
    case EAVE_SECTION_PROGRAM: return "PROGRAM";
    case EAVE_SECTION_CODE: return "CODE";
    case EAVE_SECTION_WEIGHTS: return "WEIGHTS";
  }
  return "unknown";
}

static int is_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return 0;
  return 1;
}

static eave_status check_header(const uint8_t* bytes, size_t size, eave_file_header* h) {
  if (size < sizeof *h)
    return EAVE_INVALID("artifact truncated: %zu bytes is less than the %zu-byte header", size,
                        sizeof *h);
  memcpy(h, bytes, sizeof *h);
  if (memcmp(h->magic, EAVE_FORMAT_MAGIC, 8) != 0)
    return EAVE_INVALID("not an eave artifact (bad magic in header)");
  if (h->format_version != EAVE_FORMAT_VERSION)
    return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                            "artifact format version %u; this runtime reads version %u",
                            h->format_version, EAVE_FORMAT_VERSION);
  if (h->header_size != sizeof *h || h->flags != 0 || !is_zero(h->reserved, sizeof h->reserved))
    return EAVE_INVALID("header: bad header_size, flags or reserved bytes");
  if (h->file_size > size)
    return EAVE_INVALID("artifact truncated: header.file_size is %llu bytes, got %zu",
                        (unsigned long long)h->file_size, size);
  if (h->section_count > EAVE_MAX_SECTIONS || h->section_table_offset % 8 ||
      h->section_table_offset < sizeof *h || h->section_table_offset > h->file_size ||
      h->section_count * sizeof(eave_section_entry) > h->file_size - h->section_table_offset)
    return EAVE_INVALID("header: section table (offset %llu, %u entries) out of bounds",
                        (unsigned long long)h->section_table_offset, h->section_count);
  /* The checksum covers the header with its checksum field as zero, then the table. */
  uint8_t buf[sizeof(eave_file_header) + EAVE_MAX_SECTIONS * sizeof(eave_section_entry)];
  size_t table_bytes = h->section_count * sizeof(eave_section_entry);
  memcpy(buf, bytes, sizeof *h);
  memset(buf + offsetof(eave_file_header, checksum), 0, sizeof h->checksum);
  memcpy(buf + sizeof *h, bytes + h->section_table_offset, table_bytes);
  if (eave_artifact_hash(buf, sizeof *h + table_bytes) != h->checksum)
    return EAVE_INVALID("header: checksum mismatch (header or section table corrupt)");
  return NULL;
}

typedef struct sections {
  const eave_section_entry* by_kind[EAVE_SECTION_WEIGHTS + 1];
  eave_section_entry entries[EAVE_MAX_SECTIONS];
} sections;

static eave_status check_sections(const uint8_t* bytes, const eave_file_header* h,
                                  int verify_weights, sections* s) {
  memset(s, 0, sizeof *s);
  memcpy(s->entries, bytes + h->section_table_offset, h->section_count * sizeof s->entries[0]);
  for (uint32_t i = 0; i < h->section_count; ++i) {
    const eave_section_entry* e = &s->entries[i];
    const char* name = section_name(e->kind);
    if (e->offset > h->file_size || e->size > h->file_size - e->offset)
      return EAVE_INVALID("section %u (%s): offset %llu + size %llu is past the end of the file", i,
                          name, (unsigned long long)e->offset, (unsigned long long)e->size);
    int known = e->kind >= EAVE_SECTION_STRINGS && e->kind <= EAVE_SECTION_WEIGHTS;
    if (!known) {
      if (e->flags & EAVE_SECTION_FLAG_OPTIONAL) continue;
      return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                              "section %u has unknown kind %u and is not optional", i, e->kind);
    }
    if (s->by_kind[e->kind]) return EAVE_INVALID("section %s appears twice", name);
    uint64_t align = e->kind == EAVE_SECTION_WEIGHTS   ? EAVE_WEIGHTS_ALIGNMENT
                     : e->kind == EAVE_SECTION_STRINGS ? 1
                                                       : 8;
    if (e->offset % align)
      return EAVE_INVALID("section %s: offset %llu is not %llu-aligned", name,
                          (unsigned long long)e->offset, (unsigned long long)align);
    if ((e->kind != EAVE_SECTION_WEIGHTS || verify_weights) &&
        eave_artifact_hash(bytes + e->offset, (size_t)e->size) != e->checksum)
      return EAVE_INVALID("section %s: checksum mismatch (corrupt data)", name);
    s->by_kind[e->kind] = e;
  }
  if (!s->by_kind[EAVE_SECTION_STRINGS] || !s->by_kind[EAVE_SECTION_TARGET] ||
      !s->by_kind[EAVE_SECTION_PROGRAM])
    return EAVE_INVALID("missing a required section (STRINGS, TARGET and PROGRAM are required)");
  return NULL;
}

static eave_status check_strings(eave_model* m, const eave_section_entry* e) {
  m->strings = (const char*)m->bytes + e->offset;
  m->strings_size = (size_t)e->size;
  /* Byte 0 and the last byte are NUL, so every offset below the size starts a terminated
   * string. */
  if (e->size == 0 || m->strings[0] != 0 || m->strings[e->size - 1] != 0)
    return EAVE_INVALID("section STRINGS must start and end with a NUL byte");
  return NULL;
}

static eave_status check_target(eave_model* m, const eave_section_entry* e) {
  eave_target_section t;
  if (e->size < sizeof t) return EAVE_INVALID("section TARGET: truncated");
  memcpy(&t, m->bytes + e->offset, sizeof t);
  if (t.feature_count > 256 || e->size < sizeof t + 4ull * t.feature_count)
    return EAVE_INVALID("section TARGET: %u features do not fit in %llu bytes", t.feature_count,
                        (unsigned long long)e->size);
  if (t.triple >= m->strings_size || t.cpu >= m->strings_size)
    return EAVE_INVALID("section TARGET: triple or cpu string out of range");
  m->target = t;
  m->target_features = m->bytes + e->offset + sizeof t;
  if (m->inspect_only) {
    for (uint32_t i = 0; i < t.feature_count; ++i) {
      uint32_t ref;
      memcpy(&ref, m->target_features + 4 * i, 4);
      if (ref >= m->strings_size)
        return EAVE_INVALID("section TARGET: feature %u string out of range", i);
    }
    m->arch = (eave_arch)t.arch;
    return NULL;
  }
  eave_cpu_info cpu;
  eave_cpu_detect(&cpu);
  if (t.arch != (uint32_t)cpu.arch)
    return eave_make_status(
        EAVE_STATUS_UNSUPPORTED, "artifact is compiled for %s (%s), but this CPU is %s",
        eave_arch_name(t.arch), eave_model_string(m, t.triple), eave_arch_name(cpu.arch));
  m->arch = (eave_arch)t.arch;
  const uint8_t* list = m->bytes + e->offset + sizeof t;
  for (uint32_t i = 0; i < t.feature_count; ++i) {
    uint32_t ref;
    memcpy(&ref, list + 4 * i, 4);
    if (ref >= m->strings_size)
      return EAVE_INVALID("section TARGET: feature %u string out of range", i);
    const char* name = m->strings + ref;
    int f = eave_cpu_feature_find(m->arch, name);
    if (f < 0)
      return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                              "artifact requires CPU feature '%s', which this runtime does not "
                              "know for %s",
                              name, eave_arch_name(m->arch));
    if (!cpu.has[f])
      return eave_make_status(EAVE_STATUS_UNSUPPORTED,
                              "artifact requires CPU feature '%s' (cpu '%s'), which this CPU "
                              "does not have",
                              name, eave_model_string(m, t.cpu));
  }
  return NULL;
}

/* Entry sizes of the PROGRAM tables, in eave_table_kind order. */
static const uint32_t table_entry_size[EAVE_TABLE_COUNT] = {sizeof(eave_symbol),
                                                            sizeof(eave_value),
                                                            8,
                                                            sizeof(eave_step),
                                                            4,
                                                            sizeof(eave_program),
                                                            4,
                                                            1,
                                                            1};
static const char* const table_name[EAVE_TABLE_COUNT] = {
    "SYMBOLS", "VALUES", "DIMS", "STEPS", "OPERANDS", "PROGRAMS", "LISTS", "CODE", "PARAMS"};

static eave_status check_program_tables(eave_model* m, const eave_section_entry* e) {
  eave_program_section ps;
  if (e->size < sizeof ps || e->size > UINT32_MAX)
    return EAVE_INVALID("section PROGRAM: size %llu out of range", (unsigned long long)e->size);
  const uint8_t* base = m->bytes + e->offset;
  memcpy(&ps, base, sizeof ps);
  if (ps.table_count != EAVE_TABLE_COUNT || ps.reserved)
    return EAVE_INVALID("section PROGRAM: table_count %u, expected %u", ps.table_count,
                        EAVE_TABLE_COUNT);
  const void* at[EAVE_TABLE_COUNT];
  for (int t = 0; t < EAVE_TABLE_COUNT; ++t) {
    eave_table_ref r = ps.tables[t];
    if (r.offset % 8 || r.offset > e->size ||
        (uint64_t)r.count * table_entry_size[t] > e->size - r.offset)
      return EAVE_INVALID("section PROGRAM: table %s (offset %u, %u entries) out of bounds",
                          table_name[t], r.offset, r.count);
    at[t] = base + r.offset;
  }
  m->symbols = at[EAVE_TABLE_SYMBOLS], m->symbol_count = ps.tables[EAVE_TABLE_SYMBOLS].count;
  m->values = at[EAVE_TABLE_VALUES], m->value_count = ps.tables[EAVE_TABLE_VALUES].count;
  m->dims = at[EAVE_TABLE_DIMS], m->dim_count = ps.tables[EAVE_TABLE_DIMS].count;
  m->steps = at[EAVE_TABLE_STEPS], m->step_count = ps.tables[EAVE_TABLE_STEPS].count;
  m->operands = at[EAVE_TABLE_OPERANDS], m->operand_count = ps.tables[EAVE_TABLE_OPERANDS].count;
  m->programs = at[EAVE_TABLE_PROGRAMS], m->program_count = ps.tables[EAVE_TABLE_PROGRAMS].count;
  m->lists = at[EAVE_TABLE_LISTS], m->list_count = ps.tables[EAVE_TABLE_LISTS].count;
  m->code = at[EAVE_TABLE_CODE], m->code_size = ps.tables[EAVE_TABLE_CODE].count;
  m->params = at[EAVE_TABLE_PARAMS], m->params_size = ps.tables[EAVE_TABLE_PARAMS].count;
  if (m->program_count == 0) return EAVE_INVALID("section PROGRAM: no programs");
  return NULL;
}

/* Fills the public description of a program-0 input or output. */
static void describe_io(const eave_model* m, uint32_t value_id, eave_io_info* io) {
  const eave_value* v = &m->values[value_id];
  io->info.name = eave_model_string(m, v->name);
  io->info.dtype = (eave_dtype)v->dtype;
  io->info.kind = (eave_value_kind)v->kind;
  io->info.rank = v->rank;
  for (uint32_t a = 0; a < v->rank; ++a) {
    int64_t d = m->dims[v->dims + a];
    if (EAVE_DIM_IS_SYMBOL(d)) {
      const eave_symbol* s = &m->symbols[EAVE_DIM_SYMBOL_INDEX(d)];
      io->dims[a] = -1;
      io->dim_symbols[a] = eave_model_string(m, s->name);
      io->dim_min[a] = s->min;
      io->dim_max[a] = s->max;
    } else {
      io->dims[a] = io->dim_min[a] = io->dim_max[a] = d;
      io->dim_symbols[a] = NULL;
    }
  }
  io->info.dims = io->dims;
  io->info.dim_symbols = io->dim_symbols;
  io->info.dim_min = io->dim_min;
  io->info.dim_max = io->dim_max;
}

/* Symbols in the order a program computes them: INPUT first, then EXPR by ready_step. */
static int schedule_key(const eave_symbol* s) {
  return s->kind == EAVE_SYMBOL_INPUT ? -2 : s->ready_step;
}

static eave_status derive_tables(eave_model* m) {
  uint32_t P = m->program_count;
  const eave_program* p0 = &m->programs[0];
  size_t bytes = sizeof(uint32_t) * (m->value_count + 2 * (size_t)m->symbol_count) +
                 sizeof(eave_range) * 3 * P +
                 sizeof(eave_io_info) * ((size_t)p0->input_count + p0->output_count);
  uint8_t* d = m->allocator.alloc(m->allocator.self, bytes ? bytes : 1, 8);
  if (!d) return eave_make_status(EAVE_STATUS_OUT_OF_MEMORY, "out of memory loading the model");
  memset(d, 0, bytes);
  m->derived = d;
  m->inputs = (eave_io_info*)d;
  m->outputs = m->inputs + p0->input_count;
  m->program_value_range = (eave_range*)(m->outputs + p0->output_count);
  m->schedule_range = m->program_value_range + P;
  m->owned_symbol_range = m->schedule_range + P;
  m->program_values = (uint32_t*)(m->owned_symbol_range + P);
  m->schedule = m->program_values + m->value_count;
  m->owned_symbols = m->schedule + m->symbol_count;

  /* Values by program (counting sort), and the largest arena list. */
  for (uint32_t v = 0; v < m->value_count; ++v) m->program_value_range[m->values[v].program].end++;
  uint32_t at = 0;
  for (uint32_t p = 0; p < P; ++p) {
    uint32_t n = m->program_value_range[p].end;
    m->program_value_range[p].begin = m->program_value_range[p].end = at;
    at += n;
  }
  for (uint32_t v = 0; v < m->value_count; ++v)
    m->program_values[m->program_value_range[m->values[v].program].end++] = v;
  for (uint32_t p = 0; p < P; ++p) {
    uint32_t arena = 0;
    eave_range r = m->program_value_range[p];
    for (uint32_t i = r.begin; i < r.end; ++i)
      arena += m->values[m->program_values[i]].storage == EAVE_STORAGE_ARENA;
    if (arena > m->max_arena_values) m->max_arena_values = arena;
    const eave_program* pr = &m->programs[p];
    for (uint32_t s = pr->first_step; s < pr->first_step + pr->step_count; ++s) {
      uint32_t n = m->steps[s].input_count + m->steps[s].output_count;
      if (n > m->max_operands) m->max_operands = n;
    }
  }

  /* Each program's symbol schedule, stable-sorted by schedule_key (insertion sort: symbols
   * of one program are few). RUNTIME symbols are set by builtins and are not scheduled. */
  at = 0;
  for (uint32_t p = 0; p < P; ++p) {
    m->schedule_range[p].begin = at;
    for (uint32_t s = 0; s < m->symbol_count; ++s) {
      const eave_symbol* sym = &m->symbols[s];
      if (sym->kind == EAVE_SYMBOL_RUNTIME || sym->program != p) continue;
      uint32_t k = at++;
      for (; k > m->schedule_range[p].begin &&
             schedule_key(&m->symbols[m->schedule[k - 1]]) > schedule_key(sym);
           --k)
        m->schedule[k] = m->schedule[k - 1];
      m->schedule[k] = s;
    }
    m->schedule_range[p].end = at;
  }
  at = 0;
  for (uint32_t p = 0; p < P; ++p) {
    m->owned_symbol_range[p].begin = at;
    for (uint32_t s = 0; s < m->symbol_count; ++s)
      if (m->symbols[s].program == p) m->owned_symbols[at++] = s;
    m->owned_symbol_range[p].end = at;
  }

  for (uint32_t i = 0; i < p0->input_count; ++i)
    describe_io(m, m->lists[p0->inputs + i], &m->inputs[i]);
  for (uint32_t i = 0; i < p0->output_count; ++i)
    describe_io(m, m->lists[p0->outputs + i], &m->outputs[i]);
  return NULL;
}

eave_status eave_artifact_read(eave_model* m, int verify_weights, int need_code,
                               const uint8_t** code, size_t* code_size) {
  static const uint16_t probe = 1;
  if (*(const uint8_t*)&probe != 1)
    return eave_make_status(EAVE_STATUS_UNSUPPORTED, "big-endian hosts are not supported");
  eave_file_header h;
  EAVE_RETURN_IF_ERROR(check_header(m->bytes, m->size, &h));
  sections s;
  EAVE_RETURN_IF_ERROR(check_sections(m->bytes, &h, verify_weights, &s));
  EAVE_RETURN_IF_ERROR(check_strings(m, s.by_kind[EAVE_SECTION_STRINGS]));
  EAVE_RETURN_IF_ERROR(check_target(m, s.by_kind[EAVE_SECTION_TARGET]));
  EAVE_RETURN_IF_ERROR(check_program_tables(m, s.by_kind[EAVE_SECTION_PROGRAM]));
  const eave_section_entry* w = s.by_kind[EAVE_SECTION_WEIGHTS];
  m->weights = w ? m->bytes + w->offset : NULL;
  m->weights_size = w ? w->size : 0;
  const eave_section_entry* c = s.by_kind[EAVE_SECTION_CODE];
  /* A program made only of builtins needs no native code. */
  int has_kernels = 0;
  for (uint32_t i = 0; i < m->step_count; ++i) has_kernels |= m->steps[i].kind == EAVE_STEP_KERNEL;
  if (need_code && has_kernels && !c) return EAVE_INVALID("missing section CODE");
  *code = c ? m->bytes + c->offset : NULL;
  *code_size = c ? (size_t)c->size : 0;
  m->code_section_size = *code_size;
  EAVE_RETURN_IF_ERROR(eave_program_check(m));
  return derive_tables(m);
}
