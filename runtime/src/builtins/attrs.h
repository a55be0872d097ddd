/* A builtin step's parameters: the ONNX node's attributes, serialized by the compiler
 * (codegen/builtin_attrs.cc) so that a builtin reads them by name, as a reference kernel does.
 *
 * Blob layout (little-endian, no alignment assumed; read with memcpy):
 *   u32 magic "EATR", u32 version 1, u32 opset, u32 count, then `count` entries:
 *   u16 name_len, u8 kind, u8 reserved, name bytes (no NUL), payload by kind:
 *     INT    i64
 *     FLOAT  f64
 *     STRING u32 n, n bytes
 *     INTS   u32 n, n x i64
 *     FLOATS u32 n, n x f64
 *     TENSOR u32 dtype (eave_dtype), u32 rank (<= 8), rank x i64 dims, u64 nbytes, nbytes bytes
 *     STRINGS u32 n, then n x (u32 len, len bytes)
 * The loader checks a blob completely (eave_attrs_check) before any builtin sees it, so the
 * accessors below never read out of bounds. */
#ifndef EAVE_BUILTIN_ATTRS_H_
#define EAVE_BUILTIN_ATTRS_H_

#include <stdint.h>

#include "eave/runtime.h"

#define EAVE_ATTRS_MAGIC 0x52544145u /* "EATR" */
#define EAVE_ATTRS_VERSION 1u
#define EAVE_ATTR_MAX_RANK 8

typedef enum eave_attr_kind {
  EAVE_ATTR_INT = 1,
  EAVE_ATTR_FLOAT = 2,
  EAVE_ATTR_STRING = 3,
  EAVE_ATTR_INTS = 4,
  EAVE_ATTR_FLOATS = 5,
  EAVE_ATTR_TENSOR = 6,
  EAVE_ATTR_STRINGS = 7,
} eave_attr_kind;

typedef struct eave_attr {
  eave_attr_kind kind;
  int64_t i;           /* INT */
  double f;            /* FLOAT */
  uint32_t n;          /* STRING: bytes; INTS, FLOATS, STRINGS: count */
  const uint8_t* data; /* STRING bytes; INTS i64s; FLOATS f64s; TENSOR bytes; STRINGS entries */
  uint64_t nbytes;     /* TENSOR, STRINGS */
  eave_dtype dtype;    /* TENSOR */
  uint32_t rank;       /* TENSOR */
  int64_t dims[EAVE_ATTR_MAX_RANK];
} eave_attr;

/* Validates a whole blob: magic, version, every entry in bounds, known kinds, tensor byte counts
 * matching dtype and dims. NULL if fine. */
eave_status eave_attrs_check(const uint8_t* blob, uint32_t size);

/* The opset of the node's domain, as the compiler saw it. */
uint32_t eave_attrs_opset(const uint8_t* blob, uint32_t size);

/* Finds attribute `name`; returns 1 and fills *out, or 0 if absent. The blob must have passed
 * eave_attrs_check. */
int eave_attrs_find(const uint8_t* blob, uint32_t size, const char* name, eave_attr* out);

/* Typed shortcuts: the attribute's value, or `dflt` if it is absent or of another kind. */
int64_t eave_attr_int(const uint8_t* blob, uint32_t size, const char* name, int64_t dflt);
double eave_attr_float(const uint8_t* blob, uint32_t size, const char* name, double dflt);

/* Element i of an INTS / FLOATS attribute (i < a->n). */
int64_t eave_attr_ints_at(const eave_attr* a, uint32_t i);
double eave_attr_floats_at(const eave_attr* a, uint32_t i);

/* Element i of a STRINGS attribute (i < a->n): its bytes (no NUL) and length. */
const char* eave_attr_strings_at(const eave_attr* a, uint32_t i, uint32_t* len);

/* 1 if STRING attribute `name` exists and equals `s`; `dflt_match` when it is absent. */
int eave_attr_string_is(const uint8_t* blob, uint32_t size, const char* name, const char* s,
                        int dflt_match);

#endif /* EAVE_BUILTIN_ATTRS_H_ */
