// libFuzzer target: the ONNX importer plus shape inference on arbitrary bytes. Any input must
// give a model or an eave::Error; a crash, hang, leak or sanitizer report is a bug.
#include <cstddef>
#include <cstdint>

#include "import/onnx_importer.h"
#include "ir/verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto m = eave::import_onnx_bytes(std::string_view(reinterpret_cast<const char*>(data), size),
                                     "/nonexistent-fuzz-dir");
    eave::verify(*m);
  } catch (const eave::Error&) {
  }
  return 0;
}
