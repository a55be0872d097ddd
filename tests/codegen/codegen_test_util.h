// Helpers for the codegen tests: guarded buffers, a naive matmul, kernel libraries.
#pragma once

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/dev_loader.h"
#include "codegen/matmul_kernel.h"
#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "tools/tolerance.h"

namespace eave::codegen::testing {

// A kernel's MLIR after bufferization (its structured ops, tagged with their schedules) and
// after the schedules, kept by the options() given to a compile call.
struct PrintedStages {
  std::string bufferized, scheduled;
  CompileOptions options() {
    CompileOptions o;
    o.print_ir_after = {"bufferize", "schedule"};
    o.print = [this](const std::string& step, const std::string& text) {
      (step == "bufferize" ? bufferized : scheduled) = text;
    };
    return o;
  }
};

// `n` floats that end exactly where an inaccessible page begins, so a kernel reading or writing
// past the end faults instead of passing by luck.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t n) : n_(n) {
    const size_t page = sysconf(_SC_PAGESIZE);
    size_t bytes = (n * sizeof(float) + page - 1) / page * page;
    size_ = bytes + page;
    base_ = static_cast<char*>(mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    EXPECT_NE(base_, MAP_FAILED);
    mprotect(base_ + bytes, page, PROT_NONE);
    data_ = reinterpret_cast<float*>(base_ + bytes) - n;
  }
  ~GuardedBuffer() { munmap(base_, size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  float* data() { return data_; }
  float& operator[](size_t i) { return data_[i]; }
  size_t size() const { return n_; }
  void fill_random(uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(lo, hi);
    for (size_t i = 0; i < n_; ++i) data_[i] = d(rng);
  }
  void fill(float v) { std::fill(data_, data_ + n_, v); }

 private:
  char* base_ = nullptr;
  size_t size_ = 0, n_ = 0;
  float* data_ = nullptr;
};

// want[i][j] = sum_k a[i][k] b[k][j] in double, and the magnitude sum_k |a b| for the tolerance.
inline void naive_matmul(const float* a, const float* b, int64_t m, int64_t n, int64_t k,
                         std::vector<double>& want, std::vector<double>& magnitude) {
  want.assign(m * n, 0.0);
  magnitude.assign(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t kk = 0; kk < k; ++kk) {
      double av = a[i * k + kk];
      for (int64_t j = 0; j < n; ++j) {
        want[i * n + j] += av * b[kk * n + j];
        magnitude[i * n + j] += std::fabs(av * b[kk * n + j]);
      }
    }
}

// Number of elements out of tolerance; reports the first few.
inline int count_mismatches(const float* got, const std::vector<double>& want,
                            const std::vector<double>& magnitude, int64_t n_cols,
                            const Tolerance& tol = kF32DotTolerance) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    double limit = tol.atol + tol.rtol * magnitude[i];
    if (!(std::fabs(got[i] - want[i]) <= limit)) {
      if (++bad <= 5)
        ADD_FAILURE() << "C[" << i / n_cols << "][" << i % n_cols << "] = " << got[i]
                      << ", want " << want[i] << " (limit " << limit << ")";
    }
  }
  return bad;
}

// Compiles, adds the table, links and dlopens.
inline std::unique_ptr<DevKernelLibrary> load_objects(std::vector<Bytes> objects,
                                                      const std::vector<std::string>& symbols,
                                                      const TargetSpec& target) {
  objects.push_back(emit_kernel_table_object(symbols, target));
  return std::make_unique<DevKernelLibrary>(link_shared_object(objects, target));
}

}  // namespace eave::codegen::testing
