// The packed-B matmul kernel through the real path: compile to an object, link a shared object
// with link_shared_object, dlopen it, call through the kernel ABI, compare with a naive matmul.
#include "codegen/matmul_kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <thread>

#include "codegen_test_util.h"

namespace eave::codegen::testing {
namespace {

struct Case {
  std::string name;
  MatmulSpec spec;
  std::vector<int64_t> ms;  // values of M to run (the static M for a static kernel)
  // Overrides of the chosen tiling (0: keep): small blocks exercise K and N blocking cheaply.
  int64_t kc = 0, nc_panels = 0, tile_groups = 0;
  int pack_a = -1;  // -1: as chosen, 0/1: force reading A in place / copying it
  int64_t k_unroll = 0;
  bool transposed_b = false;
  int64_t col_blocks = -1;  // thread tile columns in N blocks; -1: as chosen, 0: all of N
};

MatmulSpec dyn(int64_t n, int64_t k) {
  MatmulSpec s;
  s.m_sym = 1;  // syms[0] is a decoy
  s.n = n;
  s.k = k;
  return s;
}

std::vector<Case> make_cases() {
  std::vector<Case> cases;
  cases.push_back({"odd_shapes", dyn(45, 29), {1, 2, 3, 7, 8, 9, 15, 31, 33, 100}});
  cases.push_back({"k_is_one", dyn(17, 1), {1, 5, 40}});
  cases.push_back({"n_is_one", dyn(1, 33), {1, 13}});
  cases.push_back({"m_is_one_wide", dyn(515, 70), {1}});
  MatmulSpec fixed = dyn(64, 48);
  fixed.m = 37;
  fixed.m_sym = -1;
  cases.push_back({"static_m", fixed, {37}});
  // Several K blocks (the last partial) and N blocks (the last with the column tail).
  cases.push_back({"blocked", dyn(0, 16 * 3 + 7), {1, 9, 50}, 16, 2, 2});
  // Thread tiles of rows only, and of two N blocks (the last tile one block and the tail).
  Case rows_only = cases.back(), two_blocks = cases.back();
  rows_only.name = "blocked_rows_only";
  rows_only.col_blocks = 0;
  two_blocks.name = "blocked_two_block_columns";
  two_blocks.col_blocks = 2;
  cases.push_back(rows_only);
  cases.push_back(two_blocks);
  MatmulSpec br = dyn(70, 40);
  br.bias = true;
  br.activation = Activation::relu;
  cases.push_back({"bias_relu", br, {3, 21}});
  MatmulSpec brb = dyn(0, 50);
  brb.bias = true;
  brb.activation = Activation::relu;
  cases.push_back({"bias_relu_blocked", brb, {1, 19}, 16, 1, 1});
  MatmulSpec acc = dyn(33, 20);
  acc.accumulate = true;
  cases.push_back({"accumulate", acc, {6, 17}});
  MatmulSpec accb = dyn(0, 37);
  accb.accumulate = true;
  accb.bias = true;
  cases.push_back({"accumulate_bias_blocked", accb, {11}, 8, 1, 1});
  MatmulSpec clip = dyn(0, 41);
  clip.activation = Activation::clip;
  clip.clip_min = -0.5f;
  clip.clip_max = 0.75f;
  cases.push_back({"clip_blocked", clip, {10}, 16, 1, 1});
  cases.push_back({"large", dyn(300, 600), {65}});
  for (int pack : {0, 1}) {
    Case c1{pack ? "odd_shapes_a_copied" : "odd_shapes_a_in_place", dyn(45, 29), {1, 7, 9, 31}};
    c1.pack_a = pack;
    cases.push_back(c1);
    Case c2{pack ? "blocked_a_copied" : "blocked_a_in_place", dyn(0, 16 * 3 + 7), {9, 50}, 16, 2, 2};
    c2.pack_a = pack;
    cases.push_back(c2);
  }
  for (int64_t u : {1, 3}) {
    Case c{"k_unroll_" + std::to_string(u), dyn(0, 16 * 3 + 7), {5, 17}, 16, 1, 1};
    c.k_unroll = u;
    cases.push_back(c);
  }
  Case tb{"transposed_b", dyn(37, 19), {12}};
  tb.transposed_b = true;
  cases.push_back(tb);
  return cases;
}

class MatmulKernelTest : public ::testing::Test {
 protected:
  struct Built {
    Case c;
    MatmulTiling tiling;
    int index;
  };

