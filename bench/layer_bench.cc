// Generated kernels on the layers of real networks, one thread: GFLOP/s of eave's conv /
// depthwise / pool kernels on resnet18 and mobilenet_v2 layers, and of the runtime-operand
// batched matmul on attention shapes (next to a plain triple loop, what a scalar fallback does).
// ONNX Runtime is measured on the same conv layers as single-op models by
// bench/ort_conv_layers.py; this program reports eave's side.
//
// The machine is shared, so rates are by this thread's CPU time (time other processes held the
// core left out) as well as wall time, median and best of the repeats.
//
//   layer_bench [--layers resnet|mobilenet|attention|all|NAME] [--repeats 15] [--seconds 0.05]
//              [--variant method=direct|flat|packed|transposed,mr=N,cb=N,mblock=N,ppt=N,nvec=N,cu=N ...]
//              [--print-ir-after STAGE] [--cold | --cold-all]
// --cold flushes the layer's weights from the caches before every (then single) call, as a
// model's run finds them; --cold-all its input and output too. Each --variant is an extra conv kernel with those tiling fields changed from the chosen
// tiling; all run round-robin with the chosen one (for tuning).
//   layer_bench --model MODEL.eave --input NAME=FILE.npy ... [--threads N] [--runs N]
// The second form times whole runs of a compiled model (bound inputs, session reused), by
// wall clock and by process CPU time: median and minimum per run.
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
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

#include "codegen/batch_matmul_kernel.h"
#include "codegen/conv_kernel.h"
#include "codegen/dev_loader.h"
#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "codegen/window_kernel.h"
#include "ir/npy_io.h"
#include "support/error.h"
#include "tools/runtime_session.h"

