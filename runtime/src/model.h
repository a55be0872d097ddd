/* The loaded model: validated pointers into the artifact plus a few tables derived at load.
 * Internal to the runtime. */
#ifndef EAVE_MODEL_H_
#define EAVE_MODEL_H_

#include <stddef.h>
#include <stdint.h>

#include "artifact_format.h"
#include "elf_loader.h"
#include "status.h"

/* The white-box tests include this header from C++, where <stdatomic.h> is not usable. */
#ifdef __cplusplus
#include <atomic>
typedef std::atomic<int> eave_refcount;
#else
#include <stdatomic.h>
typedef atomic_int eave_refcount;
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* One program's slice of a CSR list (values of the program, its symbol schedule, ...). */
typedef struct eave_range {
  uint32_t begin, end;
} eave_range;

/* The public description of an input or output, with its backing arrays. */
typedef struct eave_io_info {
  eave_tensor_info info;
  int64_t dims[EAVE_MAX_RANK];
  const char* dim_symbols[EAVE_MAX_RANK];
  int64_t dim_min[EAVE_MAX_RANK];
  int64_t dim_max[EAVE_MAX_RANK];
} eave_io_info;

struct eave_model {
  eave_refcount refs;
  eave_allocator allocator;

  /* Where the artifact lives: exactly one of these owns it, or none (borrowed / static). */
  void* file_mapping;
  size_t file_mapping_size;
  void* owned_copy;
  const uint8_t* bytes;
  size_t size;

  eave_arch arch;
  const char* strings;
  size_t strings_size;
  const uint8_t* weights;
  uint64_t weights_size;

  /* The PROGRAM tables (artifact_format.h), validated. */
  const eave_symbol* symbols;
  const eave_value* values;
  const int64_t* dims;
  const eave_step* steps;
  const int32_t* operands;
  const eave_program* programs;
  const uint32_t* lists;
  const uint8_t* code;
  const uint8_t* params;
  uint32_t symbol_count, value_count, dim_count, step_count, operand_count, program_count,
      list_count, code_size, params_size;

  /* Derived at load (one allocation, `derived`). */
  void* derived;
  uint32_t* program_values; /* the values of each program, by program_value_range */
  eave_range* program_value_range;
  uint32_t* schedule; /* each program's symbols to compute: INPUT ones, then EXPR ones
                         by ready_step (-1 first), by schedule_range */
  eave_range* schedule_range;
  uint32_t* owned_symbols; /* every symbol of each program (undefined when it starts), by
                              owned_symbol_range */
  eave_range* owned_symbol_range;
  uint32_t max_operands;     /* largest input_count + output_count of a step */
  uint32_t max_arena_values; /* largest number of ARENA values in one program */
  eave_io_info* inputs;      /* program 0's inputs and outputs */
  eave_io_info* outputs;

  eave_code_image code_image; /* when the kernels came from CODE */
  const eave_kernel_table* kernels;

  /* TARGET, validated: the section header and its feature string offsets. */
  eave_target_section target;
  const uint8_t* target_features; /* target.feature_count uint32 string offsets (unaligned) */
  uint64_t code_section_size;     /* bytes of the CODE section (0 if none) */
  /* Loaded for inspection only (eave_model_inspect): no CPU check, no code, cannot run. */
  int inspect_only;
};

/* A string of the artifact (validated offsets only). */
static inline const char* eave_model_string(const eave_model* m, uint32_t offset) {
  return offset < m->strings_size ? m->strings + offset : "";
}

/* *out = *in if it has alloc and free, else the C library's aligned allocator. */
void eave_allocator_or_default(const eave_allocator* in, eave_allocator* out);

/* Validates the artifact in m->bytes/m->size and fills the section and table pointers; then
 * derives the tables above. Nothing is executed or mapped. `verify_weights` as in
 * eave_model_options; `need_code` is 0 for static models. */
eave_status eave_artifact_read(eave_model* m, int verify_weights, int need_code,
                               const uint8_t** code, size_t* code_size);

/* For tools (`eave inspect`): validates an artifact (a copy of `data`) like a load does, but
 * for any target architecture and CPU, and without loading its code; the model cannot run. */
eave_status eave_model_inspect(const void* data, size_t size, eave_model** out_model);

/* Checks every PROGRAM table entry (artifact_program_check.c). */
eave_status eave_program_check(const eave_model* m);

/* Checks kernel indices against the loaded kernel table. */
eave_status eave_program_check_kernels(const eave_model* m);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_MODEL_H_ */
