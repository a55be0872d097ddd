// Loads a kernel shared object with dlopen and finds its `eave_kernels` table. For tests and
// benchmarks only: the runtime has its own ELF loader and never uses dlopen.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/mlir_to_object.h"

namespace eave::codegen {

using KernelFn = void (*)(void* const* buffers, const int64_t* syms, int64_t tile_begin,
                          int64_t tile_end);

class DevKernelLibrary {
 public:
  // Writes `shared_object` to a temporary file and dlopens it; throws Error on failure or when
  // the table's magic, ABI version or count is wrong.
  explicit DevKernelLibrary(const Bytes& shared_object);
  ~DevKernelLibrary();
  DevKernelLibrary(const DevKernelLibrary&) = delete;
  DevKernelLibrary& operator=(const DevKernelLibrary&) = delete;

  uint32_t count() const { return count_; }
  KernelFn kernel(uint32_t i) const;

 private:
  void* handle_ = nullptr;
  const KernelFn* fns_ = nullptr;
  uint32_t count_ = 0;
  std::string path_;
};

}  // namespace eave::codegen
