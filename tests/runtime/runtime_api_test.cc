// The runtime through its public API: artifacts built with the writer over real native
// kernels (kernels/test_kernels.c), loaded by the ELF loader, run by the executor.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "runtime/src/session.h"  // white-box: arena capacity after re-plans
#include "support/half.h"
#include "tests/runtime/runtime_test_util.h"

namespace eave::testing {
namespace {

using namespace artifact;

std::vector<float> iota_f32(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * float(int(i % 23) - 11);
  return v;
}

ModelPtr load_ok(const ArtifactWriter& w) {
  ModelPtr m;
  EXPECT_TRUE(Ok(load_bytes(w.bytes(), &m)));
  return m;
}

// One of test_models.h's models for the host, loaded.
ModelPtr host_model(void (*build)(ArtifactWriter&)) {
  ArtifactWriter w;
  init_host_writer(w);
  build(w);
  return load_ok(w);
}

SessionPtr session(eave_model* m, int32_t threads = 1, const eave_allocator* alloc = nullptr) {
  eave_session_options o;
  eave_session_options_initialize(&o);
  o.threads = threads;
  if (alloc) o.allocator = *alloc;
  eave_session* s = nullptr;
  EXPECT_TRUE(Ok(eave_session_create(m, &o, &s)));
  return SessionPtr(s);
}

void expect_smoke_output(eave_session* s, const std::vector<float>& x, int64_t batch) {
  std::vector<int64_t> dims;
  std::vector<float> z = output_f32(s, 0, &dims);
  ASSERT_EQ(dims, (std::vector<int64_t>{batch, 16}));
  for (int64_t i = 0; i < batch * 16; ++i)
    ASSERT_FLOAT_EQ(z[i], 2.0f * (std::exp(x[i]) + 0.5f * float(i % 16))) << "element " << i;
}

TEST(RuntimeApi, SmokeModelReportsInputsAndOutputs) {
  ModelPtr m = host_model(build_smoke_model);
  ASSERT_EQ(eave_model_input_count(m.get()), 1);
  ASSERT_EQ(eave_model_output_count(m.get()), 1);
  eave_tensor_info in;
  ASSERT_TRUE(Ok(eave_model_get_input(m.get(), 0, &in)));
  EXPECT_STREQ(in.name, "x");
  EXPECT_EQ(in.dtype, EAVE_DTYPE_F32);
  ASSERT_EQ(in.rank, 2);
  EXPECT_EQ(in.dims[0], -1);
  EXPECT_STREQ(in.dim_symbols[0], "batch");
  EXPECT_EQ(in.dim_min[0], 1);
  EXPECT_EQ(in.dim_max[0], 64);
  EXPECT_EQ(in.dims[1], 16);
  EXPECT_EQ(in.dim_symbols[1], nullptr);
  eave_tensor_info out;
  ASSERT_TRUE(Ok(eave_model_get_output(m.get(), 0, &out)));
  EXPECT_STREQ(out.name, "z");
  int32_t index = -1;
  ASSERT_TRUE(Ok(eave_model_find_output(m.get(), "z", &index)));
  EXPECT_EQ(index, 0);
}

TEST(RuntimeApi, ElementwiseKernelTiledOverThreads) {
  ModelPtr m = host_model(build_smoke_model);
  SessionPtr s = session(m.get(), 4);
  for (int64_t batch : {37, 1, 64}) {
    std::vector<float> x = iota_f32(size_t(batch) * 16, 0.125f);
    ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x, {batch, 16})));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    expect_smoke_output(s.get(), x, batch);
  }
}

TEST(RuntimeApi, DynamicBatchReplansArenaOnlyWhenShapesGrow) {
  ModelPtr m = host_model(build_chain_model);
  CountingAllocator counter;
  eave_allocator a = counter.get();
  SessionPtr s = session(m.get(), 2, &a);
  const eave_arena_state& arena = s->arenas[0];
  // The compiler planned batch 4: 3 values of 256 bytes, t1 and t3 sharing.
  EXPECT_EQ(m->programs[0].arena_size, 512u);
  struct Run {
    int64_t batch;
    bool allocates;
  };
  for (Run r : {Run{4, true}, Run{4, false}, Run{3, false}, Run{100, true}, Run{100, false},
                Run{10, false}}) {
    std::vector<float> x = iota_f32(size_t(r.batch) * 16, 0.5f);
    ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x, {r.batch, 16})));
    int64_t before = counter.allocs;
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    EXPECT_EQ(counter.allocs > before, r.allocates) << "batch " << r.batch;
    std::vector<float> z = output_f32(s.get(), 0);
    ASSERT_EQ(z.size(), size_t(r.batch) * 16);
    for (size_t i = 0; i < z.size(); ++i) ASSERT_FLOAT_EQ(z[i], -4.0f * x[i] + float(r.batch));
  }
  EXPECT_GE(arena.capacity, 2u * 100 * 16 * 4);  // re-planned: t1 and t3 still share
  EXPECT_LT(arena.capacity, 3u * 100 * 16 * 4);
}

