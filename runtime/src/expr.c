#include "expr.h"

#include <stdio.h>
#include <string.h>

#include "artifact_format.h"

/* Stack effect of each opcode: how many it pops, and it always pushes one. */
static int expr_pops(uint8_t op) {
  switch (op) {
    case EAVE_EXPR_CONST:
    case EAVE_EXPR_SYM: return 0;
    case EAVE_EXPR_LOAD:
    case EAVE_EXPR_NEG:
    case EAVE_EXPR_ABS: return 1;
    case EAVE_EXPR_SELECT: return 3;
    default: return 2;
  }
}

int eave_expr_decode(const uint8_t* code, size_t size, size_t* pos, eave_expr_insn* out) {
  if (*pos >= size) return -1;
  uint8_t op = code[(*pos)++];
  out->op = op;
  out->imm = 0;
  size_t imm_size = 0;
  if (op == EAVE_EXPR_CONST)
    imm_size = 8;
  else if (op == EAVE_EXPR_SYM || op == EAVE_EXPR_LOAD)
    imm_size = 4;
  else if (op < EAVE_EXPR_ADD || op > EAVE_EXPR_SELECT)
    return -1;
  if (size - *pos < imm_size) return -1;
  uint64_t v = 0;
  for (size_t i = imm_size; i-- > 0;) v = (v << 8) | code[*pos + i];
  *pos += imm_size;
  out->imm = imm_size == 8 ? (int64_t)v : (int64_t)(uint32_t)v;
  return 0;
}

const char* eave_expr_check(const uint8_t* code, size_t size, uint32_t symbol_count,
                            uint32_t value_count, int* uses_load) {
  if (uses_load) *uses_load = 0;
  if (size == 0) return "empty expression";
  int depth = 0;
  for (size_t pos = 0; pos < size;) {
    eave_expr_insn in;
    if (eave_expr_decode(code, size, &pos, &in) != 0)
      return "unknown opcode or truncated immediate";
    if (in.op == EAVE_EXPR_SYM && (uint64_t)in.imm >= symbol_count) return "SYM index out of range";
    if (in.op == EAVE_EXPR_LOAD) {
      if ((uint64_t)in.imm >= value_count) return "LOAD value index out of range";
      if (uses_load) *uses_load = 1;
    }
    depth -= expr_pops(in.op);
    if (depth < 0) return "stack underflow";
    if (++depth > (int)EAVE_EXPR_MAX_STACK) return "stack overflow";
  }
  return depth == 1 ? NULL : "expression leaves more than one value";
}

static int fail(char* err, size_t err_size, const char* msg, int64_t a, int64_t b) {
  if (err_size) snprintf(err, err_size, msg, (long long)a, (long long)b);
  return -1;
}

/* a op b for the two-operand opcodes; -1 on overflow or division by zero. */
static int binary(uint8_t op, int64_t a, int64_t b, int64_t* r, char* err, size_t err_size) {
  switch (op) {
    case EAVE_EXPR_ADD:
      if (__builtin_add_overflow(a, b, r))
        return fail(err, err_size, "overflow in %lld + %lld", a, b);
      return 0;
    case EAVE_EXPR_SUB:
      if (__builtin_sub_overflow(a, b, r))
        return fail(err, err_size, "overflow in %lld - %lld", a, b);
      return 0;
    case EAVE_EXPR_MUL:
      if (__builtin_mul_overflow(a, b, r))
        return fail(err, err_size, "overflow in %lld * %lld", a, b);
      return 0;
    case EAVE_EXPR_FLOORDIV:
    case EAVE_EXPR_CEILDIV:
    case EAVE_EXPR_MOD: {
      if (b == 0) return fail(err, err_size, "division by zero (%lld / %lld)", a, b);
      if (b == -1) { /* INT64_MIN / -1 overflows; x mod -1 is 0 */
        if (op == EAVE_EXPR_MOD) return *r = 0, 0;
        if (a == INT64_MIN) return fail(err, err_size, "overflow in %lld / %lld", a, b);
        return *r = -a, 0;
      }
      int64_t q = a / b, m = a % b;
      int inexact_negative = m != 0 && ((m < 0) != (b < 0));
      if (op == EAVE_EXPR_MOD)
        *r = inexact_negative ? m + b : m;
      else if (op == EAVE_EXPR_FLOORDIV)
        *r = inexact_negative ? q - 1 : q;
      else
        *r = (m != 0 && !inexact_negative) ? q + 1 : q;
      return 0;
    }
    case EAVE_EXPR_MIN: return *r = a < b ? a : b, 0;
    case EAVE_EXPR_MAX: return *r = a > b ? a : b, 0;
    case EAVE_EXPR_EQ: return *r = a == b, 0;
    case EAVE_EXPR_LT: return *r = a < b, 0;
    case EAVE_EXPR_LE: return *r = a <= b, 0;
  }
  return fail(err, err_size, "bad opcode", 0, 0);
}

int eave_expr_eval(const uint8_t* code, size_t size, const eave_expr_env* env, int64_t* out,
                   char* err, size_t err_size) {
  int64_t stack[EAVE_EXPR_MAX_STACK];
  int sp = 0;
  for (size_t pos = 0; pos < size;) {
    eave_expr_insn in;
    /* The code was checked at load; these guards keep a stray call from going wrong. */
    if (eave_expr_decode(code, size, &pos, &in) != 0 || sp < expr_pops(in.op) ||
        (expr_pops(in.op) == 0 && sp == (int)EAVE_EXPR_MAX_STACK))
      return fail(err, err_size, "malformed expression", 0, 0);
    int64_t r = 0;
    switch (in.op) {
      case EAVE_EXPR_CONST: r = in.imm; break;
      case EAVE_EXPR_SYM: {
        uint32_t s = (uint32_t)in.imm;
        if (env->defined && !env->defined[s]) {
          const char* name = env->symbol_name ? env->symbol_name(env->self, s) : "";
          if (err_size)
            snprintf(err, err_size, "symbol %u '%s' is used before it is known", s, name);
          return -1;
        }
        r = env->syms[s];
        break;
      }
      case EAVE_EXPR_LOAD:
        if (!env->load) return fail(err, err_size, "LOAD is not allowed here", 0, 0);
        if (env->load(env->self, (uint32_t)in.imm, stack[sp - 1], &r, err, err_size) != 0)
          return -1;
        --sp;
        break;
      case EAVE_EXPR_NEG:
      case EAVE_EXPR_ABS:
        r = stack[--sp];
        if (in.op == EAVE_EXPR_NEG || r < 0) {
          if (r == INT64_MIN) return fail(err, err_size, "overflow negating %lld", r, 0);
          r = -r;
        }
        break;
      case EAVE_EXPR_SELECT: {
        int64_t b = stack[--sp], a = stack[--sp], c = stack[--sp];
        r = c != 0 ? a : b;
        break;
      }
      default: {
        int64_t b = stack[--sp], a = stack[--sp];
        if (binary(in.op, a, b, &r, err, err_size) != 0) return -1;
      }
    }
    stack[sp++] = r;
  }
  if (sp != 1) return fail(err, err_size, "malformed expression", 0, 0);
  *out = stack[0];
  return 0;
}
