// The f32 convolution kernel (NCHW): Y[n, m, oh, ow] = sum over (c, kh, kw) of
// W[m, c, kh, kw] · X[n, g·C/G + c, oh·sh + kh·dh − pt, ow·sw + kw·dw − pl] (zero outside the
// image), then bias and an elementwise epilogue on the registers (matmul_epilogue.h).
//
// An implicit GEMM per image and group: Y[m, p] = W[m, k] · im2col[k, p] with rows m the output
// channels, columns p = oh·OW + ow the output positions and k = (c, kh, kw). The microkernel
// holds mr channels × nr positions of Y in vector registers; each K step broadcasts mr weights
// and FMAs them into nr positions of the image. The weights are packed at compile time,
// [G][K blocks][ceil(Mg/mr)][c_block][KH][KW][mr] (zero-padded channels), so a step reads mr
// consecutive floats and the row groups of a K block one sequential stream. How the nr image values of a step are read depends on the method:
//
//   flat    stride 1 and output rows as wide as the input's (the usual "same" padding): the
//           panel is nr consecutive flattened positions and tap (kh, kw) reads the nr input
//           floats at a fixed shift from them, through a lane mask per tap for the padding.
//           1×1 convolutions with stride 1 and no padding are plain GEMMs this way.
//   direct  stride_w == 1: the panel is nr consecutive positions of one output row, so every
//           (c, kh, kw) reads nr consecutive input floats in place, through a lane mask that
//           zeroes the left and right padding; rows in the top/bottom padding are skipped.
//   packed  anything else (strides, small images whose rows would waste lanes, 3-d): the panel is
//           nr consecutive flattened positions; per K block its im2col columns are gathered
//           (masked vector gathers) into a stack buffer that every row group then reads.
//
//   transposed  small images with many channels (7x7, 14x14): the other way round, channels
//           in the lanes (100% used when Mg is a multiple of the vector) and mr positions in the
//           rows. A panel of mr positions is packed whole (all of K: masked loads at a fixed
//           shift per tap when the flat method applies, gathers otherwise) and every block of
//           nr channels runs over it, broadcasting packed positions against weight vectors
//           packed [G][Mg/nr][Cg·taps][nr]; the finished tile is transposed in registers (a
//           butterfly of two-vector shuffles) so the epilogue and the stores see channels
//           again. No K blocks: partial sums never leave the registers.
//
// Loop nest per thread tile (an image, a group, a block of channels, a block of panels):
//   for K blocks of c_block input channels:       (weights of the block: L2)
//     for panels of nr positions in the tile:      (the panel's image data: L1)
//       [packed: gather the panel's columns]
//       for row groups of mr channels:             microkernel over the block's taps
// Partial sums go through Y between K blocks; the epilogue runs after the last.
//
// Operands (kernel ABI): X as [N, C·H·W], packed weights (1-d), Y as [N, M·OH·OW], bias [M] if
// spec.bias, then the custom epilogue's operands. N is static or syms[n_sym]. The epilogue sees
// Y as that matrix: EpilogueSite::row is the image n and col = m·OH·OW + p (all lanes of one
// vector share the channel m).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "codegen/mlir_to_object.h"
#include "codegen/target.h"

namespace mlir {
class ModuleOp;
}

namespace eave::codegen {

struct ConvSpec {
  int64_t n = -1;  // batch; -1: dynamic, the value is syms[n_sym]
  int n_sym = -1;
  int64_t c = 0, h = 1, w = 0;  // input channels and spatial size (1-d convolutions: h = 1)
  int64_t m = 0;                // output channels
  int64_t groups = 1;
  int64_t kh = 1, kw = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // the bottom/right padding follows from oh, ow
  int64_t oh = 1, ow = 0;             // output spatial size
  bool bias = false;
  // A third (leading) spatial axis for 3-d convolutions (the packed method only).
  int64_t d = 1, kd = 1, stride_d = 1, dilation_d = 1, pad_front = 0, od = 1;

  int64_t taps() const { return kd * kh * kw; }
  int64_t positions() const { return od * oh * ow; }
  int64_t image() const { return d * h * w; }  // input positions per channel
};

enum class ConvMethod { direct, flat, packed, transposed };

struct ConvTiling {
  ConvMethod method = ConvMethod::packed;
  int64_t lanes = 0;   // f32 lanes per vector register
  int64_t mr = 0;      // register tile rows: output channels (transposed: positions, <= lanes)
  int64_t nvec = 0;    // register tile vectors per row: nr = nvec · lanes positions (transposed:
                       // channels)
  int64_t c_block = 0; // input channels per K block
  int64_t m_block = 0; // output channels of a group per thread tile (a multiple of mr;
                       // transposed: of nr)
  int64_t panels_per_tile = 0;
  int64_t c_unroll = 1;  // flat: input channels per iteration of the K loop
  bool fma = true;
  int64_t nr() const { return nvec * lanes; }
};

// Throws Error for specs the kernel cannot run (sizes < 1, groups not dividing C and M). With
// `method`, the rest of the tiling is chosen for that method (an Error if it cannot run the
// spec), for tests and benchmarks.
ConvTiling choose_conv_tiling(const ConvSpec& spec, const TargetSpec& target,
                              std::optional<ConvMethod> method = std::nullopt);

// Packed weights: [G][K blocks][ceil(Mg/mr)][c_block (the last block: what is left)][KD][KH]
// [KW][mr] floats; transposed: [G][Mg/nr][Cg][KD][KH][KW][nr].
int64_t packed_conv_weights_elements(const ConvSpec& spec, const ConvTiling& tiling);
// Packs ONNX weights [M][C/G][(KD)][KH][KW] (row-major) into `packed`.
void pack_conv_weights(const float* w, const ConvSpec& spec, const ConvTiling& tiling,
                       float* packed);

// Thread tiles per image; a step runs batch · conv_tiles_per_image tiles.
int64_t conv_tiles_per_image(const ConvSpec& spec, const ConvTiling& tiling);

struct MatmulEpilogue;  // matmul_epilogue.h

// Adds func.func `name` (on memrefs): X, packed W, Y, bias if spec.bias, the custom epilogue's
// operands, then index tile_begin, tile_end.
void build_conv_kernel(mlir::ModuleOp module, const std::string& name, const ConvSpec& spec,
                       const ConvTiling& tiling, const MatmulEpilogue* custom = nullptr);

// The ABI binding: buffers 0 X, 1 packed W, 2 Y, 3 bias (if any), then the custom epilogue's
// operands; a dynamic leading dimension of any of them is the batch (syms[spec.n_sym]).
KernelBinding conv_binding(const ConvSpec& spec, const std::string& body, const std::string& symbol,
                           const MatmulEpilogue* custom = nullptr);

// Convenience for tests and benchmarks: one kernel (no custom epilogue) in a fresh module,
// compiled to an object; `symbol` gets the binding of conv_binding.
Bytes compile_conv_kernel(const ConvSpec& spec, const ConvTiling& tiling, const std::string& symbol,
                          const TargetSpec& target, const CompileOptions& options = {});

}  // namespace eave::codegen
