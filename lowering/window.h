// Sliding-window geometry of Conv and the pools, as the reference interpreter defines it
// (reference/conv_pool.cc): strides, dilations, pads, auto_pad and ceil_mode resolved to one
// 3-d window. 1-d and 2-d windows have depth (and height) 1. No MLIR here.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "ir/graph.h"

namespace eave::lowering {

struct Window2d {
  int64_t in_h = 1, in_w = 1;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t oh = 1, ow = 1;
  int64_t in_d = 1, kd = 1, stride_d = 1, dilation_d = 1, pad_front = 0, pad_back = 0, od = 1;
  bool is_3d() const { return in_d > 1 || kd > 1 || od > 1; }
};

// The window of `n` over static spatial dims `in` (1 to 3 of them) with kernel `kernel`;
// nullopt for malformed attributes, windows larger than the padded input, or more than three
// spatial axes. Reads strides, dilations, pads, auto_pad and ceil_mode (absent ones default).
std::optional<Window2d> window_of(const Node& n, const std::vector<int64_t>& in,
                                  const std::vector<int64_t>& kernel);

// Copies the geometry into a kernel spec with the same field names (codegen's ConvSpec and
// WindowSpec; the end pads only where the spec has them).
template <class Spec>
void set_window(Spec& s, const Window2d& w) {
  s.h = w.in_h;
  s.w = w.in_w;
  s.kh = w.kh;
  s.kw = w.kw;
  s.stride_h = w.stride_h;
  s.stride_w = w.stride_w;
  s.dilation_h = w.dilation_h;
  s.dilation_w = w.dilation_w;
  s.pad_top = w.pad_top;
  s.pad_left = w.pad_left;
  s.oh = w.oh;
  s.ow = w.ow;
  s.d = w.in_d;
  s.kd = w.kd;
  s.stride_d = w.stride_d;
  s.dilation_d = w.dilation_d;
  s.pad_front = w.pad_front;
  s.od = w.od;
  if constexpr (requires { s.pad_bottom; }) {
    s.pad_bottom = w.pad_bottom;
    s.pad_right = w.pad_right;
    s.pad_back = w.pad_back;
  }
}

// The static spatial dims of an (N, C, spatial...) value with a static C and 1 to 3 spatial
// axes; nullopt otherwise.
std::optional<std::vector<int64_t>> static_spatial(const Value* v);

}  // namespace eave::lowering
