/* The smallest complete use of the eave runtime, using only its public header:
 *
 *   hello MODEL.eave
 *
 * loads a model, prints its inputs and outputs, runs it once on inputs filled with ones
 * (dynamic dims take their smallest allowed size, at least 1) and prints the start of each
 * output. */
#include <eave/runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the message of a failed call and exits. */
static void check(eave_status status, const char* what) {
  if (!status) return;
  fprintf(stderr, "hello: %s: %s\n", what, eave_status_get_message(status));
  eave_status_release(status);
  exit(1);
}

static void print_info(const char* kind, const eave_tensor_info* info) {
  printf("%s %s: %s [", kind, info->name, eave_dtype_name(info->dtype));
  for (int32_t a = 0; a < info->rank; ++a) {
    if (info->dims[a] >= 0)
      printf("%s%lld", a ? ", " : "", (long long)info->dims[a]);
    else
      printf("%s%s", a ? ", " : "", info->dim_symbols[a]);
  }
  printf("]\n");
}

/* One element of value 1 in any dtype. */
static void fill_ones(void* data, size_t count, eave_dtype dtype) {
  static const uint16_t half_one = 0x3c00, bf16_one = 0x3f80;
  for (size_t i = 0; i < count; ++i) {
    uint8_t* p = (uint8_t*)data + i * eave_dtype_size(dtype);
    switch (dtype) {
      case EAVE_DTYPE_F32: *(float*)p = 1.0f; break;
      case EAVE_DTYPE_F64: *(double*)p = 1.0; break;
      case EAVE_DTYPE_F16: memcpy(p, &half_one, 2); break;
      case EAVE_DTYPE_BF16: memcpy(p, &bf16_one, 2); break;
      default: /* integers and bool: little-endian 1 */
        memset(p, 0, eave_dtype_size(dtype));
        p[0] = 1;
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: hello MODEL.eave\n");
    return 2;
  }
  eave_model* model = NULL;
  check(eave_model_load_file(argv[1], NULL, &model), "load");
  eave_session* session = NULL;
  check(eave_session_create(model, NULL, &session), "create session");

  int32_t inputs = eave_model_input_count(model);
  int64_t(*dims)[16] = calloc((size_t)inputs + 1, sizeof *dims);
  void** buffers = calloc((size_t)inputs + 1, sizeof *buffers);
  for (int32_t i = 0; i < inputs; ++i) {
    eave_tensor_info info;
    check(eave_model_get_input(model, i, &info), "input info");
    print_info("input", &info);
    size_t count = 1;
    for (int32_t a = 0; a < info.rank && a < 16; ++a) {
      dims[i][a] = info.dims[a] >= 0 ? info.dims[a] : (info.dim_min[a] > 1 ? info.dim_min[a] : 1);
      count *= (size_t)dims[i][a];
    }
    size_t bytes = count * eave_dtype_size(info.dtype);
    buffers[i] = malloc(bytes ? bytes : 1);
    fill_ones(buffers[i], count, info.dtype);
    eave_tensor t = {info.dtype, info.rank, dims[i], buffers[i], bytes};
    check(eave_session_bind_input(session, i, &t), "bind input");
  }
  check(eave_session_run(session), "run");

  for (int32_t i = 0; i < eave_model_output_count(model); ++i) {
    eave_tensor_info info;
    eave_tensor out;
    check(eave_model_get_output(model, i, &info), "output info");
    check(eave_session_get_output(session, i, &out), "output");
    printf("output %s: %s [", info.name, eave_dtype_name(out.dtype));
    for (int32_t a = 0; a < out.rank; ++a) printf("%s%lld", a ? ", " : "", (long long)out.dims[a]);
    printf("]");
    if (out.dtype == EAVE_DTYPE_F32)
      for (size_t k = 0; k < out.byte_size / 4 && k < 4; ++k) printf(" %g", ((float*)out.data)[k]);
    printf("\n");
  }
  eave_session_release(session);
  eave_model_release(model);
  for (int32_t i = 0; i < inputs; ++i) free(buffers[i]);
  free(buffers);
  free(dims);
  return 0;
}