  static void SetUpTestSuite() {
    target_ = new TargetSpec(host_target());
    built_ = new std::map<std::string, Built>;
    std::vector<MatmulKernelRequest> requests;
    std::vector<std::string> symbols;
    for (Case c : make_cases()) {
      if (c.spec.n == 0) c.spec.n = 1;  // placeholder until the tiling is known
      MatmulTiling t = choose_matmul_tiling(c.spec, *target_);
      if (c.nc_panels) {
        // N: two full blocks, one more full panel and a tail of 5 columns.
        c.spec.n = 2 * c.nc_panels * t.nr + t.nr + 5;
        t = choose_matmul_tiling(c.spec, *target_);
        t.nc = c.nc_panels * t.nr;
        if (t.col_tile) t.col_tile = t.nc;
      }
      if (c.col_blocks >= 0) t.col_tile = c.col_blocks * t.nc;
      if (c.kc) t.kc = c.kc;
      if (c.tile_groups) t.tile_rows = c.tile_groups * t.mr;
      if (c.pack_a >= 0) t.pack_a = c.pack_a;
      if (c.k_unroll) t.k_unroll = c.k_unroll;
      std::string symbol = "mm_" + c.name;
      (*built_)[c.name] = {c, t, (int)requests.size()};
      requests.push_back({c.spec, t, symbol});
      symbols.push_back(symbol);
    }
    lib_ = load_objects({compile_matmul_kernels(requests, *target_)}, symbols, *target_).release();
  }
  static void TearDownTestSuite() {
    delete lib_;
    delete built_;
    delete target_;
  }

  // Runs case `name` for each of its M values, calling the kernel on scrambled tile ranges.
  void run(const std::string& name) {
    const Built& b = built_->at(name);
    const MatmulSpec& s = b.c.spec;
    KernelFn fn = lib_->kernel(b.index);
    GuardedBuffer bmat(s.k * s.n), packed(packed_rhs_elements(s, b.tiling)), bias(s.n);
    bmat.fill_random(2);
    bias.fill_random(3);
    if (b.c.transposed_b) {
      std::vector<float> bt(s.k * s.n);
      for (int64_t kk = 0; kk < s.k; ++kk)
        for (int64_t j = 0; j < s.n; ++j) bt[j * s.k + kk] = bmat[kk * s.n + j];
      pack_matmul_rhs(bt.data(), true, s, b.tiling, packed.data());
    } else {
      pack_matmul_rhs(bmat.data(), false, s, b.tiling, packed.data());
    }
    for (int64_t m : b.c.ms) {
      SCOPED_TRACE("M=" + std::to_string(m) + " N=" + std::to_string(s.n) +
                   " K=" + std::to_string(s.k));
      GuardedBuffer a(m * s.k), c(m * s.n);
      a.fill_random(10 + m);
      std::vector<float> c0(m * s.n);
      if (s.accumulate) {
        c.fill_random(20 + m);
        std::copy(c.data(), c.data() + m * s.n, c0.begin());
      } else {
        c.fill(std::numeric_limits<float>::quiet_NaN());  // every element must be written
      }
      void* buffers[] = {a.data(), packed.data(), c.data(), bias.data()};
      int64_t syms[] = {-12345, m};
      const int64_t tiles = matmul_tile_count(s, b.tiling, m);
      fn(buffers, syms, tiles, tiles + 3);  // past the end: must do nothing
      fn(buffers, syms, 0, 0);              // empty
      // Chunks of 1, 2, 3, ... tiles, run last chunk first.
      std::vector<std::pair<int64_t, int64_t>> ranges;
      for (int64_t t = 0, len = 1; t < tiles; t += len, ++len)
        ranges.push_back({t, std::min(tiles, t + len)});
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) fn(buffers, syms, it->first, it->second);

      std::vector<double> want, magnitude;
      naive_matmul(a.data(), bmat.data(), m, s.n, s.k, want, magnitude);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < s.n; ++j) {
          double& w = want[i * s.n + j];
          if (s.accumulate) {
            w += c0[i * s.n + j];
            magnitude[i * s.n + j] += std::fabs(c0[i * s.n + j]);
          }
          if (s.bias) {
            w += bias[j];
            magnitude[i * s.n + j] += std::fabs(bias[j]);
          }
          if (s.activation == Activation::relu) w = std::max(w, 0.0);
          if (s.activation == Activation::clip) w = std::clamp<double>(w, s.clip_min, s.clip_max);
        }
      EXPECT_EQ(count_mismatches(c.data(), want, magnitude, s.n), 0);
    }
  }

