/* eave-run: runs a compiled model on .npy inputs and writes its outputs as .npy files.
 *
 *   eave-run MODEL.eave --input NAME=FILE.npy ... --output-dir DIR [--threads N]
 *   eave-run MODEL.eave --input NAME=FILE.npy ... --bench RUNS [--threads N]
 *
 * --bench times RUNS runs (after 3 untimed ones) and prints one JSON line with median_ms,
 * p90_ms, min_ms and peak_rss_mb: the process holds nothing but the runtime, so its peak RSS
 * is what a deployment pays.
 *
 * Written over the public runtime header only (plus the shared .npy parser), so it is also
 * the reference for embedding the runtime. Exit codes: 0 success, 1 error, 2 bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "eave/runtime.h"
#include "runtime/src/npy.h"

#define MAX_INPUTS 64

static const struct {
  eave_dtype dtype;
  const char* descr;
} npy_types[] = {
    {EAVE_DTYPE_F32, "f4"},  {EAVE_DTYPE_F64, "f8"}, {EAVE_DTYPE_F16, "f2"},
    {EAVE_DTYPE_I8, "i1"},   {EAVE_DTYPE_U8, "u1"},  {EAVE_DTYPE_I16, "i2"},
    {EAVE_DTYPE_U16, "u2"},  {EAVE_DTYPE_I32, "i4"}, {EAVE_DTYPE_U32, "u4"},
    {EAVE_DTYPE_I64, "i8"},  {EAVE_DTYPE_U64, "u8"}, {EAVE_DTYPE_BOOL, "b1"},
    {EAVE_DTYPE_BF16, "u2"}, /* numpy has no bfloat16: the raw bits */
};

static eave_dtype dtype_of_descr(const char* descr) {
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; ++i)
    if (strcmp(npy_types[i].descr, descr) == 0) return npy_types[i].dtype;
  return EAVE_DTYPE_UNDEFINED;
}

static const char* descr_of_dtype(eave_dtype dtype) {
  for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; ++i)
    if (npy_types[i].dtype == dtype) return npy_types[i].descr;
  return NULL;
}

static int usage(void) {
  fprintf(stderr,
          "usage: eave-run MODEL.eave --input NAME=FILE.npy ... --output-dir DIR [--threads N]\n"
          "       eave-run MODEL.eave --input NAME=FILE.npy ... --bench RUNS [--threads N]\n");
  return 2;
}

/* Prints and frees a failed status; returns 1 for failure, 0 for success. */
static int report(eave_status st, const char* what) {
  if (!st) return 0;
  fprintf(stderr, "eave-run: %s: %s\n", what, eave_status_get_message(st));
  eave_status_release(st);
  return 1;
}

/* Reads a whole file into 64-byte aligned memory (so .npy data, at a multiple of 64, is too). */
static uint8_t* read_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "eave-run: cannot open '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  uint8_t* data = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0) {
    data = aligned_alloc(64, ((size_t)n + 64) / 64 * 64);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
      free(data);
      data = NULL;
    }
  }
  fclose(f);
  if (!data) fprintf(stderr, "eave-run: cannot read '%s'\n", path);
  *size = (size_t)n;
  return data;
}

/* A text .npy array (numpy str or bytes) as a string tensor: *buffer, the file, is replaced by
 * one block holding the element pointers and their UTF-8 text. 0 on success. */
static int text_input(const eave_npy_header* h, uint8_t** buffer, eave_tensor* t) {
  size_t n = h->itemsize ? h->data_bytes / h->itemsize : 0;
  if (n > (SIZE_MAX - 64) / (sizeof(char*) + h->itemsize + 1)) return 1;
  uint8_t* block = aligned_alloc(64, (n * (sizeof(char*) + h->itemsize + 1) + 64) / 64 * 64);
  if (!block) return 1;
  const char** elems = (const char**)block;
  char* text = (char*)(elems + n);
  for (size_t i = 0; i < n; ++i) {
    long len = eave_npy_text_utf8(h, *buffer + h->data_offset + i * h->itemsize, text);
    if (len < 0) return free(block), 1;
    elems[i] = text;
    text += len + 1;
  }
  free(*buffer);
  *buffer = block;
  *t = (eave_tensor){EAVE_DTYPE_STRING, h->rank, h->dims, block, n * sizeof(char*)};
  return 0;
}

/* Writes string tensor t to f as a numpy str array of the longest element's width. */
static int write_text(FILE* f, const eave_tensor* t) {
  const char* const* s = t->data;
  uint64_t n = 1;
  for (int32_t a = 0; a < t->rank; ++a) n *= (uint64_t)t->dims[a];
  char header[1024];
  size_t width;
  size_t hlen = eave_npy_format_text_header(s, n, t->rank, t->dims, header, sizeof header, &width);
  uint8_t* element = malloc(width * 4);
  int ok = hlen && element && fwrite(header, 1, hlen, f) == hlen;
  for (uint64_t i = 0; ok && i < n; ++i) {
    eave_npy_text_element(s[i], width, element);
    ok = fwrite(element, 4, width, f) == width;
  }
  free(element);
  return ok;
}

