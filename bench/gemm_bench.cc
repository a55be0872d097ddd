// fp32 GEMM: eave's packed-B matmul kernel against OpenBLAS, one thread each, square sizes.
// Runs of the two alternate so machine noise hits both alike; prints best and median GFLOP/s
// of the repeats and the eave/OpenBLAS ratios.
//
//   gemm_bench [--sizes 256,512,2048] [--repeats 9] [--seconds 0.15] [--target host]
//              [--cpu NAME] [--tiling MR,NR,KC,NC] [--no-pack-a]
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/dev_loader.h"
#include "codegen/matmul_kernel.h"
#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "support/error.h"

extern "C" void openblas_set_num_threads(int);

namespace {

using namespace eave::codegen;
using Clock = std::chrono::steady_clock;

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

Buffer alloc(size_t n) {
  size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
  return Buffer(static_cast<float*>(std::aligned_alloc(64, bytes)));
}

std::vector<int64_t> parse_list(const char* s) {
  std::vector<int64_t> v;
  for (char* p = const_cast<char*>(s); *p;) {
    v.push_back(std::strtoll(p, &p, 10));
    if (*p == ',') ++p;
  }
  return v;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Runs `fn` enough times to fill `seconds`; returns GFLOP/s.
template <class F>
double measure(F&& fn, double flops, int iters) {
  auto t0 = Clock::now();
  for (int i = 0; i < iters; ++i) fn();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  return flops * iters / s * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> sizes = {256, 512, 2048};
  int repeats = 9;
  double seconds = 0.15;
  std::string arch = "host", cpu;
  std::vector<int64_t> tiling_override;
  bool pack_a = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--sizes") sizes = parse_list(next());
    else if (a == "--repeats") repeats = std::atoi(next());
    else if (a == "--seconds") seconds = std::atof(next());
    else if (a == "--target") arch = next();
    else if (a == "--cpu") cpu = next();
    else if (a == "--tiling") tiling_override = parse_list(next());
    else if (a == "--no-pack-a") pack_a = false;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 1;
    }
  }
  openblas_set_num_threads(1);
  try {
    TargetSpec target = preset_target(arch, cpu);
    std::printf("target: %s\n", target.triple.c_str());
    std::printf("cpu:    %s, one thread, %d repeats of ~%.2f s each, eave and OpenBLAS alternating\n\n",
                target.cpu.c_str(), repeats, seconds);
    std::printf("%6s  %-8s %10s %10s  %10s %10s  %12s %12s  %s\n", "size", "tiling", "eave best",
                "eave med", "oblas best", "oblas med", "ratio(best)", "ratio(med)", "max rel err");
    for (int64_t n : sizes) {
      MatmulSpec spec;
      spec.m_sym = 0;
      spec.n = n;
      spec.k = n;
      MatmulTiling tiling = choose_matmul_tiling(spec, target);
      if (tiling_override.size() >= 1) tiling.mr = tiling_override[0];
      if (tiling_override.size() >= 2) tiling.nr = tiling_override[1];
      if (tiling_override.size() >= 3) tiling.kc = tiling_override[2];
      if (tiling_override.size() >= 4) tiling.nc = tiling_override[3];
      tiling.tile_rows = tiling.mr * 4;
      tiling.pack_a = pack_a;
      Bytes obj = compile_matmul_kernels({{spec, tiling, "gemm"}}, target);
      Bytes table = emit_kernel_table_object({"gemm"}, target);
      DevKernelLibrary lib(link_shared_object({obj, table}, target));
      KernelFn fn = lib.kernel(0);

      const int64_t m = n, k = n;
      Buffer a = alloc(m * k), b = alloc(k * n), bp = alloc(packed_rhs_elements(spec, tiling));
      Buffer c = alloc(m * n), c_ref = alloc(m * n);
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (int64_t i = 0; i < m * k; ++i) a[i] = dist(rng);
      for (int64_t i = 0; i < k * n; ++i) b[i] = dist(rng);
      pack_matmul_rhs(b.get(), false, spec, tiling, bp.get());
      void* buffers[] = {a.get(), bp.get(), c.get()};
      int64_t syms[] = {m};
      int64_t tiles = matmul_tile_count(tiling, m);
      auto run_eave = [&] { fn(buffers, syms, 0, tiles); };
      auto run_blas = [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.get(), k, b.get(),
                    n, 0.0f, c_ref.get(), n);
      };
      run_eave();
      run_blas();
      double max_err = 0, max_ref = 0;
      for (int64_t i = 0; i < m * n; ++i) {
        max_err = std::max(max_err, (double)std::fabs(c[i] - c_ref[i]));
        max_ref = std::max(max_ref, (double)std::fabs(c_ref[i]));
      }
      const double flops = 2.0 * m * n * k;
      // Iterations per repeat from a timed first call.
      auto t0 = Clock::now();
      run_eave();
      double once = std::chrono::duration<double>(Clock::now() - t0).count();
      int iters = std::max(1, (int)(seconds / std::max(once, 1e-7)));
      std::vector<double> eave_g, blas_g;
      for (int r = 0; r < repeats; ++r) {
        eave_g.push_back(measure(run_eave, flops, iters));
        blas_g.push_back(measure(run_blas, flops, iters));
      }
      double eb = *std::max_element(eave_g.begin(), eave_g.end()), em = median(eave_g);
      double bb = *std::max_element(blas_g.begin(), blas_g.end()), bm = median(blas_g);
      char tl[32];
      std::snprintf(tl, sizeof tl, "%ldx%ld", (long)tiling.mr, (long)tiling.nr);
      std::printf("%6ld  %-8s %10.1f %10.1f  %10.1f %10.1f  %12.3f %12.3f  %.1e\n", (long)n, tl, eb,
                  em, bb, bm, eb / bb, em / bm, max_err / max_ref);
      std::fflush(stdout);
    }
  } catch (const eave::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
