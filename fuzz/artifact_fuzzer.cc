// libFuzzer target: the artifact loader (eave_model_load_memory) on arbitrary bytes, then, for
// artifacts that load, a session and a run on zero inputs of the declared shapes. The loader
// must reject anything malformed with a status; nothing may crash or read out of bounds.
// Seeds: artifacts compiled from conformance models (scripts/run-fuzzers makes them), which
// libFuzzer mutates in headers, offsets, sizes and checksums.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "eave/runtime.h"

namespace {

void run_once(eave_model* m) {
  eave_session* s = nullptr;
  if (eave_status st = eave_session_create(m, nullptr, &s)) {
    eave_status_release(st);
    return;
  }
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<std::vector<int64_t>> shapes;
  bool ok = true;
  for (int32_t i = 0; i < eave_model_input_count(m) && ok; ++i) {
    eave_tensor_info info;
    if (eave_status st = eave_model_get_input(m, i, &info)) {
      eave_status_release(st);
      ok = false;
      break;
    }
    if (info.kind != EAVE_VALUE_TENSOR) {  // a sequence: empty; an optional: absent
      if (eave_status st = eave_session_bind_input_list(s, i, info.kind == EAVE_VALUE_SEQUENCE,
                                                        nullptr, 0)) {
        eave_status_release(st);
        ok = false;
      }
      continue;
    }
    std::vector<int64_t> dims;
    uint64_t n = eave_dtype_size(info.dtype);
    for (int32_t d = 0; d < info.rank; ++d) {
      int64_t v = info.dims[d] >= 0 ? info.dims[d] : std::max<int64_t>(1, info.dim_min[d]);
      if (v > 64) v = 64;  // keep fuzzing fast: skip giant inputs
      dims.push_back(v);
      n *= uint64_t(v);
    }
    if (n > (1u << 20)) ok = false;
    shapes.push_back(dims);
    buffers.emplace_back(n, 0);
    eave_tensor t{info.dtype, info.rank, shapes.back().data(), buffers.back().data(), n};
    if (ok)
      if (eave_status st = eave_session_bind_input(s, i, &t)) {
        eave_status_release(st);
        ok = false;
      }
  }
  if (ok)
    if (eave_status st = eave_session_run(s)) eave_status_release(st);
  eave_session_release(s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eave_model_options o;
  eave_model_options_initialize(&o);
  o.copy_memory = 1;
  eave_model* m = nullptr;
  if (eave_status st = eave_model_load_memory(data, size, &o, &m)) {
    eave_status_release(st);
    return 0;
  }
  run_once(m);
  eave_model_release(m);
  return 0;
}
