// The NCHW convolution kernel against a double-precision loop nest, over strides, dilations,
// padding, groups, odd sizes, both methods, several K blocks and tile splits.
#include "codegen/conv_kernel.h"

#include <gtest/gtest.h>

#include "codegen_test_util.h"

namespace eave::codegen::testing {
namespace {

struct Case {
  int64_t n, c, h, w, m, groups, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

std::string describe(const Case& k) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "N%ld C%ld %ldx%ld M%ld G%ld k%ldx%ld s%ldx%ld d%ldx%ld pads %ld,%ld,%ld,%ld",
                long(k.n), long(k.c), long(k.h), long(k.w), long(k.m), long(k.groups), long(k.kh),
                long(k.kw), long(k.sh), long(k.sw), long(k.dh), long(k.dw), long(k.pt), long(k.pl),
                long(k.pb), long(k.pr));
  return buf;
}

ConvSpec spec_of(const Case& k, bool bias) {
  ConvSpec s;
  s.n = k.n;
  s.c = k.c;
  s.h = k.h;
  s.w = k.w;
  s.m = k.m;
  s.groups = k.groups;
  s.kh = k.kh;
  s.kw = k.kw;
  s.stride_h = k.sh;
  s.stride_w = k.sw;
  s.dilation_h = k.dh;
  s.dilation_w = k.dw;
  s.pad_top = k.pt;
  s.pad_left = k.pl;
  s.oh = (k.h + k.pt + k.pb - (k.kh - 1) * k.dh - 1) / k.sh + 1;
  s.ow = (k.w + k.pl + k.pr - (k.kw - 1) * k.dw - 1) / k.sw + 1;
  s.bias = bias;
  return s;
}

void naive_conv(const ConvSpec& s, const float* x, const float* w, const float* bias,
                std::vector<double>& want, std::vector<double>& magnitude) {
  int64_t cg = s.c / s.groups, mg = s.m / s.groups;
  want.assign(s.n * s.m * s.positions(), 0.0);
  magnitude.assign(want.size(), 0.0);
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t m = 0; m < s.m; ++m)
      for (int64_t od = 0; od < s.od; ++od)
        for (int64_t oh = 0; oh < s.oh; ++oh)
          for (int64_t ow = 0; ow < s.ow; ++ow) {
            int64_t g = m / mg;
            double acc = bias ? bias[m] : 0.0, mag = bias ? std::fabs(bias[m]) : 0.0;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t kd = 0; kd < s.kd; ++kd)
                for (int64_t kh = 0; kh < s.kh; ++kh)
                  for (int64_t kw = 0; kw < s.kw; ++kw) {
                    int64_t id = od * s.stride_d + kd * s.dilation_d - s.pad_front;
                    int64_t ih = oh * s.stride_h + kh * s.dilation_h - s.pad_top;
                    int64_t iw = ow * s.stride_w + kw * s.dilation_w - s.pad_left;
                    if (id < 0 || id >= s.d || ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                    double p = double(x[(((n * s.c + g * cg + c) * s.d + id) * s.h + ih) * s.w + iw]) *
                               w[(((m * cg + c) * s.kd + kd) * s.kh + kh) * s.kw + kw];
                    acc += p;
                    mag += std::fabs(p);
                  }
            size_t i = (n * s.m + m) * s.positions() + (od * s.oh + oh) * s.ow + ow;
            want[i] = acc;
            magnitude[i] = mag;
          }
}

void run_spec(ConvSpec spec, std::optional<ConvMethod> method, int64_t c_block = 0) {
  TargetSpec target = host_target();
  ConvTiling t = choose_conv_tiling(spec, target, method);
  if (c_block) t.c_block = c_block;
  Bytes obj = compile_conv_kernel(spec, t, "conv", target);
  auto lib = load_objects({obj}, {"conv"}, target);

  GuardedBuffer x(spec.n * spec.c * spec.image()), w(spec.m * (spec.c / spec.groups) * spec.taps());
  GuardedBuffer b(spec.m), packed(packed_conv_weights_elements(spec, t));
  GuardedBuffer y(spec.n * spec.m * spec.positions());
  x.fill_random(1);
  w.fill_random(2);
  b.fill_random(3);
  y.fill(std::nanf(""));
  pack_conv_weights(w.data(), spec, t, packed.data());
  void* buffers[] = {x.data(), packed.data(), y.data(), b.data()};
  int64_t syms[] = {spec.n};
  int64_t tiles = spec.n * conv_tiles_per_image(spec, t);
  // Tiles one at a time, in reverse: each must compute exactly its own outputs.
  for (int64_t i = tiles - 1; i >= 0; --i) lib->kernel(0)(buffers, syms, i, i + 1);
  std::vector<double> want, magnitude;
  naive_conv(spec, x.data(), w.data(), spec.bias ? b.data() : nullptr, want, magnitude);
  EXPECT_EQ(count_mismatches(y.data(), want, magnitude, spec.ow), 0);
}

void run_case(const Case& k, std::optional<ConvMethod> method, int64_t c_block = 0, bool bias = true) {
  const char* names[] = {" direct", " flat", " packed", " transposed"};
  SCOPED_TRACE(describe(k) + (method ? names[int(*method)] : ""));
  run_spec(spec_of(k, bias), method, c_block);
}

