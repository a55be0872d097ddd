// The window kernels (depthwise convolution, max and average pooling, global pools) against
// double-precision loop nests, over strides 1-3, dilations, padding, odd sizes and tile splits.
#include "codegen/window_kernel.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <optional>

#include "codegen_test_util.h"

namespace eave::codegen::testing {
namespace {

struct Case {
  int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};

WindowSpec spec_of(WindowOp op, const Case& k) {
  WindowSpec s;
  s.op = op;
  s.n = k.n;
  s.c = k.c;
  s.h = k.h;
  s.w = k.w;
  s.kh = k.kh;
  s.kw = k.kw;
  s.stride_h = k.sh;
  s.stride_w = k.sw;
  s.dilation_h = k.dh;
  s.dilation_w = k.dw;
  s.pad_top = k.pt;
  s.pad_left = k.pl;
  s.pad_bottom = k.pb;
  s.pad_right = k.pr;
  s.oh = (k.h + k.pt + k.pb - (k.kh - 1) * k.dh - 1) / k.sh + 1;
  s.ow = (k.w + k.pl + k.pr - (k.kw - 1) * k.dw - 1) / k.sw + 1;
  return s;
}

// want and the magnitude of its terms, per output.
void naive_window(const WindowSpec& s, const float* x, const float* w, const float* bias,
                  std::vector<double>& want, std::vector<double>& magnitude) {
  int64_t m_out = s.out_channels();
  want.assign(s.n * m_out * s.od * s.oh * s.ow, 0.0);
  magnitude.assign(want.size(), 0.0);
  size_t i = 0;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t m = 0; m < m_out; ++m)
      for (int64_t od = 0; od < s.od; ++od)
        for (int64_t oh = 0; oh < s.oh; ++oh)
          for (int64_t ow = 0; ow < s.ow; ++ow, ++i) {
            int64_t c = s.op == WindowOp::depthwise_conv ? m / s.multiplier : m;
            double acc = s.op == WindowOp::max_pool ? -FLT_MAX : bias ? bias[m] : 0.0;
            double mag = bias ? std::fabs(bias[m]) : 0.0;
            int64_t taps = 0, padded = 0;
            for (int64_t kd = 0; kd < s.kd; ++kd)
              for (int64_t kh = 0; kh < s.kh; ++kh)
                for (int64_t kw = 0; kw < s.kw; ++kw) {
                  int64_t id = od * s.stride_d + kd * s.dilation_d - s.pad_front;
                  int64_t ih = oh * s.stride_h + kh * s.dilation_h - s.pad_top;
                  int64_t iw = ow * s.stride_w + kw * s.dilation_w - s.pad_left;
                  padded += id >= -s.pad_front && id < s.d + s.pad_back && ih >= -s.pad_top &&
                            ih < s.h + s.pad_bottom && iw >= -s.pad_left && iw < s.w + s.pad_right;
                  if (id < 0 || id >= s.d || ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                  double v = x[(((n * s.c + c) * s.d + id) * s.h + ih) * s.w + iw];
                  ++taps;
                  if (s.op == WindowOp::max_pool) {
                    acc = std::max(acc, v);
                  } else {
                    double p = s.op == WindowOp::depthwise_conv
                                   ? v * w[((m * s.kd + kd) * s.kh + kh) * s.kw + kw]
                                   : v;
                    acc += p;
                    mag += std::fabs(p);
                  }
                }
            if (s.op == WindowOp::average_pool) {
              double count = double(s.count_include_pad ? padded : taps);
              acc /= count;
              mag /= count;
            }
            want[i] = acc;
            magnitude[i] = mag;
          }
}

// `padded` overrides the tiling's choice of packing padded rows (depthwise only).
void run_case(WindowSpec spec, const char* what, std::optional<bool> padded = std::nullopt) {
  SCOPED_TRACE(std::string(what) + " C" + std::to_string(spec.c) + " " + std::to_string(spec.h) +
               "x" + std::to_string(spec.w) + " k" + std::to_string(spec.kh) + "x" +
               std::to_string(spec.kw) + " s" + std::to_string(spec.stride_h) + "x" +
               std::to_string(spec.stride_w) + " d" + std::to_string(spec.dilation_h) + "x" +
               std::to_string(spec.dilation_w));
  TargetSpec target = host_target();
  WindowTiling t = choose_window_tiling(spec, target);
  if (padded) t.padded = *padded;
  SCOPED_TRACE(t.padded ? "padded rows" : "masked reads");
  Bytes obj = compile_window_kernel(spec, t, "win", target);
  auto lib = load_objects({obj}, {"win"}, target);
  int64_t m_out = spec.out_channels();
  GuardedBuffer x(spec.n * spec.c * spec.d * spec.h * spec.w), w(m_out * spec.taps()), b(m_out);
  GuardedBuffer y(spec.n * m_out * spec.out_rows() * spec.ow);
  x.fill_random(1);
  w.fill_random(2);
  b.fill_random(3);
  y.fill(std::nanf(""));
  std::vector<void*> buffers = {x.data()};
  if (spec.op == WindowOp::depthwise_conv) buffers.push_back(w.data());
  buffers.push_back(y.data());
  if (spec.bias) buffers.push_back(b.data());
  int64_t syms[] = {spec.n};
  int64_t tiles = spec.n * window_tiles_per_image(spec, t);
  for (int64_t i = tiles - 1; i >= 0; --i) lib->kernel(0)(buffers.data(), syms, i, i + 1);
  std::vector<double> want, magnitude;
  naive_window(spec, x.data(), w.data(), spec.bias ? b.data() : nullptr, want, magnitude);
  EXPECT_EQ(count_mismatches(y.data(), want, magnitude, spec.ow), 0);
}

// n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr
const Case kCases[] = {
    {1, 3, 16, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {2, 5, 19, 37, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {1, 4, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
    {1, 2, 23, 45, 5, 5, 1, 1, 2, 2, 4, 4, 4, 4},
    {1, 3, 17, 40, 3, 5, 3, 3, 1, 1, 0, 2, 1, 2},
    {1, 2, 9, 70, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},
    {1, 2, 1, 33, 1, 4, 1, 1, 1, 1, 0, 1, 0, 2},
    {1, 2, 5, 6, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2},
    {1, 2, 40, 50, 12, 6, 1, 1, 2, 1, 3, 2, 3, 2},    // many taps: a loop over kernel rows
    {1, 2, 30, 40, 11, 13, 2, 3, 1, 2, 5, 6, 5, 6},   // and over kernel columns
    {1, 1, 100, 100, 6, 8, 10, 10, 10, 10, 10, 20, 10, 20},  // a huge dilated window
};

TEST(WindowKernel, Depthwise) {
  for (const Case& k : kCases) {
    WindowSpec s = spec_of(WindowOp::depthwise_conv, k);
    s.bias = true;
    run_case(s, "depthwise");
  }
  WindowSpec s = spec_of(WindowOp::depthwise_conv, kCases[1]);
  s.multiplier = 3;
  run_case(s, "depthwise x3");
}

// Depthwise convolutions of unit column stride either way: rows packed into the padded buffer
// (each block a scheduled product over its taps), or read in place through lane masks. The
// wide plane of many channels is split into tiles whose buffer fits L1; windows of more than 64
// taps loop over them.
TEST(WindowKernel, DepthwisePaddedRows) {
  const Case cases[] = {
      {1, 32, 112, 112, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 3, 30, 70, 3, 5, 2, 1, 2, 3, 3, 2, 0, 4},
      {1, 2, 40, 50, 12, 6, 1, 1, 2, 1, 3, 2, 3, 2},
      {1, 4, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1},
  };
  for (const Case& k : cases)
    for (bool padded : {true, false}) {
      WindowSpec s = spec_of(WindowOp::depthwise_conv, k);
      s.bias = true;
      s.multiplier = k.c == 3 ? 2 : 1;
      run_case(s, "depthwise", padded);
    }
  WindowSpec wide = spec_of(WindowOp::depthwise_conv, cases[0]);
  WindowTiling t = choose_window_tiling(wide, host_target());
  EXPECT_TRUE(t.padded);
  EXPECT_LT(t.rows_per_tile, wide.oh) << "a 112-row plane's padded rows fit L1 in several tiles";
}

// The padded blocks are the register tile's taps product: after the schedule nothing
// structured is left and the unrolled taps are FMAs into the block.
TEST(WindowKernel, PaddedBlocksAreTheTapsSchedule) {
  TargetSpec target = preset_target("x86_64", "znver4");
  WindowSpec s = spec_of(WindowOp::depthwise_conv, {1, 8, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1});
  WindowTiling t = choose_window_tiling(s, target);
  ASSERT_TRUE(t.padded);
  PrintedStages ir;
  const std::string &bufferized = ir.bufferized, &scheduled = ir.scheduled;
  compile_window_kernel(s, t, "win", target, ir.options());
  EXPECT_NE(bufferized.find("{eave.schedule = \"register_tile_taps_3x3\"}"), std::string::npos)
      << bufferized;
  EXPECT_EQ(scheduled.find("linalg."), std::string::npos) << scheduled;
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = scheduled.find(what); at != std::string::npos; at = scheduled.find(what, at + 1)) ++n;
    return n;
  };
  std::string block = "vector<" + std::to_string(t.rows) + "x" + std::to_string(t.vecs * 16) + "xf32>";
  EXPECT_EQ(count("vector.fma"), 9u) << "one FMA per tap, the tap loops unrolled\n" << scheduled;
  EXPECT_EQ(count("vector.transfer_write"), 1u) << "the block written back once, after the taps\n"
                                                  << scheduled;
  EXPECT_NE(scheduled.find(block), std::string::npos) << scheduled;
}

TEST(WindowKernel, MaxPool) {
  for (const Case& k : kCases) run_case(spec_of(WindowOp::max_pool, k), "max");
}

TEST(WindowKernel, AveragePool) {
  for (const Case& k : kCases) {
    WindowSpec s = spec_of(WindowOp::average_pool, k);
    run_case(s, "average");
    s.count_include_pad = true;
    run_case(s, "average including pads");
  }
}

TEST(WindowKernel, ThreeD) {
  for (WindowOp op : {WindowOp::max_pool, WindowOp::average_pool, WindowOp::depthwise_conv})
    for (bool big : {false, true}) {
      WindowSpec s = spec_of(op, {2, 3, 9, 11, 3, 2, 2, 1, 1, 2, 1, 0, 1, 1});
      s.d = big ? 14 : 6;
      s.kd = big ? 11 : 2;  // 66 taps: loops over kernel rows
      s.stride_d = 2;
      s.dilation_d = big ? 1 : 2;
      s.pad_front = big ? 2 : 1;
      s.pad_back = big ? 3 : 0;
      s.od = (s.d + s.pad_front + s.pad_back - (s.kd - 1) * s.dilation_d - 1) / s.stride_d + 1;
      s.bias = op == WindowOp::depthwise_conv;
      s.count_include_pad = big;
      run_case(s, big ? "3-d, looped" : "3-d");
    }
}

TEST(WindowKernel, GlobalPools) {
  TargetSpec target = host_target();
  for (bool max : {false, true})
    for (int64_t positions : {1, 7, 49, 64, 200, 3136}) {
      SCOPED_TRACE(std::to_string(positions) + (max ? " max" : " average"));
      GlobalPoolSpec spec{max, -1, 0, positions};
      auto lib = load_objects({compile_global_pool_kernel(spec, "gp", target)}, {"gp"}, target);
      int64_t planes = 37;
      GuardedBuffer x(planes * positions), y(planes);
      x.fill_random(5);
      void* buffers[] = {x.data(), y.data()};
      int64_t syms[] = {planes};
      int64_t per = global_pool_planes_per_tile(spec);
      lib->kernel(0)(buffers, syms, 0, (planes + per - 1) / per);
      std::vector<double> want(planes), magnitude(planes);
      for (int64_t p = 0; p < planes; ++p) {
        double acc = max ? -INFINITY : 0.0, mag = 0.0;
        for (int64_t i = 0; i < positions; ++i) {
          double v = x[p * positions + i];
          acc = max ? std::max(acc, v) : acc + v;
          mag += std::fabs(v);
        }
        want[p] = max ? acc : acc / double(positions);
        magnitude[p] = max ? 0.0 : mag / double(positions);
      }
      EXPECT_EQ(count_mismatches(y.data(), want, magnitude, 1), 0);
    }
}

}  // namespace
}  // namespace eave::codegen::testing