TEST(RuntimeApi, AliasesViewWithoutCopying) {
  ArtifactWriter w;
  init_host_writer(w);
  SymbolId n = w.add_dim_symbol("n", {2, 64}, 4);
  SymbolId elems = w.add_expr_symbol("n*16", Expr::sym(n) * 16);
  SymbolId rest = w.add_expr_symbol("n-1", Expr::sym(n) - 1, {1, 63});
  SymbolId rest_elems = w.add_expr_symbol("(n-1)*16", Expr::sym(rest) * 16);
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId t = p.add_arena("t", EAVE_DTYPE_F32, {Dim::sym(n), 16});
  ValueId flat = p.add_alias("flat", EAVE_DTYPE_F32, {Dim::sym(elems)}, t);             // Reshape
  ValueId tail = p.add_alias("tail", EAVE_DTYPE_F32, {Dim::sym(rest), 16}, t, 16 * 4);  // Slice
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {Dim::sym(elems)});
  ValueId z = p.add_output("z", EAVE_DTYPE_F32, {Dim::sym(rest), 16});
  p.add_kernel("scale", kScale2, Dim::sym(elems), {x}, {t});
  p.add_kernel("add_n", kAddSymbol0, Dim::sym(elems), {flat}, {y});
  p.add_kernel("negate_tail", kNegate, Dim::sym(rest_elems), {tail}, {z});
  ModelPtr m = load_ok(w);
  SessionPtr s = session(m.get());
  std::vector<float> x_data = iota_f32(5 * 16, 1.0f);
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x_data, {5, 16})));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  std::vector<int64_t> ydims, zdims;
  std::vector<float> y_data = output_f32(s.get(), 0, &ydims);
  std::vector<float> z_data = output_f32(s.get(), 1, &zdims);
  EXPECT_EQ(ydims, (std::vector<int64_t>{80}));
  EXPECT_EQ(zdims, (std::vector<int64_t>{4, 16}));
  for (int i = 0; i < 80; ++i) ASSERT_FLOAT_EQ(y_data[i], 2 * x_data[i] + 5);
  for (int i = 0; i < 64; ++i) ASSERT_FLOAT_EQ(z_data[i], -2 * x_data[16 + i]);
}

TEST(RuntimeApi, NonZeroDefinesRuntimeSymbolAndHeapOutput) {
  ArtifactWriter w;
  init_host_writer(w);
  SymbolId n = w.add_dim_symbol("n", {0, 1000}, 8);
  SymbolId count = w.add_runtime_symbol("nonzero_count");
  SymbolId count2 = w.add_runtime_symbol("nonzero_count_2");
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {Dim::sym(n)});
  ValueId direct = p.add_output("direct", EAVE_DTYPE_I64, {1, Dim::sym(count)});
  ValueId heap = p.add_heap("heap", EAVE_DTYPE_I64, {1, Dim::sym(count2)});
  ValueId copied = p.add_output("copied", EAVE_DTYPE_I64, {1, Dim::sym(count2)});
  p.add_builtin("NonZero_0", Builtin::NONZERO, {x}, {direct});
  p.add_builtin("NonZero_1", Builtin::NONZERO, {x}, {heap});
  p.add_builtin("Copy", Builtin::COPY, {heap}, {copied});
  ModelPtr m = load_ok(w);
  CountingAllocator counter;
  eave_allocator a = counter.get();
  SessionPtr s = session(m.get(), 1, &a);
  for (std::vector<float> x :
       {std::vector<float>{0, 1.5f, -0.0f, 0, 2, 0, 0, -3},
        std::vector<float>{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, std::vector<float>{0, 0}}) {
    std::vector<int64_t> expected;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i] != 0) expected.push_back(int64_t(i));
    ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x, {int64_t(x.size())})));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    for (int32_t out = 0; out < 2; ++out) {
      eave_tensor t;
      ASSERT_TRUE(Ok(eave_session_get_output(s.get(), out, &t)));
      ASSERT_EQ(t.dtype, EAVE_DTYPE_I64);
      ASSERT_EQ(t.rank, 2);
      EXPECT_EQ(t.dims[0], 1);
      ASSERT_EQ(t.dims[1], int64_t(expected.size()));
      const int64_t* idx = static_cast<const int64_t*>(t.data);
      EXPECT_EQ(std::vector<int64_t>(idx, idx + expected.size()), expected);
    }
  }
  // Heap values and outputs keep their blocks: a run with no more nonzeros allocates nothing.
  std::vector<float> again = {1, 0, 1, 0, 1, 0, 1, 0};
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, again, {8})));
  int64_t before = counter.allocs;
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  EXPECT_EQ(counter.allocs, before);
}

