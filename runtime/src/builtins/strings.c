/* String tensors (EAVE_DTYPE_STRING, one `const char*` per element): the builtin that gives a
 * string constant its element pointers, StringNormalizer, the casts between strings and
 * numbers, and the order keys that let Unique sort strings. The semantics are the reference
 * interpreter's (ir/tensor.cc Tensor::cast, reference/misc.cc). Strings a run makes live in
 * session memory (eave_builtin_string); the elements of a constant point into its weight. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data.h"

/* STRINGS: a weight of u8 holding the constant's strings one after another, each ended by a
 * NUL, -> the string tensor (static dims) whose elements point at them. */
EAVE_DATA_OP(strings, "STRINGS", 1, 1, "n|s") {
  const eave_tensor_view* blob = &op->in[0];
  if (blob->dtype != EAVE_DTYPE_U8) return EAVE_RUN_ERROR("the constant's text must be u8");
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_builtin_output(op->ctx, 0, &out));
  const char* at = blob->data;
  const char* end = at + eave_view_numel(blob);
  uint64_t n = eave_view_numel(&out);
  for (uint64_t i = 0; i < n; ++i) {
    const char* nul = at < end ? memchr(at, 0, (size_t)(end - at)) : NULL;
    if (!nul)
      return EAVE_RUN_ERROR("the constant holds %llu strings, its shape %llu",
                            (unsigned long long)i, (unsigned long long)n);
    ((const char**)out.data)[i] = at;
    at = nul + 1;
  }
  return NULL;
}

/* ---- StringNormalizer */

static void change_case(char* s, int upper) {
  for (; *s; ++s) {
    unsigned char u = (unsigned char)*s;
    if (upper && u >= 'a' && u <= 'z') *s = (char)(u - 32);
    if (!upper && u >= 'A' && u <= 'Z') *s = (char)(u + 32);
  }
}

/* 1 if `s` is one of the stopwords; ASCII letters match either case unless case-sensitive. */
static int is_stopword(const eave_attr* stop, const char* s, int case_sensitive) {
  size_t n = strlen(s);
  for (uint32_t i = 0; i < stop->n; ++i) {
    uint32_t len;
    const char* w = eave_attr_strings_at(stop, i, &len);
    if (len != n) continue;
    uint32_t k = 0;
    for (; k < len; ++k) {
      unsigned char a = (unsigned char)w[k], b = (unsigned char)s[k];
      if (a != b && (case_sensitive || (a | 32) != (b | 32) || (a | 32) < 'a' || (a | 32) > 'z'))
        break;
    }
    if (k == len) return 1;
  }
  return 0;
}

/* Drops stopwords from a [C] or [1, C] input, then changes case (ASCII letters). An empty
 * result is one empty string. */
EAVE_DATA_OP(string_normalizer, "STRING_NORMALIZER", 1, 1, "s|s") {
  const eave_tensor_view* x = &op->in[0];
  if (!(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1)))
    return EAVE_RUN_ERROR("input must have shape [C] or [1, C]");
  static const char* const actions[] = {"NONE", "LOWER", "UPPER"};
  int action = eave_op_enum(op, "case_change_action", "NONE", actions, 3);
  if (action < 0) return EAVE_RUN_ERROR("case_change_action must be NONE, LOWER or UPPER");
  int case_sensitive = eave_op_int(op, "is_case_sensitive", 0) != 0;
  eave_attr stop = {0};
  if (!eave_attrs_find(op->attrs, op->attrs_size, "stopwords", &stop) ||
      stop.kind != EAVE_ATTR_STRINGS)
    stop.n = 0;
  uint64_t n = eave_view_numel(x), kept = 0;
  int64_t* keep; /* the indices of the words that stay */
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, n, &keep));
  for (uint64_t i = 0; i < n; ++i)
    if (!is_stopword(&stop, eave_string_at(x->data, i), case_sensitive)) keep[kept++] = (int64_t)i;
  int64_t dims[2] = {1, kept ? (int64_t)kept : 1};
  eave_tensor_view out;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, dims + 2 - x->rank, &out));
  if (!out.data) return NULL;
  const char** y = out.data;
  if (!kept) return eave_builtin_string(op->ctx, NULL, 0, (char**)&y[0]);
  for (uint64_t k = 0; k < kept; ++k) {
    const char* s = eave_string_at(x->data, (uint64_t)keep[k]);
    char* t;
    EAVE_RETURN_IF_ERROR(eave_builtin_string(op->ctx, s, strlen(s), &t));
    if (action) change_case(t, action == 2);
    y[k] = t;
  }
  return NULL;
}

