#include "attrs.h"

#include <string.h>

#include "../status.h"

typedef struct cursor {
  const uint8_t* p;
  const uint8_t* end;
} cursor;

static int take(cursor* c, void* out, uint64_t n) {
  if ((uint64_t)(c->end - c->p) < n) return 0;
  if (out) memcpy(out, c->p, (size_t)n);
  c->p += n;
  return 1;
}

static uint64_t dtype_bytes(uint32_t dtype) {
  switch (dtype) {
    case EAVE_DTYPE_F32: case EAVE_DTYPE_I32: case EAVE_DTYPE_U32: return 4;
    case EAVE_DTYPE_F16: case EAVE_DTYPE_BF16: case EAVE_DTYPE_I16: case EAVE_DTYPE_U16: return 2;
    case EAVE_DTYPE_F64: case EAVE_DTYPE_I64: case EAVE_DTYPE_U64: return 8;
    case EAVE_DTYPE_I8: case EAVE_DTYPE_U8: case EAVE_DTYPE_BOOL: return 1;
    default: return 0;
  }
}

/* Reads one entry's name and payload into *a; 0 if it runs past the end or is malformed. */
static int read_entry(cursor* c, const char** name, uint16_t* name_len, eave_attr* a) {
  uint8_t kind = 0, reserved;
  memset(a, 0, sizeof *a);
  if (!take(c, name_len, 2) || !take(c, &kind, 1) || !take(c, &reserved, 1)) return 0;
  *name = (const char*)c->p;
  if (!take(c, NULL, *name_len)) return 0;
  a->kind = (eave_attr_kind)kind;
  switch (kind) {
    case EAVE_ATTR_INT: return take(c, &a->i, 8);
    case EAVE_ATTR_FLOAT: return take(c, &a->f, 8);
    case EAVE_ATTR_STRING:
      if (!take(c, &a->n, 4)) return 0;
      a->data = c->p;
      return take(c, NULL, a->n);
    case EAVE_ATTR_INTS:
    case EAVE_ATTR_FLOATS:
      if (!take(c, &a->n, 4)) return 0;
      a->data = c->p;
      return take(c, NULL, (uint64_t)a->n * 8);
    case EAVE_ATTR_STRINGS: {
      if (!take(c, &a->n, 4)) return 0;
      a->data = c->p;
      for (uint32_t i = 0; i < a->n; ++i) {
        uint32_t len;
        if (!take(c, &len, 4) || !take(c, NULL, len)) return 0;
      }
      a->nbytes = (uint64_t)(c->p - a->data);
      return 1;
    }
    case EAVE_ATTR_TENSOR: {
      uint32_t dtype;
      if (!take(c, &dtype, 4) || !take(c, &a->rank, 4) || a->rank > EAVE_ATTR_MAX_RANK) return 0;
      a->dtype = (eave_dtype)dtype;
      uint64_t count = 1;
      for (uint32_t d = 0; d < a->rank; ++d) {
        if (!take(c, &a->dims[d], 8) || a->dims[d] < 0) return 0;
        if (a->dims[d] && count > UINT64_MAX / (uint64_t)a->dims[d]) return 0;
        count *= (uint64_t)a->dims[d];
      }
      uint64_t es = dtype_bytes(dtype);
      if (!es || !take(c, &a->nbytes, 8) || count > UINT64_MAX / es || a->nbytes != count * es)
        return 0;
      a->data = c->p;
      return take(c, NULL, a->nbytes);
    }
    default: return 0;
  }
}

static int read_header(cursor* c, uint32_t* opset, uint32_t* count) {
  uint32_t magic, version;
  return take(c, &magic, 4) && magic == EAVE_ATTRS_MAGIC && take(c, &version, 4) &&
         version == EAVE_ATTRS_VERSION && take(c, opset, 4) && take(c, count, 4);
}

eave_status eave_attrs_check(const uint8_t* blob, uint32_t size) {
  cursor c = {blob, blob + size};
  uint32_t opset, count;
  if (!blob || !read_header(&c, &opset, &count))
    return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT, "builtin attributes: bad header");
  for (uint32_t k = 0; k < count; ++k) {
    const char* name;
    uint16_t len;
    eave_attr a;
    if (!read_entry(&c, &name, &len, &a))
      return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                              "builtin attributes: entry %u is malformed or truncated", k);
  }
  if (c.p != c.end)
    return eave_make_status(EAVE_STATUS_INVALID_ARTIFACT,
                            "builtin attributes: %u trailing bytes", (unsigned)(c.end - c.p));
  return NULL;
}

uint32_t eave_attrs_opset(const uint8_t* blob, uint32_t size) {
  cursor c = {blob, blob + size};
  uint32_t opset = 0, count = 0;
  return read_header(&c, &opset, &count) ? opset : 0;
}

int eave_attrs_find(const uint8_t* blob, uint32_t size, const char* name, eave_attr* out) {
  cursor c = {blob, blob + size};
  uint32_t opset, count;
  if (!read_header(&c, &opset, &count)) return 0;
  size_t want = strlen(name);
  for (uint32_t k = 0; k < count; ++k) {
    const char* n;
    uint16_t len;
    eave_attr a;
    if (!read_entry(&c, &n, &len, &a)) return 0;
    if (len == want && memcmp(n, name, want) == 0) {
      *out = a;
      return 1;
    }
  }
  return 0;
}

int64_t eave_attr_int(const uint8_t* blob, uint32_t size, const char* name, int64_t dflt) {
  eave_attr a;
  return eave_attrs_find(blob, size, name, &a) && a.kind == EAVE_ATTR_INT ? a.i : dflt;
}

double eave_attr_float(const uint8_t* blob, uint32_t size, const char* name, double dflt) {
  eave_attr a;
  if (!eave_attrs_find(blob, size, name, &a)) return dflt;
  if (a.kind == EAVE_ATTR_FLOAT) return a.f;
  if (a.kind == EAVE_ATTR_INT) return (double)a.i;
  return dflt;
}

int64_t eave_attr_ints_at(const eave_attr* a, uint32_t i) {
  int64_t v = 0;
  if (i < a->n) memcpy(&v, a->data + (size_t)i * 8, 8);
  return v;
}

double eave_attr_floats_at(const eave_attr* a, uint32_t i) {
  double v = 0;
  if (i < a->n) memcpy(&v, a->data + (size_t)i * 8, 8);
  return v;
}

const char* eave_attr_strings_at(const eave_attr* a, uint32_t i, uint32_t* len) {
  /* The blob passed eave_attrs_check: every entry is in bounds. */
  const uint8_t* p = a->data;
  *len = 0;
  if (a->kind != EAVE_ATTR_STRINGS || i >= a->n) return "";
  for (;; --i) {
    memcpy(len, p, 4);
    if (!i) return (const char*)p + 4;
    p += 4 + *len;
  }
}

int eave_attr_string_is(const uint8_t* blob, uint32_t size, const char* name, const char* s,
                        int dflt_match) {
  eave_attr a;
  if (!eave_attrs_find(blob, size, name, &a) || a.kind != EAVE_ATTR_STRING) return dflt_match;
  size_t n = strlen(s);
  return a.n == n && memcmp(a.data, s, n) == 0;
}
