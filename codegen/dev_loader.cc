#include "codegen/dev_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "runtime/src/artifact_format.h"
#include "support/error.h"

namespace eave::codegen {

namespace {
struct TableHeader {
  uint32_t magic, abi_version, count, reserved;
};
}  // namespace

DevKernelLibrary::DevKernelLibrary(const Bytes& shared_object) {
  const char* tmp = std::getenv("TMPDIR");
  path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/eave-kernels-XXXXXX.so";
  int fd = mkstemps(path_.data(), 3);
  EAVE_CHECK(fd >= 0, "cannot create '", path_, "'");
  bool ok = write(fd, shared_object.data(), shared_object.size()) == (ssize_t)shared_object.size();
  close(fd);
  EAVE_CHECK(ok, "cannot write '", path_, "'");
  handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
  unlink(path_.c_str());
  EAVE_CHECK(handle_, "dlopen: ", dlerror());
  auto* table = static_cast<const TableHeader*>(dlsym(handle_, EAVE_KERNEL_TABLE_SYMBOL));
  EAVE_CHECK(table, "kernel library has no '", EAVE_KERNEL_TABLE_SYMBOL, "' symbol");
  EAVE_CHECK(table->magic == EAVE_KERNEL_TABLE_MAGIC && table->abi_version == EAVE_KERNEL_ABI_VERSION,
             "kernel table: bad magic or ABI version");
  count_ = table->count;
  fns_ = reinterpret_cast<const KernelFn*>(table + 1);
}

DevKernelLibrary::~DevKernelLibrary() {
  if (handle_) dlclose(handle_);
}

KernelFn DevKernelLibrary::kernel(uint32_t i) const {
  EAVE_CHECK(i < count_, "kernel index ", i, " out of range (", count_, " kernels)");
  return fns_[i];
}

}  // namespace eave::codegen
