// Runtime stress test (a program, bounded in time): one loaded model shared by 8 threads, each
// with its own session, each running many times; every output must be bit-identical to a
// single-threaded run, and RSS must stay flat after warm-up (no leak). Then many models are
// loaded, run and released in a loop, again without growth.
//
//   runtime_stress [--runs N] [--model-runs M] [--model FILE.onnx]...
//
// The built-in MLP runs N times per thread; each --model (default: resnet18 from the model
// cache) runs M times per thread (default N / 50, which keeps ctest's run short; `make stress`
// runs the full 1000).
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "compiler/compile.h"
#include "import/onnx_importer.h"
#include "lowering/mlir_kernel_generator.h"
#include "tests/test_util.h"
#include "tools/runtime_session.h"

using namespace eave;

namespace {

// Under AddressSanitizer freed memory sits in a quarantine, so RSS grows without a leak; there
// LeakSanitizer checks for leaks at exit instead, and RSS is printed but not judged.
#if defined(__SANITIZE_ADDRESS__) || (defined(__has_feature) && __has_feature(address_sanitizer))
constexpr bool kJudgeRss = false;
#else
constexpr bool kJudgeRss = true;
#endif

long rss_kb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * 4;
}

std::unique_ptr<Model> mlp_model() {
  eave::testing::GraphBuilder b;
  Value* x = b.input("x", DType::F32, {Dim::symbol("batch"), 256});
  Value* h = b.op(OpKind::Relu, {b.op(OpKind::MatMul, {x, b.random("w1", {256, 512}, 1)})});
  Value* y = b.op(OpKind::Add, {b.op(OpKind::MatMul, {h, b.random("w2", {512, 64}, 2)}), b.random("b", {64}, 3)});
  b.output(b.op(OpKind::Sigmoid, {y}));
  return std::move(b.model);
}

bool same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].dims() != b[i].dims() || a[i].nbytes() != b[i].nbytes() ||
        std::memcmp(a[i].raw(), b[i].raw(), a[i].nbytes()) != 0)
      return false;
  return true;
}

// Returns false on any failure, printing why.
bool stress(const std::string& name, std::vector<uint8_t> artifact, int threads, int runs) {
  auto model = RuntimeModel::load_memory(artifact);
  std::map<std::string, int64_t> dims = {{"batch", 4}};
  std::mt19937 rng(1);
  std::vector<std::pair<std::string, Tensor>> inputs;
  for (const auto& io : model->inputs()) {
    std::vector<int64_t> shape;
    for (size_t d = 0; d < io.dims.size(); ++d) shape.push_back(io.dims[d] >= 0 ? io.dims[d] : 4);
    inputs.emplace_back(io.name, eave::testing::random_tensor(io.dtype, shape, 11));
  }
  std::vector<Tensor> expected;
  {
    RuntimeSession s(model, 1);
    expected = s.run(inputs);
  }
  std::atomic<int> mismatches{0}, errors{0};
  long rss_after_warmup = 0;
  std::atomic<int> warm{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        RuntimeSession s(model, 1);
        s.bind(inputs);
        for (int r = 0; r < runs; ++r) {
          s.run_bound();
          if (r % 50 == 0 && !same_bits(s.outputs(), expected)) ++mismatches;
          if (r == 10) ++warm;
        }
        if (!same_bits(s.outputs(), expected)) ++mismatches;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "thread %d: %s\n", t, e.what());
        ++errors;
      }
    });
  }
  while (warm.load() < threads && errors.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  rss_after_warmup = rss_kb();
  for (auto& th : pool) th.join();
  long rss_end = rss_kb();
  std::printf("%s: %d threads x %d runs, %d mismatches, %d errors, RSS %ld -> %ld KiB\n", name.c_str(),
              threads, runs, mismatches.load(), errors.load(), rss_after_warmup, rss_end);
  // Finished sessions free their memory: RSS must not have grown by more than a few MiB.
  return mismatches == 0 && errors == 0 && (!kJudgeRss || rss_end <= rss_after_warmup + 8 * 1024);
}

bool load_release_loop(const std::vector<uint8_t>& artifact, int loops) {
  long before = 0;
  for (int i = 0; i < loops; ++i) {
    auto model = RuntimeModel::load_memory(artifact);
    RuntimeSession s(model, 2);
    std::vector<std::pair<std::string, Tensor>> inputs;
    for (const auto& io : model->inputs()) {
      std::vector<int64_t> shape;
      for (int64_t d : io.dims) shape.push_back(d >= 0 ? d : 2);
      inputs.emplace_back(io.name, Tensor(io.dtype, shape));
    }
    s.run(inputs);
    if (i == loops / 10) before = rss_kb();
  }
  long after = rss_kb();
  std::printf("load/run/release x %d: RSS %ld -> %ld KiB\n", loops, before, after);
  return !kJudgeRss || after <= before + 4 * 1024;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 1000;
  int model_runs = 0;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--model-runs") && i + 1 < argc) model_runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--model") && i + 1 < argc) models.push_back(argv[++i]);
  }
  if (model_runs <= 0) model_runs = std::max(1, runs / 50);
  use_mlir_kernel_generator();
  bool ok = true;
  try {
    auto m = mlp_model();
    CompiledModel c = compile_model(*m, {});
    ok &= stress("mlp", c.artifact, 8, runs);
    ok &= load_release_loop(c.artifact, 300);
    std::string cache = std::getenv("EAVE_CACHE") ? std::getenv("EAVE_CACHE")
                                                  : std::string(std::getenv("HOME")) + "/.cache/eave";
    if (models.empty() && std::filesystem::exists(cache + "/models/resnet18.onnx"))
      models.push_back(cache + "/models/resnet18.onnx");
    for (const std::string& path : models) {
      try {
        auto big = import_onnx_file(path);
        CompileOptions o;
        o.input_shapes = {};
        CompiledModel bc = compile_model(*big, o);
        ok &= stress(std::filesystem::path(path).stem().string(), bc.artifact, 8, model_runs);
      } catch (const Error& e) {
        std::printf("SKIP %s: %s\n", path.c_str(), e.what());
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf(ok ? "stress: OK\n" : "stress: FAILED\n");
  return ok ? 0 : 1;
}
