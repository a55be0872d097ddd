#include "npy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int npy_error(char* err, size_t err_size, const char* fmt, ...) {
  if (err && err_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static const char* skip_space(const char* p, const char* end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  return p;
}

/* Finds `'key':` in the header dict and returns a pointer just past the colon. */
static const char* find_key(const char* h, const char* end, const char* key) {
  size_t klen = strlen(key);
  for (const char* p = h; p + klen + 2 <= end; ++p) {
    if ((*p == '\'' || *p == '"') && p[klen + 1] == *p && memcmp(p + 1, key, klen) == 0) {
      const char* q = skip_space(p + klen + 2, end);
      if (q < end && *q == ':') return skip_space(q + 1, end);
    }
  }
  return NULL;
}

static size_t known_itemsize(char kind, int size) {
  switch (kind) {
    case 'f': return (size == 2 || size == 4 || size == 8) ? (size_t)size : 0;
    case 'i':
    case 'u': return (size == 1 || size == 2 || size == 4 || size == 8) ? (size_t)size : 0;
    case 'b': return size == 1 ? 1 : 0;
    case 'U': return (size_t)size * 4;
    case 'S': return (size_t)size;
    default: return 0;
  }
}

int eave_npy_parse(const uint8_t* bytes, size_t size, eave_npy_header* out, char* err,
                   size_t err_size) {
  static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (!bytes || !out) return npy_error(err, err_size, "npy: null argument");
  memset(out, 0, sizeof *out);
  if (size < 10 || memcmp(bytes, magic, 6) != 0)
    return npy_error(err, err_size, "not a .npy file (bad magic)");
  int major = bytes[6];
  size_t header_len, prefix;
  if (major == 1) {
    header_len = (size_t)bytes[8] | ((size_t)bytes[9] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12) return npy_error(err, err_size, ".npy file truncated in its header");
    header_len = (size_t)bytes[8] | ((size_t)bytes[9] << 8) | ((size_t)bytes[10] << 16) |
                 ((size_t)bytes[11] << 24);
    prefix = 12;
  } else {
    return npy_error(err, err_size, ".npy format version %d is not supported", major);
  }
  if (header_len > size - prefix)
    return npy_error(err, err_size, ".npy file truncated: header of %zu bytes, file of %zu",
                     header_len, size);
  const char* h = (const char*)bytes + prefix;
  const char* end = h + header_len;

  const char* d = find_key(h, end, "descr");
  if (!d || d >= end || (*d != '\'' && *d != '"'))
    return npy_error(err, err_size, ".npy header has no 'descr'");
  char quote = *d++;
  const char* dend = memchr(d, quote, (size_t)(end - d));
  if (!dend || dend - d < 2 || dend - d > 12)
    return npy_error(err, err_size, ".npy header has a malformed 'descr'");
  char order = '|';
  if (*d == '<' || *d == '>' || *d == '|' || *d == '=') order = *d++;
  if (order == '>') return npy_error(err, err_size, "big-endian .npy data is not supported");
  char kind = *d++;
  int isz = 0;
  while (d < dend && *d >= '0' && *d <= '9' && isz < (1 << 24)) isz = isz * 10 + (*d++ - '0');
  if (d != dend) return npy_error(err, err_size, ".npy header has a malformed 'descr'");
  if (kind == '?') {
    kind = 'b';
    if (isz == 0) isz = 1;
  }
  if (kind == 'a') kind = 'S'; /* numpy's old name for bytes */
  out->itemsize = known_itemsize(kind, isz);
  if (!out->itemsize)
    return npy_error(err, err_size, ".npy element type '%c%d' is not supported", kind, isz);
  snprintf(out->descr, sizeof out->descr, "%c%d", kind, isz);

  const char* f = find_key(h, end, "fortran_order");
  if (!f) return npy_error(err, err_size, ".npy header has no 'fortran_order'");
  if (end - f >= 4 && memcmp(f, "True", 4) == 0)
    return npy_error(err, err_size,
                     "Fortran-order .npy arrays are not supported (save np.ascontiguousarray)");
  if (!(end - f >= 5 && memcmp(f, "False", 5) == 0))
    return npy_error(err, err_size, ".npy header has a malformed 'fortran_order'");

  const char* s = find_key(h, end, "shape");
  if (!s || s >= end || *s != '(') return npy_error(err, err_size, ".npy header has no 'shape'");
  ++s;
  uint64_t numel = 1;
  for (;;) {
    s = skip_space(s, end);
    if (s >= end) return npy_error(err, err_size, ".npy header has a malformed 'shape'");
    if (*s == ')') break;
    if (*s < '0' || *s > '9') return npy_error(err, err_size, ".npy header has a malformed 'shape'");
    uint64_t v = 0;
    while (s < end && *s >= '0' && *s <= '9') {
      if (v > (UINT64_MAX - 9) / 10) return npy_error(err, err_size, ".npy dimension too large");
      v = v * 10 + (uint64_t)(*s++ - '0');
    }
    if (v > (uint64_t)INT64_MAX) return npy_error(err, err_size, ".npy dimension too large");
    if (out->rank >= EAVE_NPY_MAX_RANK)
      return npy_error(err, err_size, ".npy rank is over %d", EAVE_NPY_MAX_RANK);
    out->dims[out->rank++] = (int64_t)v;
    if (v != 0 && numel > UINT64_MAX / v) return npy_error(err, err_size, ".npy array too large");
    numel *= v;
    s = skip_space(s, end);
    if (s < end && *s == ',') ++s;
  }
  if (numel > (uint64_t)SIZE_MAX / out->itemsize)
    return npy_error(err, err_size, ".npy array too large");
  out->data_offset = prefix + header_len;
  out->data_bytes = (size_t)numel * out->itemsize;
  if (out->data_bytes > size - out->data_offset)
    return npy_error(err, err_size, ".npy file truncated: data needs %zu bytes, file has %zu",
                     out->data_bytes, size - out->data_offset);
  return 0;
}

long eave_npy_text_utf8(const eave_npy_header* h, const uint8_t* elem, char* out) {
  long n = 0;
  if (h->descr[0] == 'S') {
    while ((size_t)n < h->itemsize && elem[n]) {
      out[n] = (char)elem[n];
      ++n;
    }
    out[n] = 0;
    return n;
  }
  size_t units = h->itemsize / 4;
  for (size_t i = 0; i < units; ++i) {
    uint32_t c = (uint32_t)elem[4 * i] | (uint32_t)elem[4 * i + 1] << 8 |
                 (uint32_t)elem[4 * i + 2] << 16 | (uint32_t)elem[4 * i + 3] << 24;
    if (!c) break;
    if (c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) return -1;
    if (c < 0x80) {
      out[n++] = (char)c;
    } else if (c < 0x800) {
      out[n++] = (char)(0xc0 | c >> 6);
      out[n++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      out[n++] = (char)(0xe0 | c >> 12);
      out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
      out[n++] = (char)(0x80 | (c & 0x3f));
    } else {
      out[n++] = (char)(0xf0 | c >> 18);
      out[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
      out[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
      out[n++] = (char)(0x80 | (c & 0x3f));
    }
  }
  out[n] = 0;
  return n;
}

/* The code point at *p (UTF-8), advancing *p; U+FFFD, one byte on, for a malformed sequence. */
static uint32_t next_code_point(const uint8_t** p) {
  const uint8_t* q = *p;
  uint32_t c = *q, k = 1;
  uint32_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len > 1) c &= 0x7fu >> len;
  for (; k < len && (q[k] & 0xc0) == 0x80; ++k) c = c << 6 | (q[k] & 0x3f);
  static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (!len || k < len || c < least[len] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000)) {
    c = 0xfffd;
    k = 1;
  }
  *p = q + k;
  return c;
}

size_t eave_npy_format_text_header(const char* const* strings, uint64_t n, int rank,
                                   const int64_t* dims, char* buf, size_t cap, size_t* width) {
  size_t w = 1;
  for (uint64_t i = 0; i < n; ++i) {
    size_t units = 0;
    for (const uint8_t* p = (const uint8_t*)(strings[i] ? strings[i] : ""); *p; ++units)
      next_code_point(&p);
    w = units > w ? units : w;
  }
  *width = w;
  char descr[24];
  snprintf(descr, sizeof descr, "U%zu", w);
  return eave_npy_format_header(descr, rank, dims, buf, cap);
}

void eave_npy_text_element(const char* s, size_t width, uint8_t* out) {
  memset(out, 0, width * 4);
  const uint8_t* p = (const uint8_t*)(s ? s : "");
  for (size_t i = 0; i < width && *p; ++i) {
    uint32_t c = next_code_point(&p);
    for (int b = 0; b < 4; ++b) out[4 * i + (size_t)b] = (uint8_t)(c >> (8 * b));
  }
}

size_t eave_npy_format_header(const char* descr, int rank, const int64_t* dims, char* buf,
                              size_t cap) {
  if (!descr || rank < 0 || rank > EAVE_NPY_MAX_RANK || !buf) return 0;
  char shape[EAVE_NPY_MAX_RANK * 22 + 4];
  size_t n = 0;
  shape[n++] = '(';
  for (int i = 0; i < rank; ++i) {
    if (dims[i] < 0) return 0;
    n += (size_t)snprintf(shape + n, sizeof shape - n, "%lld,%s", (long long)dims[i],
                          (i + 1 < rank) ? " " : "");
  }
  if (rank > 1) --n; /* drop the trailing comma: (2, 3) but (5,) */
  shape[n++] = ')';
  shape[n] = 0;
  char dict[512];
  /* One-byte elements and bytes have no byte order; str (UTF-32) is little-endian. */
  int bytewise = descr[0] == 'b' || descr[0] == 'S' || (descr[0] != 'U' && descr[1] == '1');
  char order = bytewise ? '|' : '<';
  int dl = snprintf(dict, sizeof dict, "{'descr': '%c%s', 'fortran_order': False, 'shape': %s, }",
                    order, descr, shape);
  if (dl < 0 || (size_t)dl >= sizeof dict) return 0;
  size_t total = (10 + (size_t)dl + 1 + 63) / 64 * 64;
  if (total > cap || total - 10 > 65535) return 0;
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (char)((total - 10) & 0xff);
  buf[9] = (char)((total - 10) >> 8);
  memcpy(buf + 10, dict, (size_t)dl);
  memset(buf + 10 + dl, ' ', total - 10 - (size_t)dl - 1);
  buf[total - 1] = '\n';
  return total;
}