TEST(RuntimeApi, IfRunsTheChosenBranch) {
  ModelPtr m = host_model(build_if_model);
  SessionPtr s = session(m.get(), 2);
  std::vector<float> x = iota_f32(3 * 16, 0.25f);
  ASSERT_TRUE(Ok(bind_f32(s.get(), 1, x, {3, 16})));
  for (uint8_t c : {1, 0, 1}) {
    eave_tensor cond{EAVE_DTYPE_BOOL, 0, nullptr, &c, 1};
    ASSERT_TRUE(Ok(eave_session_bind_input(s.get(), 0, &cond)));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    std::vector<float> y = output_f32(s.get(), 0);
    ASSERT_EQ(y.size(), x.size());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_FLOAT_EQ(y[i], c ? 2 * x[i] : -x[i]);
  }
}

TEST(RuntimeApi, LoopRunsTheBodyTripCountTimes) {
  ArtifactWriter w;
  init_host_writer(w);
  ProgramBuilder& body = w.add_program("body");
  body.add_input("iter", EAVE_DTYPE_I64, {});
  ValueId cond_in = body.add_input("cond", EAVE_DTYPE_BOOL, {});
  ValueId state = body.add_input("state", EAVE_DTYPE_F32, {4});
  body.add_output_value(cond_in);
  ValueId next = body.add_output("next", EAVE_DTYPE_F32, {4});
  body.add_kernel("double", kScale2, 4, {state}, {next});
  ProgramBuilder& p = w.main();
  ValueId trips = p.add_input("trips", EAVE_DTYPE_I64, {});
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {4});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {4});
  p.add_loop("Loop_0", trips, std::nullopt, {x}, {y}, body.id());
  ModelPtr m = load_ok(w);
  SessionPtr s = session(m.get());
  std::vector<float> x_data = {1, -2, 3.5f, 0};
  ASSERT_TRUE(Ok(bind_f32(s.get(), 1, x_data, {4})));
  for (int64_t n : {3, 0, 1}) {
    eave_tensor t{EAVE_DTYPE_I64, 0, nullptr, &n, 8};
    ASSERT_TRUE(Ok(eave_session_bind_input(s.get(), 0, &t)));
    ASSERT_TRUE(Ok(eave_session_run(s.get())));
    std::vector<float> y_data = output_f32(s.get(), 0);
    for (int i = 0; i < 4; ++i) ASSERT_FLOAT_EQ(y_data[i], x_data[i] * float(1 << n));
  }
}

TEST(RuntimeApi, HalfConversionsResolveToRuntimeImports) {
  ArtifactWriter w;
  init_host_writer(w);
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {8});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {8});
  p.add_kernel("round_to_half", kRoundToHalf, 8, {x}, {y});
  ModelPtr m = load_ok(w);
  SessionPtr s = session(m.get());
  std::vector<float> x_data = {0.1f, 1.0f / 3, -65504.0f, 70000.0f, 1e-7f, -0.0f, 2049.0f, 6e-5f};
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x_data, {8})));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  std::vector<float> y_data = output_f32(s.get(), 0);
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(float_bits(y_data[i]), float_bits(half_bits_to_float(float_to_half_bits(x_data[i]))))
        << "x = " << x_data[i];
}

