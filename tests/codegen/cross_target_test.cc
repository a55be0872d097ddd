// Matmul kernels compiled for aarch64 and riscv64, linked with link_shared_object, run under
// qemu-user by a small driver built with Debian's cross gcc (cross_driver.c). Skips when the
// cross compiler or qemu is not installed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "codegen_test_util.h"

namespace eave::codegen::testing {
namespace {

struct CrossTarget {
  std::string name;
  TargetSpec target;
  std::string gcc;
  std::vector<std::string> qemu_runs;  // each a qemu command prefix; every case runs under each
};

bool installed(const std::string& tool) { return access(("/usr/bin/" + tool).c_str(), X_OK) == 0; }

void write_bytes(const std::string& path, const void* data, size_t n) {
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(data), n);
  ASSERT_TRUE(f.good()) << path;
}

struct CrossCase {
  MatmulSpec spec;
  std::vector<int64_t> ms;
  int64_t kc = 0;  // K block override (0: chosen)
};

void run_cross(const CrossTarget& ct) {
  for (const std::string& tool : {ct.gcc, std::string("qemu-aarch64"), std::string("qemu-riscv64")})
    if (!installed(tool)) GTEST_SKIP() << tool << " is not installed (scripts/install-deps)";
  char dir_template[] = "/tmp/eave-cross-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;

  std::vector<CrossCase> cases;
  MatmulSpec odd;
  odd.m_sym = 0;
  odd.n = 45;
  odd.k = 29;
  cases.push_back({odd, {1, 7, 37}});
  MatmulSpec br = odd;
  br.n = 70;
  br.k = 300;
  br.bias = true;
  br.activation = Activation::relu;
  cases.push_back({br, {13}, 64});  // several K blocks: the epilogue after the last only
  MatmulSpec k1 = odd;
  k1.n = 3;
  k1.k = 1;
  cases.push_back({k1, {9}});

  std::vector<MatmulKernelRequest> requests;
  std::vector<std::string> symbols;
  for (size_t i = 0; i < cases.size(); ++i) {
    MatmulTiling t = choose_matmul_tiling(cases[i].spec, ct.target);
    if (cases[i].kc) t.kc = cases[i].kc;
    symbols.push_back("cross" + std::to_string(i));
    requests.push_back({cases[i].spec, t, symbols.back()});
  }
  Bytes objects = compile_matmul_kernels(requests, ct.target);
  Bytes so = link_shared_object({objects, emit_kernel_table_object(symbols, ct.target)}, ct.target);
  write_bytes(dir + "/kernels.so", so.data(), so.size());
  std::string driver = dir + "/driver";
  std::string build = ct.gcc + " -O1 -o " + driver + " " EAVE_SOURCE_DIR
                      "/tests/codegen/cross_driver.c -ldl 2>" + dir + "/gcc.log";
  ASSERT_EQ(std::system(build.c_str()), 0) << build;

  for (size_t ci = 0; ci < cases.size(); ++ci) {
    const MatmulSpec& s = cases[ci].spec;
    const MatmulTiling& t = requests[ci].tiling;
    std::vector<float> b(s.k * s.n), packed(packed_rhs_elements(s, t)), bias(s.n);
    std::mt19937 rng(ci);
    std::uniform_real_distribution<float> d(-1, 1);
    for (float& x : b) x = d(rng);
    for (float& x : bias) x = d(rng);
    pack_matmul_rhs(b.data(), false, s, t, packed.data());
    for (int64_t m : cases[ci].ms) {
      std::vector<float> a(m * s.k), c(m * s.n, std::nanf(""));
      for (float& x : a) x = d(rng);
      const int64_t tiles = matmul_tile_count(s, t, m);
      std::vector<int64_t> header = {(int64_t)ci, s.bias ? 4 : 3, 1, 2, m, tiles / 2, tiles, 0,
                                     tiles / 2};
      std::vector<const std::vector<float>*> buffers = {&a, &packed, &c};
      if (s.bias) buffers.push_back(&bias);
      std::string case_path = dir + "/case.bin", out_path = dir + "/out.bin";
      {
        std::ofstream f(case_path, std::ios::binary);
        f.write(reinterpret_cast<const char*>(header.data()), header.size() * 8);
        for (const auto* buf : buffers) {
          int64_t n = buf->size();
          f.write(reinterpret_cast<const char*>(&n), 8);
          f.write(reinterpret_cast<const char*>(buf->data()), n * 4);
        }
      }
      for (const std::string& qemu : ct.qemu_runs) {
        SCOPED_TRACE(ct.name + " case " + std::to_string(ci) + " M=" + std::to_string(m) +
                     " under: " + qemu);
        std::remove(out_path.c_str());
        std::string cmd = qemu + " " + driver + " " + dir + "/kernels.so " + case_path + " " +
                          out_path;
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        std::ifstream f(out_path, std::ios::binary);
        std::vector<char> out((std::istreambuf_iterator<char>(f)), {});
        size_t c_offset = (a.size() + packed.size()) * 4;
        ASSERT_GE(out.size(), c_offset + c.size() * 4);
        const float* got = reinterpret_cast<const float*>(out.data() + c_offset);
        std::vector<double> want, magnitude;
        naive_matmul(a.data(), b.data(), m, s.n, s.k, want, magnitude);
        if (s.bias)
          for (int64_t i = 0; i < m * s.n; ++i) {
            want[i] = std::max(0.0, want[i] + bias[i % s.n]);
            magnitude[i] += std::fabs(bias[i % s.n]);
          }
        EXPECT_EQ(count_mismatches(got, want, magnitude, s.n), 0);
      }
    }
  }
  std::system(("rm -rf " + dir).c_str());
}

TEST(CrossTarget, AArch64NeonUnderQemu) {
  run_cross({"aarch64 neoverse-n1", preset_target("aarch64", "neoverse-n1"), "aarch64-linux-gnu-gcc",
             {"qemu-aarch64 -L /usr/aarch64-linux-gnu"}});
}

TEST(CrossTarget, AArch64GenericUnderQemu) {
  run_cross({"aarch64 generic", preset_target("aarch64"), "aarch64-linux-gnu-gcc",
             {"qemu-aarch64 -L /usr/aarch64-linux-gnu"}});
}

TEST(CrossTarget, RiscV64VectorUnderQemu) {
  // The kernels use fixed-length vectors sized for VLEN 128 (what +v guarantees); they must
  // also be right on wider machines.
  run_cross({"riscv64 rv64gcv", preset_target("riscv64"), "riscv64-linux-gnu-gcc",
             {"qemu-riscv64 -cpu rv64,v=true,vlen=128,vext_spec=v1.0 -L /usr/riscv64-linux-gnu",
              "qemu-riscv64 -cpu rv64,v=true,vlen=256,vext_spec=v1.0 -L /usr/riscv64-linux-gnu"}});
}

TEST(CrossTarget, RiscV64ScalarUnderQemu) {
  TargetSpec rv64gc = preset_target("riscv64");
  rv64gc.features = "+m,+a,+f,+d,+c";  // no vector unit: vector<1xf32>, scalar FP registers
  run_cross({"riscv64 rv64gc", rv64gc, "riscv64-linux-gnu-gcc",
             {"qemu-riscv64 -L /usr/riscv64-linux-gnu"}});
}

}  // namespace
}  // namespace eave::codegen::testing