  static TargetSpec* target_;
  static std::map<std::string, Built>* built_;
  static DevKernelLibrary* lib_;
};

TargetSpec* MatmulKernelTest::target_ = nullptr;
std::map<std::string, MatmulKernelTest::Built>* MatmulKernelTest::built_ = nullptr;
DevKernelLibrary* MatmulKernelTest::lib_ = nullptr;

TEST_F(MatmulKernelTest, OddShapesAndManyDynamicM) { run("odd_shapes"); }
TEST_F(MatmulKernelTest, KIsOne) { run("k_is_one"); }
TEST_F(MatmulKernelTest, NIsOne) { run("n_is_one"); }
TEST_F(MatmulKernelTest, MIsOneWide) { run("m_is_one_wide"); }
TEST_F(MatmulKernelTest, StaticM) { run("static_m"); }
TEST_F(MatmulKernelTest, KAndNBlocking) { run("blocked"); }
TEST_F(MatmulKernelTest, BiasRelu) { run("bias_relu"); }
TEST_F(MatmulKernelTest, BiasReluOnlyAfterLastKBlock) { run("bias_relu_blocked"); }
TEST_F(MatmulKernelTest, Accumulate) { run("accumulate"); }
TEST_F(MatmulKernelTest, AccumulateBiasBlocked) { run("accumulate_bias_blocked"); }
TEST_F(MatmulKernelTest, ClipBlocked) { run("clip_blocked"); }
TEST_F(MatmulKernelTest, LargerThanOneBlock) { run("large"); }
TEST_F(MatmulKernelTest, AInPlace) {
  run("odd_shapes_a_in_place");
  run("blocked_a_in_place");
}
TEST_F(MatmulKernelTest, ACopiedToStack) {
  run("odd_shapes_a_copied");
  run("blocked_a_copied");
}
TEST_F(MatmulKernelTest, TransposedBPacking) { run("transposed_b"); }
TEST_F(MatmulKernelTest, KUnrollFactors) {
  run("k_unroll_1");
  run("k_unroll_3");
}

// The runtime's thread pool calls a kernel concurrently on disjoint tile ranges.
TEST_F(MatmulKernelTest, ConcurrentTileRanges) {
  const Built& b = built_->at("large");
  const MatmulSpec& s = b.c.spec;
  const int64_t m = 200;
  GuardedBuffer a(m * s.k), bmat(s.k * s.n), packed(packed_rhs_elements(s, b.tiling)), c(m * s.n);
  a.fill_random(1);
  bmat.fill_random(2);
  pack_matmul_rhs(bmat.data(), false, s, b.tiling, packed.data());
  std::vector<double> want, magnitude;
  naive_matmul(a.data(), bmat.data(), m, s.n, s.k, want, magnitude);
  KernelFn fn = lib_->kernel(b.index);
  const int64_t tiles = matmul_tile_count(s, b.tiling, m);
  for (int round = 0; round < 20; ++round) {
    c.fill(std::nanf(""));
    void* buffers[] = {a.data(), packed.data(), c.data()};
    int64_t syms[] = {0, m};
    std::vector<std::thread> threads;
    for (int64_t t = 0; t < 3; ++t)
      threads.emplace_back([&, t] { fn(buffers, syms, t * tiles / 3, (t + 1) * tiles / 3); });
    for (std::thread& t : threads) t.join();
    ASSERT_EQ(count_mismatches(c.data(), want, magnitude, s.n), 0) << "round " << round;
  }
}

