// libFuzzer target: the .npy parser shared by the CLI and the C runner (runtime/src/npy.c),
// through its C++ wrapper. Any input must parse or give an error; never read out of bounds.
#include <cstddef>
#include <cstdint>

#include "ir/npy_io.h"
#include "runtime/src/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eave_npy_header h;
  char err[128];
  if (eave_npy_parse(data, size, &h, err, sizeof err) == 0) {
    // The header promises data_bytes after data_offset: touch every byte of it.
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < h.data_bytes; ++i) sum += data[h.data_offset + i];
    (void)sum;
  }
  try {
    eave::Tensor t = eave::npy_from_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    std::string back = eave::npy_to_bytes(t);
    eave::Tensor again = eave::npy_from_bytes(back, "round trip");
    if (again.dims() != t.dims() || again.nbytes() != t.nbytes()) __builtin_trap();
  } catch (const eave::Error&) {
  }
  return 0;
}
