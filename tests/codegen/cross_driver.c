/* Runs generated kernels on another architecture under qemu-user, for cross_target_test.cc.
 * Built by the test with the cross compiler. Usage: cross_driver KERNELS.so CASE.bin OUT.bin
 * CASE.bin (little-endian int64 unless noted): kernel index, buffer count B, symbol count S,
 * range count R, syms[S], R pairs (tile_begin, tile_end), then per buffer: float count n and n
 * floats. The kernel is called once per range, in order; OUT.bin gets every buffer's floats. */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*kernel_fn)(void* const*, const int64_t*, int64_t, int64_t);
struct table {
  uint32_t magic, abi_version, count, reserved;
  kernel_fn fns[];
};

static int64_t get(FILE* f) {
  int64_t v;
  if (fread(&v, sizeof v, 1, f) != 1) exit(3);
  return v;
}

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  void* lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 4;
  }
  const struct table* t = dlsym(lib, "eave_kernels");
  FILE* in = fopen(argv[2], "rb");
  if (!t || !in) return 5;
  int64_t index = get(in), nb = get(in), ns = get(in), nr = get(in);
  if (index < 0 || index >= (int64_t)t->count) return 6;
  int64_t* syms = malloc(sizeof(int64_t) * (ns + 1));
  int64_t* ranges = malloc(sizeof(int64_t) * 2 * (nr + 1));
  for (int64_t i = 0; i < ns; ++i) syms[i] = get(in);
  for (int64_t i = 0; i < 2 * nr; ++i) ranges[i] = get(in);
  void** buffers = malloc(sizeof(void*) * (nb + 1));
  int64_t* sizes = malloc(sizeof(int64_t) * (nb + 1));
  for (int64_t i = 0; i < nb; ++i) {
    sizes[i] = get(in);
    buffers[i] = malloc(sizeof(float) * (sizes[i] + 1));
    if (fread(buffers[i], sizeof(float), sizes[i], in) != (size_t)sizes[i]) return 7;
  }
  for (int64_t r = 0; r < nr; ++r) t->fns[index](buffers, syms, ranges[2 * r], ranges[2 * r + 1]);
  FILE* out = fopen(argv[3], "wb");
  if (!out) return 8;
  for (int64_t i = 0; i < nb; ++i) fwrite(buffers[i], sizeof(float), sizes[i], out);
  fclose(out);
  return 0;
}
