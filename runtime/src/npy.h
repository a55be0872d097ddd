/* Reading and writing NumPy .npy files (format versions 1.0 to 3.0). Shared by the C runtime's
 * runner (eave-run) and the C++ tools, so there is exactly one parser to fuzz. It never reads
 * outside [bytes, bytes + size): every length is checked before use. */
#ifndef EAVE_NPY_H_
#define EAVE_NPY_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EAVE_NPY_MAX_RANK 16

typedef struct eave_npy_header {
  char descr[16];       /* normalized: "f4", "f8", "f2", "i1".."i8", "u1".."u8", "b1", and for
                           text "U<n>" (n UTF-32 code units) or "S<n>" (n bytes) */
  size_t itemsize;
  int rank;
  int64_t dims[EAVE_NPY_MAX_RANK];
  size_t data_offset;   /* bytes from the start of the file to the first element */
  size_t data_bytes;    /* product of dims times itemsize; the file holds at least this many */
} eave_npy_header;

/* Parses and validates a .npy file held in memory. Returns 0 on success; otherwise -1 with a
 * message in err (always NUL-terminated when err_size > 0). Rejects big-endian data,
 * Fortran order, unknown element types, and files shorter than their header says. */
int eave_npy_parse(const uint8_t* bytes, size_t size, eave_npy_header* out, char* err,
                   size_t err_size);

/* Text arrays ("U<n>" and "S<n>" elements). The UTF-8 text of one element at `elem`, NUL
 * padding dropped, into `out` (room for itemsize + 1 bytes always suffices), NUL-terminated.
 * Returns its length, or -1 for a code unit that is not a Unicode scalar value. */
long eave_npy_text_utf8(const eave_npy_header* h, const uint8_t* elem, char* out);

/* Writing n strings (UTF-8; NULL reads as "") as a numpy str array: formats the header of a
 * "U<width>" array, width the code units of the longest string (at least 1), like
 * eave_npy_format_header (0 if it does not fit); *width gets the width. */
size_t eave_npy_format_text_header(const char* const* strings, uint64_t n, int rank,
                                   const int64_t* dims, char* buf, size_t cap, size_t* width);

/* One element of such an array: the UTF-32 code units of `s`, little-endian, NUL-padded to
 * `width` (4 * width bytes at out; longer text is cut). Malformed UTF-8 becomes U+FFFD. */
void eave_npy_text_element(const char* s, size_t width, uint8_t* out);

/* Formats a version 1.0 header for a C-order little-endian array of element type `descr`
 * ("f4", "i8", "b1", "U<n>", ...). Returns the header length (a multiple of 64), or 0 if it does not
 * fit in `cap` bytes or the arguments are invalid. */
size_t eave_npy_format_header(const char* descr, int rank, const int64_t* dims, char* buf,
                              size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_NPY_H_ */
