// fp32 GEMM: eave's packed-B matmul kernel against OpenBLAS, one thread each.
//
// The machine is shared, so: eave and OpenBLAS runs alternate (noise hits both alike); rates
// are reported by this thread's CPU time (time other processes held the core left out) as well
// as by wall time; best and median of the repeats are both printed.
//
//   gemm_bench [--sizes 256,512,2048 | --shapes MxNxK,...] [--repeats 15] [--seconds 0.05]
//              [--target host] [--cpu NAME] [--hugepages]
//              [--variant mr=8,nr=32,kc=256,nc=512,pack_a=1,prefetch=1 ...]
// Each --variant is an extra eave kernel with those tiling fields changed from the chosen
// tiling; all variants run round-robin with OpenBLAS (for tuning).
#include <cblas.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/dev_loader.h"
#include "codegen/matmul_kernel.h"
#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "support/error.h"

namespace {

using namespace eave::codegen;
using Clock = std::chrono::steady_clock;

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], AlignedFree>;

bool g_hugepages = false;

Buffer alloc(size_t n) {
  const size_t align = g_hugepages ? 2 << 20 : 64;
  size_t bytes = (n * sizeof(float) + align - 1) / align * align;
  auto* p = static_cast<float*>(std::aligned_alloc(align, bytes));
  if (g_hugepages) madvise(p, bytes, MADV_HUGEPAGE);
  return Buffer(p);
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
double best(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// GFLOP/s of `iters` calls of `fn`, by CPU time and by wall time, appended to the samples.
struct Samples {
  std::vector<double> cpu, wall;
};
template <class F>
void measure(F&& fn, double flops, int iters, Samples& out) {
  auto t0 = Clock::now();
  double c0 = thread_seconds();
  for (int i = 0; i < iters; ++i) fn();
  double cpu = thread_seconds() - c0;
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  out.cpu.push_back(flops * iters / cpu * 1e-9);
  out.wall.push_back(flops * iters / wall * 1e-9);
}

// "mr=8,kc=512,prefetch=0" applied to `t`.
MatmulTiling apply_variant(MatmulTiling t, const std::string& v) {
  for (size_t pos = 0; pos < v.size();) {
    size_t end = v.find(',', pos);
    if (end == std::string::npos) end = v.size();
    std::string item = v.substr(pos, end - pos);
    size_t eq = item.find('=');
    if (eq == std::string::npos) eave::fail("bad --variant item '", item, "'");
    std::string key = item.substr(0, eq);
    int64_t value = std::strtoll(item.c_str() + eq + 1, nullptr, 10);
    if (key == "mr") t.mr = value;
    else if (key == "nr") t.nr = value;
    else if (key == "kc") t.kc = value;
    else if (key == "nc") t.nc = value;
    else if (key == "pack_a") t.pack_a = value;
    else if (key == "prefetch") t.prefetch_c = value;
    else if (key == "prefetch_a") t.prefetch_a = value;
    else if (key == "unroll") t.k_unroll = value;
    else eave::fail("unknown --variant field '", key, "'");
    pos = end + 1;
  }
  t.tile_rows = 4 * t.mr;
  if (t.col_tile) t.col_tile = t.nc;
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::array<int64_t, 3>> shapes = {{256, 256, 256}, {512, 512, 512}, {2048, 2048, 2048}};
  int repeats = 15;
  double seconds = 0.05;
  std::string arch = "host", cpu;
  std::vector<std::string> variants;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(1);
      }
      return argv[++i];
    };
    if (a == "--sizes") {
      shapes.clear();
      for (int64_t n : parse_list(next())) shapes.push_back({n, n, n});
    } else if (a == "--shapes") {
      shapes.clear();
      std::vector<int64_t> v;
      for (const char* p = next(); *p;) {
        char* e;
        v.push_back(std::strtoll(p, &e, 10));
        p = *e ? e + 1 : e;
      }
      for (size_t j = 0; j + 2 < v.size(); j += 3) shapes.push_back({v[j], v[j + 1], v[j + 2]});
    } else if (a == "--repeats") {
      repeats = std::atoi(next());
    } else if (a == "--seconds") {
      seconds = std::atof(next());
    } else if (a == "--target") {
      arch = next();
    } else if (a == "--cpu") {
      cpu = next();
    } else if (a == "--variant") {
      variants.push_back(next());
    } else if (a == "--hugepages") {
      g_hugepages = true;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 1;
    }
  }
  // OpenBLAS 0.3.21 (Debian 12) takes Sapphire/Emerald Rapids for a Prescott and runs its SSE3
  // kernels there. It reads OPENBLAS_CORETYPE when it loads, so fix that by re-executing.
  if (!std::getenv("OPENBLAS_CORETYPE") && std::strcmp(openblas_get_corename(), "Prescott") == 0 &&
      __builtin_cpu_supports("avx512f")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    execv("/proc/self/exe", argv);
  }
  openblas_set_num_threads(1);
  try {
    TargetSpec target = preset_target(arch, cpu);
    std::printf("eave:     %s, cpu %s, one thread\n", target.triple.c_str(), target.cpu.c_str());
    std::printf("OpenBLAS: %s, one thread\n", openblas_get_config());
    std::printf("%d repeats of ~%.2f s per kernel, round-robin. GFLOP/s by thread CPU time "
                "(best, median), then by wall time.\n\n", repeats, seconds);
    std::printf("%-15s %-22s %9s %9s  %7s %7s  %9s %9s  %s\n", "M x N x K", "kernel", "best",
                "median", "/OpenBLAS", "(med)", "wall best", "wall med", "max rel err");
    for (auto [m, n, k] : shapes) {
      MatmulSpec spec;
      spec.m_sym = 0;
      spec.n = n;
      spec.k = k;
      const MatmulTiling chosen = choose_matmul_tiling(spec, target);
      std::vector<MatmulTiling> tilings = {chosen};
      for (const std::string& v : variants) tilings.push_back(apply_variant(chosen, v));
      std::vector<MatmulKernelRequest> requests;
      std::vector<std::string> symbols;
      for (size_t i = 0; i < tilings.size(); ++i) {
        symbols.push_back("gemm" + std::to_string(i));
        requests.push_back({spec, tilings[i], symbols.back()});
      }
      DevKernelLibrary lib(link_shared_object(
          {compile_matmul_kernels(requests, target), emit_kernel_table_object(symbols, target)},
          target));

      Buffer a = alloc(m * k), b = alloc(k * n), c = alloc(m * n), c_ref = alloc(m * n);
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (int64_t i = 0; i < m * k; ++i) a[i] = dist(rng);
      for (int64_t i = 0; i < k * n; ++i) b[i] = dist(rng);
      auto run_blas = [&] {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.get(), k, b.get(),
                    n, 0.0f, c_ref.get(), n);
      };
      run_blas();

      struct Eave {
        std::vector<Buffer::pointer> keep;
        Buffer packed;
        KernelFn fn;
        int64_t tiles;
        Samples s;
        double err = 0;
      };
      std::vector<Eave> kernels(tilings.size());
      int64_t syms[] = {m};
      for (size_t v = 0; v < tilings.size(); ++v) {
        Eave& e = kernels[v];
        e.packed = alloc(packed_rhs_elements(spec, tilings[v]));
        pack_matmul_rhs(b.get(), false, spec, tilings[v], e.packed.get());
        e.fn = lib.kernel(v);
        e.tiles = matmul_tile_count(spec, tilings[v], m);
        void* buffers[] = {a.get(), e.packed.get(), c.get()};
        e.fn(buffers, syms, 0, e.tiles);
        double max_err = 0, max_ref = 0;
        for (int64_t i = 0; i < m * n; ++i) {
          max_err = std::max(max_err, (double)std::fabs(c[i] - c_ref[i]));
          max_ref = std::max(max_ref, (double)std::fabs(c_ref[i]));
        }
        e.err = max_err / max_ref;
      }
      const double flops = 2.0 * m * n * k;
      auto t0 = Clock::now();
      run_blas();
      double once = std::chrono::duration<double>(Clock::now() - t0).count();
      const int iters = std::max(1, (int)(seconds / std::max(once, 1e-7)));
      Samples blas;
      for (int r = 0; r < repeats; ++r) {
        measure(run_blas, flops, iters, blas);
        for (Eave& e : kernels) {
          void* buffers[] = {a.get(), e.packed.get(), c.get()};
          measure([&] { e.fn(buffers, syms, 0, e.tiles); }, flops, iters, e.s);
        }
      }
      char shape[48];
      std::snprintf(shape, sizeof shape, "%ldx%ldx%ld", (long)m, (long)n, (long)k);
      const double bb = best(blas.cpu), bm = median(blas.cpu);
      for (size_t v = 0; v < kernels.size(); ++v) {
        const MatmulTiling& t = tilings[v];
        char name[64];
        std::snprintf(name, sizeof name, "eave %ldx%ld kc%ld nc%ld u%ld%s%s%s", (long)t.mr, (long)t.nr,
                      (long)t.kc, (long)t.nc, (long)t.k_unroll, t.pack_a ? "" : " noA", t.prefetch_c ? "" : " nopf", t.prefetch_a ? "" : " nopfA");
        const Samples& s = kernels[v].s;
        std::printf("%-15s %-22s %9.1f %9.1f  %7.3f %7.3f  %9.1f %9.1f  %.0e\n", shape, name,
                    best(s.cpu), median(s.cpu), best(s.cpu) / bb, median(s.cpu) / bm,
                    best(s.wall), median(s.wall), kernels[v].err);
      }
      std::printf("%-15s %-22s %9.1f %9.1f  %7s %7s  %9.1f %9.1f\n", shape, "OpenBLAS", bb, bm, "",
                  "", best(blas.wall), median(blas.wall));
      std::fflush(stdout);
    }
  } catch (const eave::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
