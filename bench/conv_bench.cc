// Convolution and pooling kernels on CNN layers (resnet18, mobilenet_v2), one thread: GFLOP/s
// of eave's generated conv / depthwise / pool kernels per layer. Peers (ONNX Runtime) are
// measured on the same layers as single-op ONNX models by scripts around tools/ort_run.js; this
// program reports eave's side.
//
// The machine is shared, so rates are by this thread's CPU time (time other processes held the
// core left out) as well as wall time, median and best of the repeats.
//
//   conv_bench [--layers resnet|mobilenet|all] [--repeats 15] [--seconds 0.05]
//              [--method direct|flat|packed] [--mr N] [--c-block N] [--print-ir-after STAGE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "codegen/conv_kernel.h"
#include "codegen/dev_loader.h"
#include "codegen/mlir_to_object.h"
#include "codegen/target.h"
#include "codegen/window_kernel.h"
#include "support/error.h"

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

struct Options {
  int repeats = 15;
  double seconds = 0.05;
  std::string method;
  int64_t mr = 0, c_block = 0;
  CompileOptions compile;
};

void run_layer(const Layer& l, const TargetSpec& target, const Options& o) {
  int64_t oh = (l.h + 2 * l.pad - l.k) / l.stride + 1, ow = (l.w + 2 * l.pad - l.k) / l.stride + 1;
  bool window = l.pool || l.groups == l.c;
  std::unique_ptr<DevKernelLibrary> lib;
  std::vector<float> x(l.c * l.h * l.w), w, y(l.m * oh * ow), bias(l.m);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : x) v = u(rng);
  for (float& v : bias) v = u(rng);
  std::vector<void*> buffers;
  int64_t tiles = 0;
  double flops = 0;
  std::string how;
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
    lib = std::make_unique<DevKernelLibrary>(link_shared_object(
        {compile_window_kernel(s, t, "k", target, o.compile), emit_kernel_table_object({"k"}, target)}, target));
    w.resize(l.m * l.k * l.k);
    for (float& v : w) v = u(rng);
    buffers = {x.data()};
    if (!l.pool) buffers.push_back(w.data());
    buffers.push_back(y.data());
    if (!l.pool) buffers.push_back(bias.data());
    tiles = window_tiles_per_image(s, t);
    flops = (l.pool ? 1.0 : 2.0) * l.m * oh * ow * l.k * l.k;
    how = "R" + std::to_string(t.rows) + "xV" + std::to_string(t.vecs);
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
    ConvTiling t = choose_conv_tiling(s, target);
    if (o.method == "direct") t.method = ConvMethod::direct;
    if (o.method == "packed") t.method = ConvMethod::packed;
    if (o.method == "flat") t.method = ConvMethod::flat;
    if (o.mr) {
      t.m_block = (t.m_block + t.mr - 1) / t.mr * o.mr;
      t.mr = o.mr;
    }
    if (o.c_block) t.c_block = o.c_block;
    lib = std::make_unique<DevKernelLibrary>(link_shared_object(
        {compile_conv_kernel(s, t, "k", target, o.compile), emit_kernel_table_object({"k"}, target)}, target));
    std::vector<float> raw(l.m * (l.c / l.groups) * l.k * l.k);
    for (float& v : raw) v = u(rng);
    w.resize(packed_conv_weights_elements(s, t));
    pack_conv_weights(raw.data(), s, t, w.data());
    buffers = {x.data(), w.data(), y.data(), bias.data()};
    tiles = conv_tiles_per_image(s, t);
    flops = 2.0 * l.m * oh * ow * (l.c / l.groups) * l.k * l.k;
    const char* methods[] = {"direct", "flat", "packed"};
    how = std::string(methods[int(t.method)]) + " " +
          std::to_string(t.mr) + "x" + std::to_string(t.nr()) + " cb" + std::to_string(t.c_block) +
          " tiles" + std::to_string(tiles);
  }
  KernelFn fn = lib->kernel(0);
  int64_t syms[1] = {1};
  // Calibrate the number of calls per sample to about `seconds`.
  int iters = 1;
  for (;;) {
    auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) fn(buffers.data(), syms, 0, tiles);
    double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt >= o.seconds || iters > (1 << 20)) break;
    iters *= 2;
  }
  std::vector<double> cpu, wall;
  for (int r = 0; r < o.repeats; ++r) {
    double c0 = thread_seconds();
    auto t0 = Clock::now();
    for (int i = 0; i < iters; ++i) fn(buffers.data(), syms, 0, tiles);
    double dc = thread_seconds() - c0;
    double dw = std::chrono::duration<double>(Clock::now() - t0).count();
    cpu.push_back(flops * iters / dc * 1e-9);
    wall.push_back(flops * iters / dw * 1e-9);
  }
  std::printf("%-30s %-34s %8.1f us  cpu GFLOP/s median %7.1f best %7.1f  wall median %7.1f\n",
              l.name, how.c_str(), flops / median(cpu) * 1e-3, median(cpu),
              *std::max_element(cpu.begin(), cpu.end()), median(wall));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string layers = "all";
  for (int i = 1; i < argc; ++i) {
    auto arg = [&](const char* name) { return std::strcmp(argv[i], name) == 0 && i + 1 < argc; };
    if (arg("--layers")) layers = argv[++i];
    else if (arg("--repeats")) o.repeats = std::atoi(argv[++i]);
    else if (arg("--seconds")) o.seconds = std::atof(argv[++i]);
    else if (arg("--method")) o.method = argv[++i];
    else if (arg("--mr")) o.mr = std::atoll(argv[++i]);
    else if (arg("--c-block")) o.c_block = std::atoll(argv[++i]);
    else if (arg("--print-ir-after")) o.compile.print_ir_after.push_back(argv[++i]);
    else {
      std::fprintf(stderr, "usage: conv_bench [--layers resnet|mobilenet|all|NAME-SUBSTRING] "
                           "[--repeats N] [--seconds S] [--method direct|flat|packed] [--mr N] [--c-block N]\n"
                           "       [--print-ir-after STAGE]\n");
      return 2;
    }
  }
  try {
    TargetSpec target = host_target();
    std::printf("target %s; one thread; GFLOP/s by thread CPU time (pools: window taps/s)\n",
                target.describe().c_str());
    for (const auto* set : {&kResnet, &kMobilenet}) {
      bool resnet = set == &kResnet;
      for (const Layer& l : *set) {
        bool pick = layers == "all" || (layers == "resnet" && resnet) ||
                    (layers == "mobilenet" && !resnet) || std::strstr(l.name, layers.c_str());
        if (pick) run_layer(l, target, o);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "conv_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
