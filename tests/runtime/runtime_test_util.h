// Helpers for the runtime tests: status checks, owning handles, aligned artifact bytes, the
// host's kernel library and a counting allocator.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "eave/runtime.h"
#include "tests/runtime/test_models.h"

namespace eave::testing {

// Consumes `st`: success if it failed with `code` and its message contains `needle`.
inline ::testing::AssertionResult Fails(eave_status st, eave_status_code code,
                                        const std::string& needle) {
  if (!st)
    return ::testing::AssertionFailure() << "expected an error containing '" << needle << "'";
  std::string msg = eave_status_get_message(st);
  eave_status_code got = eave_status_get_code(st);
  eave_status_release(st);
  if (got != code || msg.find(needle) == std::string::npos)
    return ::testing::AssertionFailure()
           << "got " << eave_status_code_name(got) << ": " << msg << "\nexpected "
           << eave_status_code_name(code) << " containing '" << needle << "'";
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult Ok(eave_status st) {
  if (!st) return ::testing::AssertionSuccess();
  std::string msg = eave_status_get_message(st);
  eave_status_release(st);
  return ::testing::AssertionFailure() << msg;
}

struct ModelRelease {
  void operator()(eave_model* m) const { eave_model_release(m); }
};
struct SessionRelease {
  void operator()(eave_session* s) const { eave_session_release(s); }
};
using ModelPtr = std::unique_ptr<eave_model, ModelRelease>;
using SessionPtr = std::unique_ptr<eave_session, SessionRelease>;

// Artifact bytes at a 64-byte aligned address, as borrowed loads require.
class AlignedBytes {
 public:
  explicit AlignedBytes(const std::vector<uint8_t>& b)
      : size_(b.size()),
        p_(static_cast<uint8_t*>(std::aligned_alloc(64, (b.size() + 64) / 64 * 64))) {
    std::copy(b.begin(), b.end(), p_.get());
  }
  const uint8_t* data() const { return p_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  size_t size_;
  std::unique_ptr<uint8_t, Free> p_;
};

// Loads artifact bytes (copied, so any vector works); the status is returned, model in *out.
inline eave_status load_bytes(const std::vector<uint8_t>& bytes, ModelPtr* out,
                              const eave_model_options* options = nullptr) {
  eave_model_options o;
  eave_model_options_initialize(&o);
  if (options) o = *options;
  o.copy_memory = 1;
  eave_model* m = nullptr;
  eave_status st = eave_model_load_memory(bytes.data(), bytes.size(), &o, &m);
  out->reset(m);
  return st;
}

inline std::string kernel_library_path(const std::string& name) {
  return std::string(EAVE_TEST_KERNELS_DIR) + "/" + name + ".so";
}

inline std::vector<uint8_t> host_kernels() {
  return read_file(kernel_library_path(std::string("test_kernels_") + EAVE_HOST_ARCH));
}

// A writer with the host target and the host's test kernels.
inline void init_host_writer(artifact::ArtifactWriter& w) {
  w.set_target(target_for(EAVE_HOST_ARCH));
  w.set_code(host_kernels());
}

// Counts allocations; fails those beyond a byte budget.
struct CountingAllocator {
  int64_t allocs = 0;
  int64_t frees = 0;
  uint64_t live_bytes = 0;
  uint64_t budget = UINT64_MAX;  // allocation fails if live_bytes would exceed it
  std::vector<std::pair<void*, size_t>> blocks;

  eave_allocator get() { return {this, &CountingAllocator::alloc, &CountingAllocator::release}; }

  static void* alloc(void* self, size_t size, size_t alignment) {
    auto* a = static_cast<CountingAllocator*>(self);
    if (a->live_bytes + size > a->budget) return nullptr;
    void* p = nullptr;
    if (posix_memalign(&p, alignment < sizeof(void*) ? sizeof(void*) : alignment, size ? size : 1))
      return nullptr;
    ++a->allocs;
    a->live_bytes += size;
    a->blocks.push_back({p, size});
    return p;
  }
  static void release(void* self, void* p) {
    if (!p) return;
    auto* a = static_cast<CountingAllocator*>(self);
    ++a->frees;
    for (auto& b : a->blocks)
      if (b.first == p) {
        a->live_bytes -= b.second;
        b = a->blocks.back();
        a->blocks.pop_back();
        break;
      }
    std::free(p);
  }
};

// Binds a float tensor to input `index`.
inline eave_status bind_f32(eave_session* s, int32_t index, std::vector<float>& data,
                            const std::vector<int64_t>& dims) {
  eave_tensor t{EAVE_DTYPE_F32, int32_t(dims.size()), dims.data(), data.data(),
                data.size() * sizeof(float)};
  return eave_session_bind_input(s, index, &t);
}

// Output `index` as floats, with its dims.
inline std::vector<float> output_f32(eave_session* s, int32_t index,
                                     std::vector<int64_t>* dims = nullptr) {
  eave_tensor t;
  EXPECT_TRUE(Ok(eave_session_get_output(s, index, &t)));
  if (dims) dims->assign(t.dims, t.dims + t.rank);
  const float* p = static_cast<const float*>(t.data);
  return std::vector<float>(p, p + t.byte_size / sizeof(float));
}

}  // namespace eave::testing