/* ---- Casts */

/* The shortest text that reads back as v (as a float when `single`), in the shorter of plain
 * and scientific notation, plain on a tie: what std::to_chars writes. */
static void format_shortest(double v, int single, char out[48]) {
  if (v != v || isinf(v) || v == 0) {
    snprintf(out, 48, "%s%s", signbit(v) ? "-" : "", v != v ? "nan" : v == 0 ? "0" : "inf");
    return;
  }
  char sci[40];
  int p = 1;
  for (; p < 17; ++p) {
    snprintf(sci, sizeof sci, "%.*e", p - 1, v);
    if (single ? strtof(sci, NULL) == (float)v : strtod(sci, NULL) == v) break;
  }
  if (p == 17) snprintf(sci, sizeof sci, "%.16e", v);
  /* sci is [-]d[.ddd]e±XX: collect the digits and the exponent. */
  char digits[20];
  int nd = 0, neg = sci[0] == '-';
  const char* c = sci + neg;
  for (; *c != 'e'; ++c)
    if (*c != '.') digits[nd++] = *c;
  int exp = atoi(c + 1);
  char plain[48];
  int len = 0;
  if (neg) plain[len++] = '-';
  if (exp < 0) {
    plain[len++] = '0';
    plain[len++] = '.';
    for (int z = 0; z < -exp - 1 && len < 40; ++z) plain[len++] = '0';
    for (int k = 0; k < nd && len < 47; ++k) plain[len++] = digits[k];
  } else {
    for (int k = 0; k <= exp || k < nd; ++k) {
      if (k == exp + 1) plain[len++] = '.';
      if (len >= 47) break;
      plain[len++] = k < nd ? digits[k] : '0';
    }
  }
  plain[len] = 0;
  snprintf(out, 48, "%s", (size_t)len <= strlen(sci) ? plain : sci);
}

eave_status eave_cast_strings(eave_builtin_ctx* ctx, eave_dtype from, const void* src,
                              eave_dtype to, void* dst, uint64_t n) {
  for (uint64_t i = 0; i < n; ++i) {
    if (from == EAVE_DTYPE_STRING) {
      const char* s = eave_string_at(src, i);
      char* end;
      double v = strtod(s, &end);
      if (end == s)
        return EAVE_RUN_ERROR("cannot convert string '%.64s' to %s", s, eave_dtype_name(to));
      eave_cast(EAVE_DTYPE_F64, &v, to, (uint8_t*)dst + i * eave_dtype_size(to), 1);
      continue;
    }
    char text[48];
    if (eave_dtype_is_float(from))
      format_shortest(eave_elem_f64(from, src, i), from != EAVE_DTYPE_F64, text);
    else if (from == EAVE_DTYPE_U64)
      snprintf(text, sizeof text, "%llu", (unsigned long long)eave_elem_i64(from, src, i));
    else
      snprintf(text, sizeof text, "%lld", (long long)eave_elem_i64(from, src, i));
    char* s;
    EAVE_RETURN_IF_ERROR(eave_builtin_string(ctx, text, strlen(text), &s));
    ((const char**)dst)[i] = s;
  }
  return NULL;
}

/* ---- Order */

static int string_less(const void* c, int64_t a, int64_t b) {
  return strcmp(eave_string_at(c, (uint64_t)a), eave_string_at(c, (uint64_t)b)) < 0;
}

eave_status eave_string_keys(eave_data_op* op, const void* data, uint64_t n, uint64_t* keys) {
  int64_t* idx;
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, 2 * n, &idx));
  for (uint64_t i = 0; i < n; ++i) idx[i] = (int64_t)i;
  eave_sort(idx, idx + n, n, string_less, data);
  uint64_t rank = 0;
  for (uint64_t i = 0; i < n; ++i) {
    if (i && string_less(data, idx[i - 1], idx[i])) ++rank;
    keys[idx[i]] = rank;
  }
  return NULL;
}
