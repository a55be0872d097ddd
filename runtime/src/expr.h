/* The symbol expression bytecode (artifact_format.h, eave_expr_op): decoding and evaluation.
 * Plain C with no runtime state, so the compiler's writer evaluates expressions with the same
 * code the executor runs. */
#ifndef EAVE_EXPR_H_
#define EAVE_EXPR_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eave_expr_insn {
  uint8_t op;  /* eave_expr_op */
  int64_t imm; /* CONST: the constant; SYM: symbol index; LOAD: value index */
} eave_expr_insn;

/* Decodes the instruction at code[*pos] and advances *pos. Returns 0, or -1 for an unknown
 * opcode or an immediate that runs past `size`. */
int eave_expr_decode(const uint8_t* code, size_t size, size_t* pos, eave_expr_insn* out);

/* Checks an expression statically: every instruction decodes, SYM indices are below
 * symbol_count, LOAD indices below value_count, the stack never underflows nor exceeds
 * EAVE_EXPR_MAX_STACK, and exactly one value is left. Returns NULL, or a static string
 * saying what is wrong. Sets *uses_load (if not NULL) when the code contains LOAD. */
const char* eave_expr_check(const uint8_t* code, size_t size, uint32_t symbol_count,
                            uint32_t value_count, int* uses_load);

/* What evaluation reads. `defined` may be NULL (all symbols defined). `load` may be NULL (LOAD
 * is then an error); it returns 0, or -1 with a message in err. */
typedef struct eave_expr_env {
  const int64_t* syms;
  const uint8_t* defined;
  const char* (*symbol_name)(void* self, uint32_t symbol); /* for messages; may be NULL */
  int (*load)(void* self, uint32_t value, int64_t index, int64_t* out, char* err, size_t err_size);
  void* self;
} eave_expr_env;

/* Evaluates checked code. Returns 0 with *out set, or -1 with a message in err (overflow,
 * division by zero, an undefined symbol, a failed load). */
int eave_expr_eval(const uint8_t* code, size_t size, const eave_expr_env* env, int64_t* out,
                   char* err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_EXPR_H_ */
