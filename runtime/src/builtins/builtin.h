/* The interface between the executor and the builtin kernels (builtins.def). A builtin is a
 * pair: `check` validates a step statically when the model loads, `run` executes it. Builtins
 * get their tensors, define RUNTIME symbols and have outputs allocated only through the
 * context, so they never see the session's internals. */
#ifndef EAVE_BUILTIN_H_
#define EAVE_BUILTIN_H_

#include "../list.h"
#include "../model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eave_builtin_ctx eave_builtin_ctx;

/* A resolved tensor: dims are evaluated and data is placed. */
typedef struct eave_tensor_view {
  void* data; /* NULL for an absent optional input */
  uint64_t bytes;
  eave_dtype dtype;
  uint32_t rank;
  const int64_t* dims;
} eave_tensor_view;

/* Input k of the step (the executor has resolved inputs before the call). */
eave_status eave_builtin_input(eave_builtin_ctx* ctx, uint32_t k, eave_tensor_view* out);
/* Output k of the step, allocated now from its dims: define the RUNTIME symbols its dims use
 * first. */
eave_status eave_builtin_output(eave_builtin_ctx* ctx, uint32_t k, eave_tensor_view* out);
/* Output k with the dims the builtin computed (`rank` entries): every RUNTIME symbol among the
 * value's declared dims that this run has not defined yet is defined from `dims`; then every
 * dim must agree with the declared ones (constants, input dims, expressions), or the run fails
 * naming the output and axis. An output the graph does not use (absent operand) gives a view
 * with data NULL. This is how a builtin whose output shape depends on data, or that the
 * compiler could only shape symbolically, tells the runtime the real shape. */
eave_status eave_builtin_output_shaped(eave_builtin_ctx* ctx, uint32_t k, uint32_t rank,
                                       const int64_t* dims, eave_tensor_view* out);
/* Element i of a string tensor's data (`const char*` elements): its text, "" for NULL. */
static inline const char* eave_string_at(const void* data, uint64_t i) {
  const char* s = ((const char* const*)data)[i];
  return s ? s : "";
}

/* Scratch memory for the running step: `bytes` bytes, 64-byte aligned, contents undefined,
 * valid until its builtin returns. Each call hands out another block (earlier ones stay valid),
 * up to EAVE_BUILTIN_SCRATCH_BLOCKS (session.h) per call of a builtin; the session keeps them
 * across steps and runs and grows them when too small, so a run no larger than an earlier one
 * allocates nothing. Out of memory, or one block too many, is an error status. */
eave_status eave_builtin_scratch(eave_builtin_ctx* ctx, uint64_t bytes, void** out);
/* A string for an EAVE_DTYPE_STRING element: `len` bytes (copied from `text` unless NULL) and
 * a NUL, in session memory that holds until the next run starts. */
eave_status eave_builtin_string(eave_builtin_ctx* ctx, const char* text, uint64_t len,
                                char** out);
/* Defines RUNTIME symbol `symbol` (checked against its bounds). */
eave_status eave_builtin_set_symbol(eave_builtin_ctx* ctx, uint32_t symbol, int64_t value);

/* Sequence and optional operands (value kinds other than TENSOR) are lists (list.h): a
 * sequence holds `count` tensors; an optional tensor holds one or none (`present`); an
 * optional sequence is a sequence with a `present` flag. eave_builtin_input/_output refuse
 * them, these take only them. Input lists are read-only. */
eave_status eave_builtin_input_list(eave_builtin_ctx* ctx, uint32_t k, const eave_list** out);
eave_status eave_builtin_output_list(eave_builtin_ctx* ctx, uint32_t k, eave_list** out);
/* eave_value_kind of operand k (inputs, then outputs), or -1 if it is absent. */
int eave_builtin_operand_kind(const eave_builtin_ctx* ctx, uint32_t k);
/* Sets an output list's count (items past the old count come with kept buffers). */
eave_status eave_builtin_list_resize(eave_builtin_ctx* ctx, eave_list* l, uint32_t count);
/* Gives item i (< count) of an output list the dtype and shape, and copies `data` into it
 * unless NULL; *out_data (if not NULL) is where the item's bytes are, to fill. */
eave_status eave_builtin_list_set(eave_builtin_ctx* ctx, eave_list* l, uint32_t i,
                                  eave_dtype dtype, uint32_t rank, const int64_t* dims,
                                  const void* data, void** out_data);
/* dst = a copy of src, with its present flag. */
eave_status eave_builtin_list_assign(eave_builtin_ctx* ctx, eave_list* dst, const eave_list* src);

/* The model and the step being run, for reading the step's static description. */
const eave_model* eave_builtin_model(const eave_builtin_ctx* ctx);
const eave_step* eave_builtin_step(const eave_builtin_ctx* ctx);

/* The value behind operand k of `step` (inputs first, then outputs), or NULL if absent. The
 * step's operands are validated before check functions run. */
const eave_value* eave_step_value(const eave_model* m, const eave_step* step, uint32_t k);

typedef eave_status (*eave_builtin_check_fn)(const eave_model* m, const eave_step* step,
                                             const uint8_t* params);
typedef eave_status (*eave_builtin_run_fn)(eave_builtin_ctx* ctx, const uint8_t* params,
                                           uint32_t params_size);

typedef struct eave_builtin_desc {
  uint32_t id;
  const char* name;
  eave_builtin_check_fn check;
  eave_builtin_run_fn run;
} eave_builtin_desc;

/* The registry entry for `id`, or NULL. */
const eave_builtin_desc* eave_builtin_find(uint32_t id);

/* The builtin ids as C constants, EAVE_BUILTIN_<NAME>, for builtins that share an entry point
 * and tell their ops apart by the step's id. */
enum {
#define EAVE_BUILTIN(id, NAME, fn) EAVE_BUILTIN_##NAME = id,
#include "builtins.def"
#undef EAVE_BUILTIN
};

#define EAVE_BUILTIN(id, NAME, fn)                                                  \
  eave_status eave_builtin_##fn##_check(const eave_model* m, const eave_step* step, \
                                        const uint8_t* params);                     \
  eave_status eave_builtin_##fn##_run(eave_builtin_ctx* ctx, const uint8_t* params, \
                                      uint32_t params_size);
#include "builtins.def"
#undef EAVE_BUILTIN

#ifdef __cplusplus
}
#endif

#endif /* EAVE_BUILTIN_H_ */