namespace {

using namespace eave::codegen;
using Clock = std::chrono::steady_clock;

double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Layer {
  const char* name;
  // C, H, W, M, groups, K, stride, pad (square kernels, symmetric padding)
  int64_t c, h, w, m, groups, k, stride, pad;
  bool pool = false;  // a 3x3/2 max pool (resnet's)
};

const Layer kResnet[] = {
    {"r18.conv1 7x7/2 3->64 224", 3, 224, 224, 64, 1, 7, 2, 3},
    {"r18.maxpool 3x3/2 64 112", 64, 112, 112, 64, 1, 3, 2, 1, true},
    {"r18.l1 3x3 64->64 56", 64, 56, 56, 64, 1, 3, 1, 1},
    {"r18.l2.0 3x3/2 64->128 56", 64, 56, 56, 128, 1, 3, 2, 1},
    {"r18.l2.ds 1x1/2 64->128 56", 64, 56, 56, 128, 1, 1, 2, 0},
    {"r18.l2 3x3 128->128 28", 128, 28, 28, 128, 1, 3, 1, 1},
    {"r18.l3 3x3 256->256 14", 256, 14, 14, 256, 1, 3, 1, 1},
    {"r18.l4 3x3 512->512 7", 512, 7, 7, 512, 1, 3, 1, 1},
    {"r50 1x1 64->256 56", 64, 56, 56, 256, 1, 1, 1, 0},
    {"r50 1x1 256->64 56", 256, 56, 56, 64, 1, 1, 1, 0},
    {"r50 1x1/2 256->512 56", 256, 56, 56, 512, 1, 1, 2, 0},
    {"r50 1x1 512->128 28", 512, 28, 28, 128, 1, 1, 1, 0},
    {"r50 1x1 1024->256 14", 1024, 14, 14, 256, 1, 1, 1, 0},
    {"r50 1x1 2048->512 7", 2048, 7, 7, 512, 1, 1, 1, 0},
};

const Layer kMobilenet[] = {
    {"mv2 dw 3x3 32 112", 32, 112, 112, 32, 32, 3, 1, 1},
    {"mv2 dw 3x3/2 96 112", 96, 112, 112, 96, 96, 3, 2, 1},
    {"mv2 dw 3x3 144 56", 144, 56, 56, 144, 144, 3, 1, 1},
    {"mv2 dw 3x3 576 14", 576, 14, 14, 576, 576, 3, 1, 1},
    {"mv2 dw 3x3 960 7", 960, 7, 7, 960, 960, 3, 1, 1},
    {"mv2 pw 1x1 144->24 56", 144, 56, 56, 24, 1, 1, 1, 0},
    {"mv2 pw 1x1 24->144 56", 24, 56, 56, 144, 1, 1, 1, 0},
    {"mv2 pw 1x1 960->160 7", 960, 7, 7, 160, 1, 1, 1, 0},
};

// Attention's two matmuls (batch = heads): Q·Kᵀ [h, s, d] x [h, d, s], P·V [h, s, s] x [h, s, d].
struct MatmulLayer {
  const char* name;
  int64_t batch, m, n, k;
};

const MatmulLayer kAttention[] = {
    {"bert-base QK^T 12x128x128x64", 12, 128, 128, 64},
    {"bert-base PV 12x128x64x128", 12, 128, 64, 128},
    {"gpt2 QK^T 12x512x512x64", 12, 512, 512, 64},
    {"gpt2 PV 12x512x64x512", 12, 512, 64, 512},
    {"odd 7x77x33x45", 7, 77, 33, 45},
};

struct Options {
  int repeats = 15;
  double seconds = 0.05;
  std::vector<std::string> variants;
  CompileOptions compile;
  bool cold = false;      // flush the weights from the caches before every call (as in a model)
  bool cold_all = false;  // the input and output too
};

// One kernel under test: its library, buffers and tile count.
struct Candidate {
  std::string how;
  std::unique_ptr<DevKernelLibrary> lib;
  std::vector<float> w;  // weights in the kernel's layout
  std::vector<void*> buffers;
  int64_t tiles = 0;
  std::vector<double> cpu, wall;
};

// "method=flat,mr=8,cb=32,mblock=64,ppt=4" applied to a chosen tiling (a method first chooses
// the tiling for that method).
ConvTiling apply_variant(ConvTiling t, const std::string& v, const ConvSpec& spec, const TargetSpec& target) {
  for (const char* name : {"direct", "flat", "packed", "transposed"})
    if (v.find(std::string("method=") + name) != std::string::npos) {
      ConvMethod m = name[0] == 'd' ? ConvMethod::direct : name[0] == 'f' ? ConvMethod::flat
                   : name[0] == 'p' ? ConvMethod::packed : ConvMethod::transposed;
      t = choose_conv_tiling(spec, target, m);
    }
  for (size_t at = 0; at < v.size();) {
    size_t end = v.find(',', at);
    std::string kv = v.substr(at, end == std::string::npos ? std::string::npos : end - at);
    at = end == std::string::npos ? v.size() : end + 1;
    size_t eq = kv.find('=');
    EAVE_CHECK(eq != std::string::npos, "--variant wants key=value, got '", kv, "'");
    std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
    if (key == "method") continue;
    int64_t n = std::atoll(val.c_str());
    if (key == "mr") {
      t.m_block = (t.m_block + t.mr - 1) / t.mr * n;
      t.mr = n;
    } else if (key == "cb") {
      t.c_block = n;
    } else if (key == "mblock") {
      t.m_block = n;
    } else if (key == "ppt") {
      t.panels_per_tile = n;
    } else if (key == "nvec") {
      t.nvec = n;
    } else if (key == "cu") {
      t.c_unroll = n;
    } else {
      eave::fail("--variant: unknown key '", key, "'");
    }
  }
  return t;
}

void run_layer(const Layer& l, const TargetSpec& target, const Options& o) {
  int64_t oh = (l.h + 2 * l.pad - l.k) / l.stride + 1, ow = (l.w + 2 * l.pad - l.k) / l.stride + 1;
  bool window = l.pool || l.groups == l.c;
  std::vector<float> x(l.c * l.h * l.w), y(l.m * oh * ow), bias(l.m);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : x) v = u(rng);
  for (float& v : bias) v = u(rng);
  std::vector<Candidate> cands;
  double flops = 0;
  auto link = [&](const Bytes& obj) {
    return std::make_unique<DevKernelLibrary>(
        link_shared_object({obj, emit_kernel_table_object({"k"}, target)}, target));
  };
  if (window) {
    WindowSpec s;
    s.op = l.pool ? WindowOp::max_pool : WindowOp::depthwise_conv;
    s.n = 1;
    s.c = l.c;
    s.h = l.h;
    s.w = l.w;
    s.kh = s.kw = l.k;
    s.stride_h = s.stride_w = l.stride;
    s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = l.pad;
    s.oh = oh;
    s.ow = ow;
    s.bias = !l.pool;
    WindowTiling t = choose_window_tiling(s, target);
    Candidate c;
    c.lib = link(compile_window_kernel(s, t, "k", target, o.compile));
    c.w.resize(l.m * l.k * l.k);
    for (float& v : c.w) v = u(rng);
    c.buffers = {x.data()};
    if (!l.pool) c.buffers.push_back(c.w.data());
    c.buffers.push_back(y.data());
    if (!l.pool) c.buffers.push_back(bias.data());
    c.tiles = window_tiles_per_image(s, t);
    c.how = "R" + std::to_string(t.rows) + "xV" + std::to_string(t.vecs);
    cands.push_back(std::move(c));
    flops = (l.pool ? 1.0 : 2.0) * l.m * oh * ow * l.k * l.k;
  } else {
    ConvSpec s;
    s.n = 1;
    s.c = l.c;
    s.h = l.h;
    s.w = l.w;
    s.m = l.m;
    s.groups = l.groups;
    s.kh = s.kw = l.k;
    s.stride_h = s.stride_w = l.stride;
    s.pad_top = s.pad_left = l.pad;
    s.oh = oh;
    s.ow = ow;
    s.bias = true;
    std::vector<float> raw(l.m * (l.c / l.groups) * l.k * l.k);
    for (float& v : raw) v = u(rng);
    ConvTiling chosen = choose_conv_tiling(s, target);
    std::vector<std::string> variants = {""};
    variants.insert(variants.end(), o.variants.begin(), o.variants.end());
    for (const std::string& v : variants) {
      ConvTiling t;
      try {
        t = apply_variant(chosen, v, s, target);
      } catch (const eave::Error& e) {
        std::printf("%-30s variant %s: %s\n", l.name, v.c_str(), e.what());
        continue;
      }
      Candidate c;
      c.lib = link(compile_conv_kernel(s, t, "k", target, o.compile));
      c.w.resize(packed_conv_weights_elements(s, t));
      pack_conv_weights(raw.data(), s, t, c.w.data());
      c.buffers = {x.data(), c.w.data(), y.data(), bias.data()};
      c.tiles = conv_tiles_per_image(s, t);
      const char* methods[] = {"direct", "flat", "packed", "transposed"};
      c.how = std::string(methods[int(t.method)]) + " " + std::to_string(t.mr) + "x" +
              std::to_string(t.nr()) + " cb" + std::to_string(t.c_block) + " mb" +
              std::to_string(t.m_block) + " ppt" + std::to_string(t.panels_per_tile) + " cu" + std::to_string(t.c_unroll) + " tiles" +
              std::to_string(c.tiles);
      cands.push_back(std::move(c));
    }
    flops = 2.0 * l.m * oh * ow * (l.c / l.groups) * l.k * l.k;
  }
  int64_t syms[1] = {1};
  auto flush = [](const std::vector<float>& v) {
#if defined(__x86_64__)
    for (size_t i = 0; i < v.size(); i += 16) _mm_clflush(&v[i]);
    _mm_mfence();
#else
    (void)v;
#endif
  };
  auto call = [&](Candidate& c, int iters) {
    KernelFn fn = c.lib->kernel(0);
    for (int i = 0; i < iters; ++i) fn(c.buffers.data(), syms, 0, c.tiles);
  };
  if (o.cold) {
    // One call per sample, the weights flushed first (outside the timed region).
    for (int r = 0; r < o.repeats * 4; ++r)
      for (Candidate& c : cands) {
        flush(c.w);
        if (o.cold_all) {
          flush(x);
          flush(y);
        }
        double c0 = thread_seconds();
        auto t0 = Clock::now();
        call(c, 1);
        double dc = thread_seconds() - c0;
        double dw = std::chrono::duration<double>(Clock::now() - t0).count();
        c.cpu.push_back(flops / dc * 1e-9);
        c.wall.push_back(flops / dw * 1e-9);
      }
    for (Candidate& c : cands)
      std::printf("%-30s %-44s %8.1f us  cpu GFLOP/s median %7.1f best %7.1f  wall median %7.1f  (cold weights)\n",
                  l.name, c.how.c_str(), flops / median(c.cpu) * 1e-3, median(c.cpu),
                  *std::max_element(c.cpu.begin(), c.cpu.end()), median(c.wall));
    return;
  }
  // Calibrate the number of calls per sample to about `seconds` (on the first candidate).
  int iters = 1;
  for (;;) {
    auto t0 = Clock::now();
    call(cands[0], iters);
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt >= o.seconds || iters > (1 << 20)) break;
    iters *= 2;
  }
  // Candidates alternate, so that load from other processes hits them alike.
  for (int r = 0; r < o.repeats; ++r)
    for (Candidate& c : cands) {
      double c0 = thread_seconds();
      auto t0 = Clock::now();
      call(c, iters);
      double dc = thread_seconds() - c0;
      double dw = std::chrono::duration<double>(Clock::now() - t0).count();
      c.cpu.push_back(flops * iters / dc * 1e-9);
      c.wall.push_back(flops * iters / dw * 1e-9);
    }
  for (Candidate& c : cands)
    std::printf("%-30s %-44s %8.1f us  cpu GFLOP/s median %7.1f best %7.1f  wall median %7.1f\n",
                l.name, c.how.c_str(), flops / median(c.cpu) * 1e-3, median(c.cpu),
                *std::max_element(c.cpu.begin(), c.cpu.end()), median(c.wall));
  std::fflush(stdout);
}