TEST(RuntimeApi, OneModelServesSessionsOnManyThreads) {
  ModelPtr m = host_model(build_chain_model);
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      SessionPtr s = session(m.get(), 1 + t % 2);
      for (int iter = 0; iter < 25; ++iter) {
        int64_t batch = 1 + (t * 7 + iter * 3) % 40;
        std::vector<float> x = iota_f32(size_t(batch) * 16, 0.5f + float(t));
        if (!Ok(bind_f32(s.get(), 0, x, {batch, 16})) || !Ok(eave_session_run(s.get()))) {
          ++failures[t];
          continue;
        }
        std::vector<float> z = output_f32(s.get(), 0);
        for (size_t i = 0; i < z.size(); ++i)
          if (z[i] != -4.0f * x[i] + float(batch)) ++failures[t];
      }
    });
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(RuntimeApi, LoadsFromFileAndFromMemory) {
  ArtifactWriter w;
  init_host_writer(w);
  build_smoke_model(w);
  std::vector<uint8_t> bytes = w.bytes();
  std::string path = ::testing::TempDir() + "/smoke_load_test.eave";
  w.write_file(path);
  eave_model* m = nullptr;
  ASSERT_TRUE(Ok(eave_model_load_file(path.c_str(), nullptr, &m)));
  eave_model_release(m);
  EXPECT_TRUE(Fails(eave_model_load_file("/nonexistent/model.eave", nullptr, &m),
                    EAVE_STATUS_NOT_FOUND, "cannot open '/nonexistent/model.eave'"));

  AlignedBytes aligned(bytes);
  ASSERT_TRUE(Ok(eave_model_load_memory(aligned.data(), aligned.size(), nullptr, &m)));
  SessionPtr s = session(m);
  eave_model_release(m);  // the session keeps the model alive
  std::vector<float> x = iota_f32(32, 0.1f);
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x, {2, 16})));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  expect_smoke_output(s.get(), x, 2);

  std::vector<uint8_t> shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  const uint8_t* odd = shifted.data() + 1;
  if (reinterpret_cast<uintptr_t>(odd) % 64 == 0) odd = nullptr;  // unlikely; skip the check
  if (odd)
    EXPECT_TRUE(Fails(eave_model_load_memory(odd, bytes.size(), nullptr, &m),
                      EAVE_STATUS_INVALID_ARGUMENT, "64-byte aligned"));
}

TEST(RuntimeApi, BoundOutputIsWrittenInPlace) {
  ModelPtr m = host_model(build_smoke_model);
  SessionPtr s = session(m.get());
  std::vector<float> x = iota_f32(48, 0.2f), z(48);
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x, {3, 16})));
  ASSERT_TRUE(Ok(eave_session_bind_output(s.get(), 0, z.data(), z.size() * sizeof(float))));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  eave_tensor t;
  ASSERT_TRUE(Ok(eave_session_get_output(s.get(), 0, &t)));
  EXPECT_EQ(t.data, z.data());
  expect_smoke_output(s.get(), x, 3);
}

// Kernels linked into the program, as a firmware build links the compiler's model.o.
void static_scale2(void* const* b, const int64_t*, int64_t t0, int64_t t1) {
  for (int64_t i = t0; i < t1; ++i)
    static_cast<float*>(b[1])[i] = 2 * static_cast<const float*>(b[0])[i];
}
// eave_kernel_table's layout with a fixed number of entries (C++ has no flexible arrays).
struct {
  uint32_t magic, abi_version, count, reserved;
  eave_kernel_fn fns[2];
} static_table = {
    EAVE_KERNEL_TABLE_MAGIC, EAVE_KERNEL_ABI_VERSION, 2, 0, {static_scale2, static_scale2}};

TEST(RuntimeApi, StaticModelNeedsNoCodeSection) {
  ArtifactWriter w;
  w.set_target(target_for(EAVE_HOST_ARCH));  // no CODE
  ProgramBuilder& p = w.main();
  ValueId x = p.add_input("x", EAVE_DTYPE_F32, {4});
  ValueId y = p.add_output("y", EAVE_DTYPE_F32, {4});
  p.add_kernel("scale", 1, 4, {x}, {y});
  AlignedBytes bytes(w.bytes());
  eave_static_model sm = {bytes.data(), bytes.size(), &static_table};
  eave_model* m = nullptr;
  ASSERT_TRUE(Ok(eave_model_load_static(&sm, nullptr, &m)));
  ModelPtr owned(m);
  SessionPtr s = session(m);
  std::vector<float> x_data = {1, 2, 3, 4};
  ASSERT_TRUE(Ok(bind_f32(s.get(), 0, x_data, {4})));
  ASSERT_TRUE(Ok(eave_session_run(s.get())));
  EXPECT_EQ(output_f32(s.get(), 0), (std::vector<float>{2, 4, 6, 8}));
  // Without the kernel table, the same bytes need a CODE section.
  EXPECT_TRUE(Fails(eave_model_load_memory(bytes.data(), bytes.size(), nullptr, &m),
                    EAVE_STATUS_INVALID_ARTIFACT, "missing section CODE"));
}

}  // namespace
}  // namespace eave::testing