/* Binds `spec` (NAME=FILE.npy) to the model input NAME; the file stays in *buffer. */
static int bind_input(eave_model* model, eave_session* session, const char* spec,
                      uint8_t** buffer) {
  const char* eq = strchr(spec, '=');
  if (!eq || eq == spec) {
    fprintf(stderr, "eave-run: --input wants NAME=FILE.npy, got '%s'\n", spec);
    return 1;
  }
  char name[256];
  snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
  int32_t index;
  if (report(eave_model_find_input(model, name, &index), "--input")) return 1;
  size_t size;
  *buffer = read_file(eq + 1, &size);
  if (!*buffer) return 1;
  eave_npy_header h;
  char err[256];
  if (eave_npy_parse(*buffer, size, &h, err, sizeof err) != 0) {
    fprintf(stderr, "eave-run: '%s': %s\n", eq + 1, err);
    return 1;
  }
  eave_tensor t = {dtype_of_descr(h.descr), h.rank, h.dims, *buffer + h.data_offset, h.data_bytes};
  if (h.descr[0] == 'U' || h.descr[0] == 'S') {
    if (text_input(&h, buffer, &t)) {
      fprintf(stderr, "eave-run: '%s': out of memory or not valid Unicode text\n", eq + 1);
      return 1;
    }
  } else if (t.dtype == EAVE_DTYPE_UNDEFINED) {
    fprintf(stderr, "eave-run: '%s': element type '%s' is not supported\n", eq + 1, h.descr);
    return 1;
  }
  return report(eave_session_bind_input(session, index, &t), eq + 1);
}

/* Writes output `index` to DIR/NAME.npy (characters other than [A-Za-z0-9._-] become '_'). */
static int write_output(eave_model* model, eave_session* session, int32_t index, const char* dir) {
  eave_tensor_info info;
  eave_tensor t;
  if (report(eave_model_get_output(model, index, &info), "output") ||
      report(eave_session_get_output(session, index, &t), "output"))
    return 1;
  char file[512];
  int n = snprintf(file, sizeof file, "%s/", dir);
  for (const char* c = info.name; *c && n < (int)sizeof file - 5; ++c)
    file[n++] =
        (strchr("._-", *c) || (*c >= '0' && *c <= '9') || ((*c | 32) >= 'a' && (*c | 32) <= 'z'))
            ? *c
            : '_';
  snprintf(file + n, sizeof file - (size_t)n, ".npy");
  const char* descr = descr_of_dtype(t.dtype);
  char header[1024];
  size_t hlen = descr ? eave_npy_format_header(descr, t.rank, t.dims, header, sizeof header) : 0;
  int text = t.dtype == EAVE_DTYPE_STRING;
  FILE* f = hlen || text ? fopen(file, "wb") : NULL;
  int ok = f && (text ? write_text(f, &t)
                      : fwrite(header, 1, hlen, f) == hlen &&
                            (t.byte_size == 0 || fwrite(t.data, 1, t.byte_size, f) == t.byte_size));
  if (f && fclose(f) != 0) ok = 0;
  if (!ok) {
    fprintf(stderr, "eave-run: cannot write '%s'\n", file);
    return 1;
  }
  printf("%s: %s [", info.name, eave_dtype_name(t.dtype));
  for (int32_t a = 0; a < t.rank; ++a) printf("%s%lld", a ? ", " : "", (long long)t.dims[a]);
  printf("] -> %s\n", file);
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int compare_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Times `runs` runs after 3 warm-up runs and prints the JSON summary. */
static int bench(eave_session* session, int runs) {
  double* ms = malloc(sizeof(double) * (size_t)runs);
  if (!ms) return 1;
  for (int i = 0; i < 3; ++i)
    if (report(eave_session_run(session), "run")) return free(ms), 1;
  for (int i = 0; i < runs; ++i) {
    double t0 = now_ms();
    if (report(eave_session_run(session), "run")) return free(ms), 1;
    ms[i] = now_ms() - t0;
  }
  qsort(ms, (size_t)runs, sizeof(double), compare_double);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  int p90 = (int)((double)runs * 0.9);
  if (p90 >= runs) p90 = runs - 1;
  printf("{\"median_ms\": %.4f, \"p90_ms\": %.4f, \"min_ms\": %.4f, \"peak_rss_mb\": %.1f}\n",
         ms[runs / 2], ms[p90], ms[0], (double)ru.ru_maxrss / 1024.0);
  free(ms);
  return 0;
}

int main(int argc, char** argv) {
  const char* model_path = NULL;
  const char* out_dir = NULL;
  const char* inputs[MAX_INPUTS];
  int input_count = 0, threads = 1, bench_runs = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) {
      if (input_count == MAX_INPUTS) return usage();
      inputs[input_count++] = argv[++i];
    } else if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc) {
      out_dir = argv[++i];
    } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      char* end;
      threads = (int)strtol(argv[++i], &end, 10);
      if (*end || threads < 0) return usage();
    } else if (strcmp(argv[i], "--bench") == 0 && i + 1 < argc) {
      char* end;
      bench_runs = (int)strtol(argv[++i], &end, 10);
      if (*end || bench_runs < 1) return usage();
    } else if (argv[i][0] != '-' && !model_path) {
      model_path = argv[i];
    } else {
      return usage();
    }
  }
  if (!model_path || (!out_dir && !bench_runs)) return usage();
  if (out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "eave-run: cannot create '%s': %s\n", out_dir, strerror(errno));
    return 1;
  }

  eave_model* model = NULL;
  eave_session* session = NULL;
  uint8_t* buffers[MAX_INPUTS] = {0};
  eave_session_options options;
  eave_session_options_initialize(&options);
  options.threads = threads;
  int failed = report(eave_model_load_file(model_path, NULL, &model), "load") ||
               report(eave_session_create(model, &options, &session), "session");
  for (int i = 0; i < input_count && !failed; ++i)
    failed = bind_input(model, session, inputs[i], &buffers[i]);
  if (!failed && bench_runs) failed = bench(session, bench_runs);
  if (!failed && out_dir) failed = report(eave_session_run(session), "run");
  for (int32_t i = 0; !failed && out_dir && i < eave_model_output_count(model); ++i)
    failed = write_output(model, session, i, out_dir);
  eave_session_release(session);
  eave_model_release(model);
  for (int i = 0; i < input_count; ++i) free(buffers[i]);
  return failed;
}