void run_matmul(const MatmulLayer& l, const TargetSpec& target, const Options& o) {
  BatchMatmulSpec s;
  s.batch = {SymDim{l.batch, -1}};
  s.a_broadcast = s.b_broadcast = {false};
  s.a_batch = s.b_batch = SymDim{l.batch, -1};
  s.m = {l.m, -1};
  s.n = {l.n, -1};
  s.k = {l.k, -1};
  BatchMatmulTiling t = choose_batch_matmul_tiling(s, target);
  DevKernelLibrary lib(link_shared_object(
      {compile_batch_matmul_kernel(s, t, "k", target, o.compile), emit_kernel_table_object({"k"}, target)}, target));
  std::vector<float> a(l.batch * l.m * l.k), b(l.batch * l.k * l.n), c(l.batch * l.m * l.n), ref(c.size());
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : a) v = u(rng);
  for (float& v : b) v = u(rng);
  void* buffers[] = {a.data(), b.data(), c.data()};
  int64_t tiles = l.batch * ((l.m + t.tile_rows - 1) / t.tile_rows);
  double flops = 2.0 * l.batch * l.m * l.n * l.k;
  KernelFn fn = lib.kernel(0);
  // The scalar stand-in: i-k-j loops, as a portable C fallback would run them.
  auto naive = [&] {
    for (int64_t h = 0; h < l.batch; ++h)
      for (int64_t i = 0; i < l.m; ++i) {
        float* row = &ref[(h * l.m + i) * l.n];
        for (int64_t j = 0; j < l.n; ++j) row[j] = 0;
        for (int64_t kk = 0; kk < l.k; ++kk) {
          float x = a[(h * l.m + i) * l.k + kk];
          const float* brow = &b[(h * l.k + kk) * l.n];
          for (int64_t j = 0; j < l.n; ++j) row[j] += x * brow[j];
        }
      }
  };
  std::vector<double> gen, plain;
  for (int r = 0; r < o.repeats; ++r) {
    double c0 = thread_seconds();
    int iters = 0;
    do {
      fn(buffers, nullptr, 0, tiles);
      ++iters;
    } while (thread_seconds() - c0 < o.seconds);
    gen.push_back(flops * iters / (thread_seconds() - c0) * 1e-9);
    c0 = thread_seconds();
    naive();
    plain.push_back(flops / (thread_seconds() - c0) * 1e-9);
  }
  double err = 0;
  for (size_t i = 0; i < c.size(); ++i) err = std::max(err, double(std::fabs(c[i] - ref[i])));
  std::printf("%-30s %-44s cpu GFLOP/s median %7.1f best %7.1f  triple loop median %6.1f  (max |diff| %.1e)\n",
              l.name, ("8x32 in-place B tiles" + std::to_string(tiles)).c_str(), median(gen),
              *std::max_element(gen.begin(), gen.end()), median(plain), err);
  std::fflush(stdout);
}