// n, c, h, w, m, groups, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr
const Case kCases[] = {
    {1, 16, 14, 14, 32, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},      // same padding
    {2, 3, 17, 23, 10, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},       // odd sizes, channel tail
    {1, 8, 40, 45, 16, 1, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0},       // no padding, row tails
    {1, 5, 19, 21, 9, 1, 5, 3, 2, 2, 1, 1, 2, 1, 2, 1},        // stride 2
    {1, 4, 20, 20, 8, 1, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2},        // dilation 2
    {1, 3, 31, 29, 7, 1, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3},        // a stem
    {1, 12, 9, 11, 12, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},       // groups
    {2, 32, 7, 7, 40, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},        // 1x1: a GEMM
    {1, 16, 9, 9, 24, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},        // 1x1 stride 2
    {1, 6, 12, 13, 5, 1, 2, 4, 1, 3, 1, 1, 0, 2, 1, 0},        // asymmetric everything
    {1, 2, 1, 50, 3, 1, 1, 5, 1, 1, 1, 2, 0, 4, 0, 4},         // 1-d
    {1, 4, 6, 6, 4, 1, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4},          // windows wholly in padding
};

TEST(ConvKernel, ChosenMethod) {
  for (const Case& k : kCases) run_case(k, std::nullopt);
}

TEST(ConvKernel, Packed) {
  for (const Case& k : kCases) run_case(k, ConvMethod::packed);
}

TEST(ConvKernel, Direct) {
  for (const Case& k : kCases)
    if (k.sw == 1) run_case(k, ConvMethod::direct);
}

TEST(ConvKernel, Flat) {
  for (const Case& k : kCases) {
    ConvSpec s = spec_of(k, false);
    bool one_by_one = k.kh == 1 && k.kw == 1 && k.sh == 1 && k.sw == 1 && s.oh == k.h && s.ow == k.w;
    if ((k.sh == 1 && k.sw == 1 && s.ow == k.w) || one_by_one) run_case(k, ConvMethod::flat);
  }
}

TEST(ConvKernel, SeveralKBlocksWithoutBias) {
  Case k{1, 13, 10, 12, 11, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
  run_case(k, ConvMethod::direct, 4, false);
  run_case(k, ConvMethod::flat, 3, false);
  run_case(k, ConvMethod::packed, 5, false);
}

// Small images with many channels: the transposed method (channels in the lanes), flat-style
// packing (stride 1, same padding) and gathers, with position tails and groups.
TEST(ConvKernel, Transposed) {
  const Case cases[] = {
      {1, 64, 7, 7, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 48, 14, 14, 32, 1, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
      {1, 80, 5, 9, 48, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},
      {1, 64, 6, 6, 64, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {1, 16, 9, 9, 96, 1, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4},
  };
  TargetSpec target = host_target();
  for (const Case& k : cases) {
    SCOPED_TRACE(describe(k));
    ConvSpec s = spec_of(k, true);
    EXPECT_EQ(choose_conv_tiling(s, target).method, ConvMethod::transposed);
    run_spec(s, std::nullopt);
    s.bias = false;
    run_spec(s, std::nullopt);
  }
  // Several K blocks of an odd number of steps (5 channels x 9 taps, then 4 x 9): partial sums
  // kept between blocks, and the scheduled loop's last, shorter run.
  run_spec(spec_of(cases[0], true), ConvMethod::transposed, 5);
}

TEST(ConvKernel, ThreeD) {
  ConvSpec s = spec_of({2, 4, 7, 9, 6, 2, 3, 2, 1, 2, 1, 1, 1, 0, 1, 1}, true);
  s.d = 5;
  s.kd = 3;
  s.stride_d = 2;
  s.dilation_d = 1;
  s.pad_front = 1;
  s.od = (5 + 1 + 1 - 3) / 2 + 1;
  run_spec(s, std::nullopt);
  run_spec(s, ConvMethod::packed, 1);
  ConvSpec pointwise = spec_of({1, 8, 5, 6, 12, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, false);
  pointwise.d = pointwise.od = 4;
  run_spec(pointwise, std::nullopt);  // 1x1x1: a GEMM over all positions
}

// The packed methods' K loops are the register tile's schedule (register_tile.h): after it,
// the tile is carried in vectors across the K steps, and the prefetches of the next K block's
// weights run between the steps.
TEST(ConvSchedule, PackedMethodsKeepTheTileInRegisters) {
  TargetSpec target = preset_target("x86_64", "znver4");
  const ConvMethod methods[] = {ConvMethod::packed, ConvMethod::transposed};
  for (ConvMethod method : methods) {
    SCOPED_TRACE(method == ConvMethod::packed ? "packed" : "transposed");
    ConvSpec s = spec_of({1, 64, 7, 7, 64, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}, true);
    ConvTiling t = choose_conv_tiling(s, target, method);
    t.c_block = 16;  // four K blocks
    PrintedStages ir;
    const std::string &bufferized = ir.bufferized, &scheduled = ir.scheduled;
    compile_conv_kernel(s, t, "conv", target, ir.options());
    EXPECT_NE(bufferized.find("{eave.schedule = \"register_tile_u1\"}"), std::string::npos)
        << bufferized;
    EXPECT_EQ(scheduled.find("linalg."), std::string::npos) << scheduled;
    std::string tile = "vector<" + std::to_string(t.mr) + "x32xf32>";
    EXPECT_NE(scheduled.find("-> (" + tile + ")"), std::string::npos)
        << "no loop carries the " << tile << " tile\n" << scheduled;
    EXPECT_NE(scheduled.find("memref.prefetch"), std::string::npos) << scheduled;
  }
}

}  // namespace
}  // namespace eave::codegen::testing