// Other x86 levels run on the (AVX-512) host: AVX2 (6x16 tiles) and baseline x86-64 (SSE2,
// no FMA: multiply + add).
TEST(MatmulOtherX86Levels, AVX2AndBaseline) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) GTEST_SKIP() << "host lacks AVX2";
  for (const char* cpu : {"x86-64-v3", "x86-64"}) {
    SCOPED_TRACE(cpu);
    TargetSpec target = preset_target("x86_64", cpu);
    MatmulSpec s;
    s.m_sym = 0;
    s.n = 45;
    s.k = 37;
    s.bias = true;
    s.activation = Activation::relu;
    MatmulTiling t = choose_matmul_tiling(s, target);
    auto lib = load_objects({compile_matmul_kernels({{s, t, "mm"}}, target)}, {"mm"}, target);
    const int64_t m = 23;
    GuardedBuffer a(m * s.k), b(s.k * s.n), packed(packed_rhs_elements(s, t)), c(m * s.n), bias(s.n);
    a.fill_random(1);
    b.fill_random(2);
    bias.fill_random(3);
    pack_matmul_rhs(b.data(), false, s, t, packed.data());
    void* buffers[] = {a.data(), packed.data(), c.data(), bias.data()};
    int64_t syms[] = {m};
    lib->kernel(0)(buffers, syms, 0, matmul_tile_count(s, t, m));
    std::vector<double> want, magnitude;
    naive_matmul(a.data(), b.data(), m, s.n, s.k, want, magnitude);
    for (int64_t i = 0; i < m * s.n; ++i) {
      want[i] = std::max(0.0, want[i] + bias[i % s.n]);
      magnitude[i] += std::fabs(bias[i % s.n]);
    }
    EXPECT_EQ(count_mismatches(c.data(), want, magnitude, s.n), 0);
  }
}

// The register tile is a linalg.matmul until the schedule: after it, the K loop carries the
// whole tile in vectors (its loads and stores hoisted out of the loop) and multiplies with FMAs
// of B's register-wide rows, unrolled as the tiling says.
TEST(MatmulSchedule, KeepsTheTileInRegistersAcrossTheKLoop) {
  struct Want {
    std::string arch, cpu, tile, row;
  };
  const Want wants[] = {{"x86_64", "znver4", "vector<8x32xf32>", "vector<32xf32>"},
                        {"x86_64", "x86-64-v3", "vector<6x16xf32>", "vector<16xf32>"},
                        {"aarch64", "", "vector<8x12xf32>", "vector<12xf32>"}};
  for (const Want& w : wants) {
    SCOPED_TRACE(w.arch + " " + w.cpu);
    TargetSpec target = preset_target(w.arch, w.cpu);
    MatmulSpec s;
    s.m_sym = 0;
    s.n = 64;
    s.k = 300;  // two K blocks
    MatmulTiling t = choose_matmul_tiling(s, target);
    PrintedStages ir;
    const std::string &bufferized = ir.bufferized, &scheduled = ir.scheduled;
    compile_matmul_kernels({{s, t, "mm"}}, target, ir.options());
    EXPECT_NE(bufferized.find("linalg.matmul {eave.schedule = \"register_tile_u2\"}"),
              std::string::npos) << bufferized;
    EXPECT_EQ(scheduled.find("linalg."), std::string::npos) << scheduled;
    EXPECT_NE(scheduled.find("iter_args"), std::string::npos) << scheduled;
    EXPECT_NE(scheduled.find("-> (" + w.tile + ")"), std::string::npos)
        << "no K loop carries the " << w.tile << " tile\n" << scheduled;
    EXPECT_NE(scheduled.find("vector.fma"), std::string::npos) << scheduled;
    EXPECT_NE(scheduled.find(w.row), std::string::npos) << scheduled;
  }
}

TEST(MatmulTiling, RejectsBadShapes) {
  MatmulSpec s;
  s.n = 0;
  s.k = 4;
  s.m = 3;
  EXPECT_THROW(choose_matmul_tiling(s, host_target()), Error);
  s.n = 4;
  s.m = -1;
  EXPECT_THROW(choose_matmul_tiling(s, host_target()), Error);
}

TEST(MatmulTiling, RegisterTilesPerTarget) {
  MatmulSpec s;
  s.m = 64;
  s.n = 512;
  s.k = 512;
  MatmulTiling avx512 = choose_matmul_tiling(s, preset_target("x86_64", "znver4"));
  EXPECT_EQ(avx512.lanes, 16);
  EXPECT_EQ(avx512.nr, 32);
  MatmulTiling avx2 = choose_matmul_tiling(s, preset_target("x86_64", "x86-64-v3"));
  EXPECT_EQ(avx2.lanes, 8);
  EXPECT_LE(avx2.mr * (avx2.nr / avx2.lanes) + avx2.nr / avx2.lanes + 1, 16);  // fits 16 ymm
  MatmulTiling neon = choose_matmul_tiling(s, preset_target("aarch64"));
  EXPECT_EQ(neon.lanes, 4);
  MatmulTiling rvv = choose_matmul_tiling(s, preset_target("riscv64"));
  EXPECT_EQ(rvv.lanes, 4);
}

}  // namespace
}  // namespace eave::codegen::testing
