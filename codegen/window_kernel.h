// Per-channel sliding-window kernels on NCHW f32 data: depthwise convolution (group = C, any
// channel multiplier), MaxPool and AveragePool over 1-d or 2-d windows, and the global pools.
// All are memory-bound: they vectorize over the output row (lanes are consecutive output
// columns), keep an R x V block of output vectors in registers (R rows, V vectors of a row: at
// least 8 independent accumulators, enough to cover the FMA/max latency) and read the input in
// place through lane masks that drop the padding. Stride 2 along the row reads two vectors and
// keeps the even lanes (one shuffle); larger strides gather. Depthwise convolutions over wide
// rows pack each tile's rows into a padded buffer instead (WindowTiling::padded).
//
// Operands (kernel ABI): X as [N, C·D·H·W], the depthwise weights [M·KD·KH·KW] (ONNX
// [M, 1, (KD,) KH, KW] as is), Y as [N, M·OD·OH·OW], bias [M] (depthwise, if any), then the custom epilogue's operands
// (depthwise only; EpilogueSite row = n, col = m·OH·OW + p as for the conv kernel). Thread
// tiles: blocks of output rows of one channel of one image.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/mlir_to_object.h"
#include "codegen/target.h"

namespace mlir {
class ModuleOp;
}

namespace eave::codegen {

enum class WindowOp { depthwise_conv, max_pool, average_pool };

struct WindowSpec {
  WindowOp op = WindowOp::max_pool;
  int64_t n = -1;  // batch; -1: dynamic, the value is syms[n_sym]
  int n_sym = -1;
  int64_t c = 0, h = 1, w = 0;  // input channels and spatial size (1-d windows: h = 1)
  int64_t multiplier = 1;       // depthwise: output channels per input channel
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t oh = 1, ow = 0;
  bool bias = false;               // depthwise
  bool count_include_pad = false;  // average pool: divide by the window's size within the
                                   // padded input rather than by its taps inside the input
  // A third (leading) spatial axis for 3-d windows: output rows are then (od, oh) pairs and
  // kernel rows (kd, kh) pairs.
  int64_t d = 1, kd = 1, stride_d = 1, dilation_d = 1, pad_front = 0, pad_back = 0, od = 1;

  int64_t out_channels() const { return op == WindowOp::depthwise_conv ? c * multiplier : c; }
  int64_t out_rows() const { return od * oh; }
  int64_t taps() const { return kd * kh * kw; }
};

struct WindowTiling {
  int64_t lanes = 0;
  int64_t rows = 0;           // R: output rows per register block
  int64_t vecs = 0;           // V: vectors per row of a register block
  int64_t rows_per_tile = 0;  // output rows (of OD·OH) per thread tile (a multiple of rows)
  bool fma = true;
  // Depthwise, 2-d window, unit column stride: each thread tile packs its input rows into a
  // zero-padded stack buffer, and every register block is a scheduled product over the taps
  // read in place from it (the register tile's `register_tile_taps`). Otherwise the blocks read
  // the input in place through lane masks.
  bool padded = false;
};

WindowTiling choose_window_tiling(const WindowSpec& spec, const TargetSpec& target);
// Thread tiles per image.
int64_t window_tiles_per_image(const WindowSpec& spec, const WindowTiling& tiling);

struct MatmulEpilogue;  // matmul_epilogue.h

// Adds func.func `name`: X, weights (depthwise), Y, bias (if spec.bias), the custom epilogue's
// operands, then index tile_begin, tile_end.
void build_window_kernel(mlir::ModuleOp module, const std::string& name, const WindowSpec& spec,
                         const WindowTiling& tiling, const MatmulEpilogue* custom = nullptr);
KernelBinding window_binding(const WindowSpec& spec, const std::string& body,
                             const std::string& symbol, const MatmulEpilogue* custom = nullptr);

// Global pools: Y[n·C + c] = mean or max of X[n, c, all positions]. X as [N·C, H·W] (rows
// dynamic when the batch is: syms[rows_sym] holds N·C), Y as [N·C]. Tiles: blocks of
// `planes_per_tile` planes.
struct GlobalPoolSpec {
  bool max = false;  // GlobalMaxPool, else GlobalAveragePool
  int64_t planes = -1;  // N·C; -1: dynamic, syms[planes_sym]
  int planes_sym = -1;
  int64_t positions = 0;  // H·W (or any spatial product)
};
int64_t global_pool_planes_per_tile(const GlobalPoolSpec& spec);
void build_global_pool_kernel(mlir::ModuleOp module, const std::string& name,
                              const GlobalPoolSpec& spec, const TargetSpec& target);
KernelBinding global_pool_binding(const GlobalPoolSpec& spec, const std::string& body,
                                  const std::string& symbol);

// Convenience for tests: one kernel (no custom epilogue) in a fresh module, compiled.
Bytes compile_window_kernel(const WindowSpec& spec, const WindowTiling& tiling,
                            const std::string& symbol, const TargetSpec& target,
                            const CompileOptions& options = {});
Bytes compile_global_pool_kernel(const GlobalPoolSpec& spec, const std::string& symbol,
                                 const TargetSpec& target, const CompileOptions& options = {});

}  // namespace eave::codegen