double process_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int time_model(const std::string& path, const std::vector<std::string>& inputs, int threads, int runs) {
  auto model = eave::RuntimeModel::load_file(path);
  eave::RuntimeSession session(model, threads);
  std::vector<std::pair<std::string, eave::Tensor>> bound;
  for (const std::string& spec : inputs) {
    size_t eq = spec.find('=');
    EAVE_CHECK(eq != std::string::npos, "--input wants NAME=FILE.npy, got '", spec, "'");
    bound.emplace_back(spec.substr(0, eq), eave::read_npy(spec.substr(eq + 1)));
  }
  session.bind(bound);
  for (int i = 0; i < 3; ++i) session.run_bound();  // warm-up: plans, page faults, caches
  std::vector<double> wall, cpu;
  for (int i = 0; i < runs; ++i) {
    double c0 = process_seconds();
    auto t0 = Clock::now();
    session.run_bound();
    wall.push_back(std::chrono::duration<double>(Clock::now() - t0).count() * 1e3);
    cpu.push_back((process_seconds() - c0) * 1e3);
  }
  std::printf("%s: %d runs, %d thread(s): wall median %.2f ms min %.2f ms; process CPU median "
              "%.2f ms min %.2f ms\n",
              path.c_str(), runs, threads, median(wall), *std::min_element(wall.begin(), wall.end()),
              median(cpu), *std::min_element(cpu.begin(), cpu.end()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string layers = "all", model;
  std::vector<std::string> inputs;
  int threads = 1, runs = 50;
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return std::strcmp(argv[i], name) == 0 && i + 1 < argc; };
    if (arg("--layers")) layers = argv[++i];
    else if (arg("--repeats")) o.repeats = std::atoi(argv[++i]);
    else if (arg("--seconds")) o.seconds = std::atof(argv[++i]);
    else if (arg("--variant")) o.variants.push_back(argv[++i]);
    else if (std::strcmp(argv[i], "--cold") == 0) o.cold = true;
    else if (std::strcmp(argv[i], "--cold-all") == 0) o.cold = o.cold_all = true;
    else if (arg("--print-ir-after")) o.compile.print_ir_after.push_back(argv[++i]);
    else if (arg("--model")) model = argv[++i];
    else if (arg("--input")) inputs.push_back(argv[++i]);
    else if (arg("--threads")) threads = std::atoi(argv[++i]);
    else if (arg("--runs")) runs = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: layer_bench [--layers resnet|mobilenet|attention|all|NAME-SUBSTRING] "
                           "[--repeats N] [--seconds S] [--variant method=flat,mr=8,cb=32,mblock=64,ppt=4,nvec=2]\n"
                           "       [--print-ir-after STAGE] [--cold | --cold-all]\n"
                           "       layer_bench --model MODEL.eave --input NAME=FILE.npy ... "
                           "[--threads N] [--runs N]\n");
      return 2;
    }
  }
  try {
    if (!model.empty()) return time_model(model, inputs, threads, runs);
    TargetSpec target = host_target();
    std::printf("target %s; one thread; GFLOP/s by thread CPU time (pools: window taps/s)\n",
                target.describe().c_str());
    for (const Layer& l : kResnet)
      if (layers == "all" || layers == "resnet" || std::strstr(l.name, layers.c_str())) run_layer(l, target, o);
    for (const Layer& l : kMobilenet)
      if (layers == "all" || layers == "mobilenet" || std::strstr(l.name, layers.c_str())) run_layer(l, target, o);
    for (const MatmulLayer& l : kAttention)
      if (layers == "all" || layers == "attention" || std::strstr(l.name, layers.c_str()))
        run_matmul(l, target, o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "layer_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
