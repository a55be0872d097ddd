// Builds the NCHW convolution kernel of conv_kernel.h as scf loops around a microkernel per
// method. The packed and transposed methods multiply packed panels: their K loops are the
// register tile of register_tile.h and its transform-dialect schedule, like the matmul's. The
// flat and direct methods read the image in place, a lane mask per tap, and state their K
// loops directly in the vector dialect. The loop order, thread tiles and image reads are
// decided here, per convolution.
#include "codegen/conv_kernel.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>

#include "codegen/kernel_builders.h"
#include "codegen/matmul_epilogue.h"
#include "codegen/register_tile.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "support/error.h"

namespace eave::codegen {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The unroll of the packed methods' scheduled K loops: none (see tile_steps).
constexpr int64_t kStepsUnroll = 1;

void check_spec(const ConvSpec& s) {
  EAVE_CHECK(s.c >= 1 && s.h >= 1 && s.w >= 1 && s.m >= 1 && s.kh >= 1 && s.kw >= 1 &&
                 s.oh >= 1 && s.ow >= 1,
             "conv: sizes must be at least 1 (C=", s.c, " H=", s.h, " W=", s.w, " M=", s.m,
             " kernel ", s.kh, "x", s.kw, " output ", s.oh, "x", s.ow, ")");
  EAVE_CHECK(s.stride_h >= 1 && s.stride_w >= 1 && s.dilation_h >= 1 && s.dilation_w >= 1 &&
                 s.pad_top >= 0 && s.pad_left >= 0,
             "conv: strides and dilations must be positive and pads not negative");
  EAVE_CHECK(s.d >= 1 && s.kd >= 1 && s.od >= 1 && s.stride_d >= 1 && s.dilation_d >= 1 &&
                 s.pad_front >= 0,
             "conv: bad depth axis (D=", s.d, " KD=", s.kd, " OD=", s.od, ")");
  EAVE_CHECK(s.groups >= 1 && s.c % s.groups == 0 && s.m % s.groups == 0, "conv: groups ",
             s.groups, " must divide C=", s.c, " and M=", s.m);
  EAVE_CHECK(s.n >= 0 || s.n_sym >= 0, "conv: a dynamic batch needs a symbol index");
}

// A 1x1 convolution with stride 1 and no padding reads the image as one row of H·W positions:
// the direct method then runs it as a plain GEMM with full-width panels.
ConvSpec normalized(const ConvSpec& s) {
  ConvSpec n = s;
  if (s.taps() == 1 && s.stride_d == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_front == 0 &&
      s.pad_top == 0 && s.pad_left == 0 && s.od == s.d && s.oh == s.h && s.ow == s.w) {
    n.w = s.image();
    n.ow = s.positions();
    n.d = n.od = n.h = n.oh = 1;
    n.dilation_d = n.dilation_h = n.dilation_w = 1;
  }
  return n;
}

bool is_3d(const ConvSpec& s) { return s.d > 1 || s.kd > 1 || s.od > 1; }

// Fraction of the lanes of nr-wide panels that hold positions, for rows of `len` positions.
double lane_use(int64_t len, int64_t nr) { return double(len) / double(ceil_div(len, nr) * nr); }

// The flat method: stride 1 and output rows as wide as input rows, so that flattened output
// position p reads input p + (kh·dh − pt)·W + kw·dw − pl for every tap; a lane mask per tap
// drops what falls in the padding. Its masks stay live across the K loop: few taps only.
bool flat_applies(const ConvSpec& s) {
  return !is_3d(s) && s.stride_h == 1 && s.stride_w == 1 && s.ow == s.w && s.kh * s.kw <= 25;
}

// Panels per image: nr positions each (transposed: mr positions each).
int64_t panel_count(const ConvSpec& s, const ConvTiling& t) {
  if (t.method == ConvMethod::transposed) return ceil_div(s.positions(), t.mr);
  return t.method == ConvMethod::direct ? s.oh * ceil_div(s.ow, t.nr()) : ceil_div(s.positions(), t.nr());
}

// Rows of the tiling's register tile that a thread tile's channel blocks are made of.
int64_t channel_group(const ConvTiling& t) { return t.method == ConvMethod::transposed ? t.nr() : t.mr; }

}  // namespace

ConvTiling choose_conv_tiling(const ConvSpec& spec, const TargetSpec& target,
                              std::optional<ConvMethod> method) {
  check_spec(spec);
  const ConvSpec s = normalized(spec);
  TargetInfo info = resolve_target(target);
  ConvTiling t;
  t.lanes = std::max(1, info.f32_lanes());
  t.fma = info.has_fma;
  // Register tile: two vectors of positions per row and as many channel rows as the register
  // file holds beside them (AVX-512: up to 14 x 32, AVX2: 6 x 16). More rows than the matmul's
  // 8 pay here: the image vectors are unaligned (two cache lines each) and masked, so each K step
  // costs more loads to amortize (12-14 rows: 4-8% over 8 on Emerald Rapids, resnet layers).
  // The rows are balanced over the fewest row groups: 64 channels are 5 groups of 13 and 12.
  t.nvec = 2;
  const int64_t cg = s.c / s.groups, mg = s.m / s.groups, taps = s.taps();
  int64_t registers = info.simd_bits > 0 ? info.vector_registers : 16;
  int64_t mr_max = std::clamp<int64_t>((registers - t.nvec - 2) / t.nvec, 1, 14);
  t.mr = ceil_div(mg, ceil_div(mg, mr_max));
  const int64_t nr = t.nr();
  const int64_t positions = s.positions();

  // Direct reads waste the lanes past the end of each output row; packing wastes only the last
  // panel's but gathers every im2col value once per panel, which costs about a vector of
  // gathers (~lanes/2 cycles) per lanes·Mg FMAs (Mg/2 cycles at two FMAs a cycle).
  double packed_cost = 1.0 / lane_use(positions, nr) * (1.0 + double(t.lanes) / double(mg));
  double direct_cost = 1.0 / lane_use(s.ow, nr);
  double position_lanes = lane_use(positions, nr);
  if (method) {
    t.method = *method;
  } else if (flat_applies(s)) {
    t.method = ConvMethod::flat;
  } else if (s.stride_w == 1 && !is_3d(s) && direct_cost <= packed_cost) {
    t.method = ConvMethod::direct;
    position_lanes = lane_use(s.ow, nr);
  } else {
    t.method = ConvMethod::packed;
  }
  // Small images (7x7: 77% of the lanes of 32-position panels, 14x14: 88%) with channels in
  // multiples of the vector: channels in the lanes instead. K must be long enough to pay for
  // the transposition of every finished tile.
  const int64_t k_total = cg * taps;
  bool transposed_fits = mg % t.lanes == 0;
  if (method ? *method == ConvMethod::transposed
             : position_lanes < 0.9 && transposed_fits && mg >= 2 * t.lanes && k_total >= 64) {
    EAVE_CHECK(transposed_fits, "conv: the transposed method needs channels in multiples of ",
               t.lanes);
    t.method = ConvMethod::transposed;
    t.nvec = mg % (2 * t.lanes) == 0 ? 2 : 1;
    int64_t rows_max = std::clamp<int64_t>((registers - t.nvec - 1) / t.nvec, 1, std::min<int64_t>(14, t.lanes));
    t.mr = ceil_div(positions, ceil_div(positions, rows_max));
  }
  EAVE_CHECK(t.method != ConvMethod::flat || flat_applies(s),
             "conv: the flat method needs stride 1 and output rows as wide as the input's");
  EAVE_CHECK(t.method != ConvMethod::direct || (s.stride_w == 1 && !is_3d(s)),
             "conv: the direct method needs stride_w 1 and two spatial axes at most");

  // K blocks: the block's image data of a panel stays in L1 next to a row group's weights
  // (direct: c_block·KH rows of nr + (KW-1)·dw floats, about 24 KB), or the packed panel
  // (c_block·KH·KW rows of nr floats) stays within 32 KB of stack.
  int64_t c_max = cg;
  if (t.method == ConvMethod::direct) {
    int64_t row_bytes = s.kh * (nr + (s.kw - 1) * s.dilation_w) * 4;
    c_max = std::max<int64_t>(1, std::min<int64_t>((24 << 10) / row_bytes, 512 / taps));
  } else if (t.method == ConvMethod::flat) {
    // A panel's taps of one channel span nr + (KH-1)·dh·W + (KW-1)·dw consecutive floats.
    int64_t span_bytes = (nr + (s.kh - 1) * s.dilation_h * s.w + (s.kw - 1) * s.dilation_w) * 4;
    c_max = std::max<int64_t>(1, std::min<int64_t>((24 << 10) / span_bytes, 512 / taps));
  } else if (t.method == ConvMethod::packed) {
    c_max = std::max<int64_t>(1, (32 << 10) / (taps * nr * 4));
  } else {
    // Transposed: about 64 taps, so a block of nr channels' weights (8 KB) and the tile's
    // packed panels stay in L1 while the panels run over the weights (64 taps: 5-10% over 256
    // on resnet's 7x7 and 14x14 layers).
    c_max = std::max<int64_t>(1, 64 / taps);
  }
  int64_t k_blocks = ceil_div(cg, c_max);
  t.c_block = ceil_div(cg, k_blocks);
  t.c_unroll = t.method == ConvMethod::flat ? std::max<int64_t>(1, 2 / taps) : 1;

  // Thread tiles: a tile is a block of row groups (channels) times a block of panels, of one
  // image and group. Aim for about 16 tiles per image (enough for a few threads to balance) of
  // at least 64K multiply-adds each, and among those shapes take the one that streams the
  // least: each block of panels reads its channels' weights once, each block of channels reads
  // the image once. Large images with few channels split the positions; small images with
  // many channels (weights of megabytes) split the channels and keep all panels in one tile.
  // Transposed tiles pack each of their panels once per block of channels (K blocks at a
  // time: stack of panels · c_block·taps · lanes floats) and keep every register tile's partial
  // sums on the stack between K blocks (panels · channels · mr floats): both bounded.
  const bool transposed = t.method == ConvMethod::transposed;
  const int64_t panels = panel_count(s, t);
  const int64_t group_rows = channel_group(t);
  const int64_t row_groups = ceil_div(mg, group_rows);
  const double weight_bytes = double(mg) * cg * taps * 4;
  const double image_bytes = double(cg) * s.image() * 4 * (transposed ? taps : 1);
  const double macs = double(mg) * positions * cg * taps;
  const int64_t want_tiles = std::max<int64_t>(
      1, std::min<int64_t>({16, s.groups * row_groups * panels, int64_t(macs * s.groups / (64 << 10))}));
  auto stack_ok = [&](int64_t gpb, int64_t ppt) {
    if (!transposed) return true;
    int64_t pack = ppt * t.c_block * taps * t.lanes, scratch = ppt * gpb * group_rows * t.mr;
    return (pack + scratch) * 4 <= (192 << 10);
  };
  double best_traffic = 0;
  bool found = false;
  for (int64_t gpb = row_groups; gpb >= 1; --gpb) {
    if (gpb < row_groups && ceil_div(row_groups, gpb) == ceil_div(row_groups, gpb + 1)) continue;
    int64_t mb = ceil_div(row_groups, gpb);
    for (int64_t ppt = panels; ppt >= 1; --ppt) {
      if (ppt < panels && ceil_div(panels, ppt) == ceil_div(panels, ppt + 1)) continue;
      if (!stack_ok(gpb, ppt)) continue;
      int64_t pb = ceil_div(panels, ppt);
      if (s.groups * mb * pb < want_tiles) continue;
      double traffic = weight_bytes * double(pb) + image_bytes * double(mb);
      if (!found || traffic < best_traffic) {
        found = true;
        best_traffic = traffic;
        t.m_block = gpb * group_rows;
        t.panels_per_tile = ppt;
      }
      break;  // smaller blocks of panels only add traffic
    }
  }
  if (!found) {
    t.m_block = (transposed ? 1 : row_groups) * group_rows;
    t.panels_per_tile = 1;
  }
  return t;
}

int64_t packed_conv_weights_elements(const ConvSpec& spec, const ConvTiling& t) {
  int64_t mg = spec.m / spec.groups, cg = spec.c / spec.groups;
  if (t.method == ConvMethod::transposed) return spec.m * cg * spec.taps();
  return spec.groups * ceil_div(mg, t.mr) * cg * spec.taps() * t.mr;
}

void pack_conv_weights(const float* w, const ConvSpec& spec, const ConvTiling& t, float* packed) {
  const int64_t mg = spec.m / spec.groups, cg = spec.c / spec.groups, taps = spec.taps();
  if (t.method == ConvMethod::transposed) {
    const int64_t cw = t.nr();
    for (int64_t g = 0; g < spec.groups; ++g)
      for (int64_t cp = 0; cp < mg / cw; ++cp)
        for (int64_t k = 0; k < cg * taps; ++k)
          for (int64_t j = 0; j < cw; ++j) *packed++ = w[(g * mg + cp * cw + j) * cg * taps + k];
    return;
  }
  for (int64_t g = 0; g < spec.groups; ++g)
    for (int64_t c0 = 0; c0 < cg; c0 += t.c_block)
      for (int64_t rg = 0; rg < ceil_div(mg, t.mr); ++rg)
        for (int64_t c = c0; c < std::min(cg, c0 + t.c_block); ++c)
          for (int64_t k = 0; k < taps; ++k)
            for (int64_t i = 0; i < t.mr; ++i) {
              int64_t m = rg * t.mr + i;
              *packed++ = m < mg ? w[((g * mg + m) * cg + c) * taps + k] : 0.0f;
            }
}

int64_t conv_tiles_per_image(const ConvSpec& spec, const ConvTiling& t) {
  const ConvSpec s = normalized(spec);
  int64_t panels = panel_count(s, t);
  int64_t mg = s.m / s.groups;
  return s.groups * ceil_div(mg, t.m_block) * ceil_div(panels, t.panels_per_tile);
}

namespace {

using namespace mlir;

class ConvEmitter {
 public:
  ConvEmitter(const ConvSpec& spec, const ConvTiling& t, const MatmulEpilogue* custom)
      : s_(normalized(spec)), t_(t), custom_(custom) {
    cg_ = s_.c / s_.groups;
    mg_ = s_.m / s_.groups;
    taps_ = s_.taps();
    positions_ = s_.positions();
    image_ = s_.image();
    nr_ = t.nr();
    row_groups_ = ceil_div(mg_, t.mr);
    panels_w_ = ceil_div(s_.ow, nr_);
    panels_ = panel_count(s_, t);
    m_blocks_ = ceil_div(mg_, t.m_block);
    p_blocks_ = ceil_div(panels_, t.panels_per_tile);
  }

  void emit(ModuleOp module, const std::string& name) {
    MLIRContext* ctx = module.getContext();
    ImplicitLocOpBuilder b(UnknownLoc::get(ctx), ctx);
    Type f32 = b.getF32Type();
    vt_ = VectorType::get({t_.lanes}, f32);
    mt_ = VectorType::get({t_.lanes}, b.getI1Type());
    it_ = VectorType::get({t_.lanes}, b.getI32Type());
    int64_t batch = s_.n < 0 ? ShapedType::kDynamic : s_.n;
    SmallVector<Type> own = {MemRefType::get({batch, s_.c * image_}, f32),
                             MemRefType::get({packed_conv_weights_elements(s_, t_)}, f32),
                             MemRefType::get({batch, s_.m * positions_}, f32)};
    TiledKernelOperands ops = begin_tiled_kernel(
        b, module, name, own, s_.bias ? MemRefType::get({s_.m}, f32) : Type(),
        custom_ ? TypeRange(custom_->operand_types) : TypeRange());
    x_ = ops.own[0];
    w_ = ops.own[1];
    y_ = ops.own[2];
    bias_ = ops.bias;
    extras_.assign(ops.extras.begin(), ops.extras.end());
    Value tile_begin = ops.tile_begin;
    Value tile_end = ops.tile_end;
    if (t_.method == ConvMethod::packed || t_.method == ConvMethod::transposed)
      tile_.emplace(b, module, t_.mr, t_.nvec * t_.lanes, t_.lanes, kStepsUnroll);
    if (t_.method == ConvMethod::packed)
      pack_ = memref::AllocaOp::create(
          b, MemRefType::get({t_.c_block * taps_ * nr_}, f32), b.getI64IntegerAttr(64));
    if (t_.method == ConvMethod::transposed) {
      pack_ = memref::AllocaOp::create(
          b, MemRefType::get({t_.panels_per_tile * t_.c_block * taps_ * t_.lanes}, f32),
          b.getI64IntegerAttr(64));
      if (cg_ > t_.c_block)
        scratch_ = memref::AllocaOp::create(
            b, MemRefType::get({t_.panels_per_tile * t_.m_block * t_.mr}, f32), b.getI64IntegerAttr(64));
    }
    IndexOps ix{b};
    emit_loop(b, tile_begin, tile_end, ix.c(1), [&](ImplicitLocOpBuilder& b, Value t) {
      if (t_.method == ConvMethod::transposed)
        tile_transposed(b, t);
      else
        tile(b, t);
    });
    func::ReturnOp::create(b);
  }

 private:
  // Where a panel's K steps read, and which of its lanes are outputs.
  struct Panel {
    Value n, g;          // image and group
    Value first_panel;   // i1: the first panel of its tile (null: treat as first)
    Value first_rows;    // the first row group's row (null: every row group is first)
    Value slot;          // transposed: the panel's place in the tile's pack and scratch
    Value p0;            // flattened output position of lane 0
    Value out_mask[4];   // per vector: lanes holding output positions (null: all)
    // direct
    Value ih0, ow0, kh_lo, kh_hi;
    std::vector<Value> tap_mask;  // [kw * nvec + v]: lanes whose input column is inside
  };
  struct KBlock {
    Value c0, cb, first, last;
    bool single;  // one K block: always first and last
  };

  Value zero_vector(ImplicitLocOpBuilder& b) { return splat_f32(b, b.getLoc(), vt_, 0.0f); }
  Value iota(ImplicitLocOpBuilder& b) {
    SmallVector<int32_t> v(t_.lanes);
    for (int64_t i = 0; i < t_.lanes; ++i) v[i] = int32_t(i);
    return arith::ConstantOp::create(b, DenseElementsAttr::get(it_, ArrayRef(v)));
  }
  Value splat_i32(ImplicitLocOpBuilder& b, Value index) {
    Value i = arith::IndexCastOp::create(b, b.getI32Type(), index);
    return vector::BroadcastOp::create(b, it_, i);
  }
  Value splat_i32(ImplicitLocOpBuilder& b, int64_t v) {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(it_, b.getI32IntegerAttr(int32_t(v))));
  }
  Value vcmp(ImplicitLocOpBuilder& b, arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value vand(ImplicitLocOpBuilder& b, Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  // lo <= x < hi, lane-wise.
  Value in_range(ImplicitLocOpBuilder& b, Value x, int64_t lo, int64_t hi) {
    return vand(b, vcmp(b, arith::CmpIPredicate::sge, x, splat_i32(b, lo)),
                vcmp(b, arith::CmpIPredicate::slt, x, splat_i32(b, hi)));
  }

  // Tile t = ((n·G + g)·m_blocks + mb)·p_blocks + pb: image, group, block of channels, block
  // of panels [panel_lo, panel_hi).
  struct TileCoords {
    Value n, g, mb, panel_lo, panel_hi;
  };
  TileCoords tile_coords(ImplicitLocOpBuilder& b, Value t) {
    IndexOps ix{b};
    TileCoords tc;
    Value pb = ix.rem(t, p_blocks_);
    Value t1 = ix.div(t, p_blocks_);
    tc.mb = ix.rem(t1, m_blocks_);
    Value t2 = ix.div(t1, m_blocks_);
    tc.g = ix.rem(t2, s_.groups);
    tc.n = ix.div(t2, s_.groups);
    tc.panel_lo = ix.mul(pb, t_.panels_per_tile);
    tc.panel_hi = ix.min(ix.add(tc.panel_lo, t_.panels_per_tile), ix.c(panels_));
    return tc;
  }

  // The K block of input channels [c0, c0 + cb).
  KBlock k_block(ImplicitLocOpBuilder& b, Value c0) {
    IndexOps ix{b};
    KBlock kb;
    kb.c0 = c0;
    kb.cb = ix.min(ix.c(t_.c_block), ix.sub(ix.c(cg_), c0));
    kb.single = t_.c_block >= cg_;
    if (!kb.single) {
      kb.first = ix.eq(c0, ix.c(0));
      kb.last = ix.ge(ix.add(c0, t_.c_block), ix.c(cg_));
    }
    return kb;
  }

  void tile(ImplicitLocOpBuilder& b, Value t) {
    IndexOps ix{b};
    auto [n, g, mb, panel_lo, panel_hi] = tile_coords(b, t);
    Value r_lo = ix.mul(mb, t_.m_block);
    Value r_hi = ix.min(ix.add(r_lo, t_.m_block), ix.c(mg_));
    // r_lo is a multiple of mr; only the last block can end in a partial row group.
    Value full_end = ix.add(r_lo, ix.mul(ix.div(ix.sub(r_hi, r_lo), t_.mr), t_.mr));
    const int64_t tail_rows = mg_ % t_.mr;

    emit_loop(b, ix.c(0), ix.c(cg_), ix.c(t_.c_block), [&](ImplicitLocOpBuilder& b, Value c0) {
      IndexOps ix{b};
      KBlock kb = k_block(b, c0);
      emit_loop(b, panel_lo, panel_hi, ix.c(1), [&](ImplicitLocOpBuilder& b, Value panel) {
        IndexOps ix{b};
        Panel p = setup_panel(b, n, g, panel, kb);
        // Only the panel's first row group prefetches the next panel's image, and only the
        // tile's first panel the next K block's weights: the others would fetch them again.
        p.first_panel = ix.eq(panel, panel_lo);
        p.first_rows = r_lo;
        emit_loop(b, r_lo, full_end, ix.c(t_.mr), [&](ImplicitLocOpBuilder& b, Value r) {
          microkernel(b, p, kb, r, t_.mr);
        });
        if (tail_rows)
          emit_if(b, ix.lt(full_end, r_hi), {}, [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
            microkernel(b, p, kb, full_end, tail_rows);
            return {};
          }, nullptr);
      });
    });
  }

  Panel setup_panel(ImplicitLocOpBuilder& b, Value n, Value g, Value panel, const KBlock& kb) {
    IndexOps ix{b};
    Panel p;
    p.n = n;
    p.g = g;
    if (t_.method == ConvMethod::direct) {
      Value row = ix.div(panel, panels_w_);
      p.ow0 = ix.mul(ix.rem(panel, panels_w_), nr_);
      p.p0 = ix.add(ix.mul(row, s_.ow), p.ow0);
      p.ih0 = ix.sub(ix.mul(row, s_.stride_h), ix.c(s_.pad_top));
      // Taps kh with 0 <= ih0 + kh·dh < H.
      Value neg = ix.sub(ix.c(0), p.ih0);
      p.kh_lo = ix.max(ix.c(0), ix.ceildiv(neg, s_.dilation_h));
      p.kh_hi = ix.min(ix.c(s_.kh), ix.add(ix.floordiv(ix.sub(ix.c(s_.h - 1), p.ih0), s_.dilation_h), 1));
      p.kh_hi = ix.max(p.kh_hi, p.kh_lo);
      Value lanes = iota(b);
      for (int64_t v = 0; v < t_.nvec; ++v) {
        Value ow = arith::AddIOp::create(b, splat_i32(b, ix.add(p.ow0, v * t_.lanes)), lanes);
        p.out_mask[v] = s_.ow % nr_ == 0 ? Value() : vcmp(b, arith::CmpIPredicate::slt, ow, splat_i32(b, s_.ow));
        Value inside_out = vcmp(b, arith::CmpIPredicate::slt, ow, splat_i32(b, s_.ow));
        for (int64_t kw = 0; kw < s_.kw; ++kw) {
          Value iw = arith::AddIOp::create(b, ow, splat_i32(b, kw * s_.dilation_w - s_.pad_left));
          p.tap_mask.push_back(vand(b, inside_out, in_range(b, iw, 0, s_.w)));
        }
      }
      // tap_mask is [v][kw] as built; reorder to [kw][v].
      std::vector<Value> by_kw(p.tap_mask.size());
      for (int64_t v = 0; v < t_.nvec; ++v)
        for (int64_t kw = 0; kw < s_.kw; ++kw) by_kw[kw * t_.nvec + v] = p.tap_mask[v * s_.kw + kw];
      p.tap_mask = std::move(by_kw);
      return p;
    }
    p.p0 = ix.mul(panel, nr_);
    Value lanes = iota(b);
    if (t_.method == ConvMethod::flat) {
      // tap_mask[(kh·KW + kw)·nvec + v]: lanes whose output exists and whose input is inside.
      p.tap_mask.resize(taps_ * t_.nvec);
      for (int64_t v = 0; v < t_.nvec; ++v) {
        Value pos = arith::AddIOp::create(b, splat_i32(b, ix.add(p.p0, v * t_.lanes)), lanes);
        Value valid = vcmp(b, arith::CmpIPredicate::slt, pos, splat_i32(b, positions_));
        p.out_mask[v] = positions_ % nr_ == 0 ? Value() : valid;
        Value oh = arith::DivUIOp::create(b, pos, splat_i32(b, s_.ow));
        Value ow = arith::RemUIOp::create(b, pos, splat_i32(b, s_.ow));
        for (int64_t kh = 0; kh < s_.kh; ++kh) {
          Value ih = arith::AddIOp::create(b, oh, splat_i32(b, kh * s_.dilation_h - s_.pad_top));
          Value row_ok = vand(b, valid, in_range(b, ih, 0, s_.h));
          for (int64_t kw = 0; kw < s_.kw; ++kw) {
            Value iw = arith::AddIOp::create(b, ow, splat_i32(b, kw * s_.dilation_w - s_.pad_left));
            p.tap_mask[(kh * s_.kw + kw) * t_.nvec + v] = vand(b, row_ok, in_range(b, iw, 0, s_.w));
          }
        }
      }
      return p;
    }
    for (int64_t v = 0; v < t_.nvec; ++v) {
      Value pos = arith::AddIOp::create(b, splat_i32(b, ix.add(p.p0, v * t_.lanes)), lanes);
      Value valid = vcmp(b, arith::CmpIPredicate::slt, pos, splat_i32(b, positions_));
      p.out_mask[v] = positions_ % nr_ == 0 ? Value() : valid;
      pack_panel(b, p, kb, pos, valid, v, nr_);
    }
    return p;
  }

  // pack[(c·taps + tap)·stride + v·lanes + l] = X[n, g·Cg + c0 + c, id, ih, iw] (0 outside),
  // for the positions `pos` of vector v of the panel; tap = (kd·KH + kh)·KW + kw.
  void pack_panel(ImplicitLocOpBuilder& b, const Panel& p, const KBlock& kb, Value pos,
                  Value valid, int64_t v, int64_t stride, Value pack_base = Value()) {
    IndexOps ix{b};
    auto vmul = [&](Value x, int64_t k) { return (Value)arith::MulIOp::create(b, x, splat_i32(b, k)); };
    auto vadd = [&](Value x, int64_t k) { return (Value)arith::AddIOp::create(b, x, splat_i32(b, k)); };
    Value ow = arith::RemUIOp::create(b, pos, splat_i32(b, s_.ow));
    Value rows = arith::DivUIOp::create(b, pos, splat_i32(b, s_.ow));
    Value oh = arith::RemUIOp::create(b, rows, splat_i32(b, s_.oh));
    Value od = arith::DivUIOp::create(b, rows, splat_i32(b, s_.oh));
    Value id0 = vadd(vmul(od, s_.stride_d), -s_.pad_front);
    Value ih0 = vadd(vmul(oh, s_.stride_h), -s_.pad_top);
    Value iw0 = vadd(vmul(ow, s_.stride_w), -s_.pad_left);
    Value zero = zero_vector(b);
    Value zero_i = splat_i32(b, 0);
    Value chan0 = ix.mul(ix.add(ix.mul(p.g, cg_), kb.c0), image_);
    for (int64_t kd = 0; kd < s_.kd; ++kd) {
      Value id = vadd(id0, kd * s_.dilation_d);
      Value md = vand(b, valid, in_range(b, id, 0, s_.d));
      Value plane_off = vmul(id, s_.h * s_.w);
      for (int64_t kh = 0; kh < s_.kh; ++kh) {
        Value ih = vadd(ih0, kh * s_.dilation_h);
        Value mh = vand(b, md, in_range(b, ih, 0, s_.h));
        Value row_off = arith::AddIOp::create(b, plane_off, vmul(ih, s_.w));
        for (int64_t kw = 0; kw < s_.kw; ++kw) {
          Value iw = vadd(iw0, kw * s_.dilation_w);
          Value mask = vand(b, mh, in_range(b, iw, 0, s_.w));
          Value off = arith::SelectOp::create(b, mask, arith::AddIOp::create(b, row_off, iw), zero_i);
          int64_t tap = (kd * s_.kh + kh) * s_.kw + kw;
          emit_loop(b, ix.c(0), kb.cb, ix.c(1), [&](ImplicitLocOpBuilder& b, Value c) {
            IndexOps ix{b};
            Value base = ix.add(chan0, ix.mul(c, image_));
            Value x = vector::GatherOp::create(b, vt_, x_, ValueRange{p.n, base}, off, mask, zero);
            Value at = ix.add(ix.mul(c, taps_ * stride), tap * stride + v * t_.lanes);
            if (pack_base) at = ix.add(at, pack_base);
            vector::StoreOp::create(b, x, pack_, ValueRange{at});
          });
        }
      }
    }
  }

  using StepsView =
      llvm::function_ref<Value(ImplicitLocOpBuilder&, Value first, OpFoldResult count)>;
  using StepsPrefetch = std::function<void(ImplicitLocOpBuilder&, Value step)>;

  // The K steps [0, steps) of a packed method's register tile, from its vectors `init`:
  // tile += a(k, n) · panel(k, n) for the views of steps [k, k + n) (register_tile.h). With a
  // `prefetch`, the steps run one at a time in a loop stated here, each after `prefetch(k)` has
  // asked for what the next K block reads in step k; the schedule makes each step's product
  // and hoists the tile out of that loop too, so it stays in registers. (Unrolled K loops
  // gain nothing measurable here and make each product three copies of its FMAs: resnet50
  // compiled 40% slower.)
  SmallVector<Value> tile_steps(ImplicitLocOpBuilder& b, ArrayRef<Value> init, int64_t rows,
                                Value steps, StepsView a, StepsView panel,
                                const StepsPrefetch& prefetch) {
    IndexOps ix{b};
    tile_->set(b, init, rows);
    if (!prefetch) {
      tile_->accumulate(b, a(b, ix.c(0), steps), panel(b, ix.c(0), steps));
    } else {
      emit_loop(b, ix.c(0), steps, ix.c(1), [&](ImplicitLocOpBuilder& b, Value k) {
        prefetch(b, k);
        OpFoldResult one = b.getIndexAttr(1);
        tile_->accumulate(b, a(b, k, one), panel(b, k, one));
      });
    }
    return tile_->get(b, rows, int64_t(init.size()) / rows);
  }

  // Y[n, g·Mg + r + i, p0 + lanes of the panel] for i < rows (+)= the block's taps.
  void microkernel(ImplicitLocOpBuilder& b, const Panel& p, const KBlock& kb, Value r, int64_t rows) {
    IndexOps ix{b};
    const int64_t nvec = t_.nvec;
    // Output element offsets: row (g·Mg + r + i) of the image's [M, P] matrix.
    SmallVector<Value> y_row, y_col;
    Value m0 = ix.add(ix.mul(p.g, mg_), r);
    for (int64_t i = 0; i < rows; ++i) y_row.push_back(ix.add(m0, i));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t v = 0; v < nvec; ++v)
        y_col.push_back(ix.add(ix.add(ix.mul(y_row[i], positions_), p.p0), v * t_.lanes));
    auto load_y = [&](ImplicitLocOpBuilder& b) {
      SmallVector<Value> acc;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t v = 0; v < nvec; ++v) acc.push_back(load(b, y_, {p.n, y_col[i * nvec + v]}, p.out_mask[v]));
      return acc;
    };
    SmallVector<Type> acc_types(rows * nvec, vt_);
    SmallVector<Value> acc =
        kb.single ? SmallVector<Value>(rows * nvec, zero_vector(b))
                  : emit_if(b, kb.first, acc_types,
                            [&](ImplicitLocOpBuilder& b) {
                              return SmallVector<Value>(rows * nvec, zero_vector(b));
                            },
                            load_y);

    // Weights of row group r / mr, from the block's first input channel.
    // Weights of row group r / mr for the block: [G][K blocks][row groups][cb][taps][mr], so
    // the row groups of a block read one sequential stream.
    Value w_base = ix.mul(ix.add(ix.add(ix.mul(p.g, row_groups_ * cg_ * taps_), ix.mul(kb.c0, row_groups_ * taps_)),
                                 ix.mul(ix.div(r, t_.mr), ix.mul(kb.cb, taps_))),
                          t_.mr);
    auto fma_step = [&](ImplicitLocOpBuilder& b, Value w_at, ArrayRef<Value> bv, SmallVector<Value>& acc) {
      IndexOps ix{b};
      for (int64_t i = 0; i < rows; ++i) {
        Value a = memref::LoadOp::create(b, w_, ValueRange{ix.add(w_at, i)});
        Value splat = vector::BroadcastOp::create(b, vt_, a);
        for (int64_t v = 0; v < nvec; ++v) {
          Value& c = acc[i * nvec + v];
          c = t_.fma ? (Value)vector::FMAOp::create(b, splat, bv[v], c)
                     : (Value)arith::AddFOp::create(b, arith::MulFOp::create(b, splat, bv[v]), c);
        }
      }
    };

    // Prefetch (into L2) the weights the same row group reads in the next K block: a model's
    // run finds them in memory, and the hardware prefetchers stop at every 4 KB page.
    const int64_t w_last = packed_conv_weights_elements(s_, t_) - 1, x_last = s_.c * image_ - 1;
    Value next_block = ix.mul(kb.cb, row_groups_ * taps_ * t_.mr);
    // Where a prefetch is redundant it fetches what this step reads anyway (a select, not a
    // branch: control flow in the K loop makes LLVM spill the accumulators).
    Value fetch_weights = p.first_panel;
    Value fetch_image = p.first_rows ? ix.eq(r, p.first_rows) : Value();
    auto prefetch = [&](ImplicitLocOpBuilder& b, Value memref, Value row, Value fetch, Value at,
                        Value ahead, int64_t last) {
      // Clamped into the buffer with one unsigned min (a negative index is a large one).
      Value i = arith::MinUIOp::create(b, ahead, IndexOps{b}.c(last));
      if (fetch) i = arith::SelectOp::create(b, fetch, i, at);
      SmallVector<Value, 2> indices;
      if (row) indices.push_back(row);
      indices.push_back(i);
      memref::PrefetchOp::create(b, memref, indices, /*isWrite=*/false, /*localityHint=*/2,
                                 /*isDataCache=*/true);
    };
    auto prefetch_weights = [&](ImplicitLocOpBuilder& b, Value w_at, int64_t floats) {
      IndexOps ix{b};
      for (int64_t line = 0; line < floats; line += 16)
        prefetch(b, w_, Value(), fetch_weights, w_at, ix.add(ix.add(w_at, next_block), line), w_last);
    };

    if (t_.method == ConvMethod::packed) {
      // The row group's weights ([rows, steps] at stride mr) times the packed panel.
      OpFoldResult one = b.getIndexAttr(1), nr = b.getIndexAttr(nr_);
      acc = tile_steps(
          b, acc, rows, ix.mul(kb.cb, taps_),
          [&](ImplicitLocOpBuilder& b, Value k, OpFoldResult n) {
            IndexOps ix{b};
            return matrix_view(b, w_, ix.add(w_base, ix.mul(k, t_.mr)), b.getIndexAttr(rows), n,
                               one, b.getIndexAttr(t_.mr));
          },
          [&](ImplicitLocOpBuilder& b, Value k, OpFoldResult n) {
            return matrix_view(b, pack_, IndexOps{b}.mul(k, nr_), n, nr, nr, one);
          },
          kb.single ? StepsPrefetch() : StepsPrefetch([&](ImplicitLocOpBuilder& b, Value k) {
            prefetch_weights(b, IndexOps{b}.add(w_base, IndexOps{b}.mul(k, t_.mr)), 1);
          }));
    } else if (t_.method == ConvMethod::flat) {
      Value chan0 = ix.add(ix.mul(p.g, cg_), kb.c0);
      // All taps of input channel c.
      auto channel_step = [&](ImplicitLocOpBuilder& b, Value c, SmallVector<Value>& out) {
        IndexOps ix{b};
        Value at = ix.add(ix.mul(ix.add(chan0, c), image_), p.p0);
        Value w_c = ix.add(w_base, ix.mul(c, taps_ * t_.mr));
        if (!kb.single) prefetch_weights(b, w_c, taps_ * t_.mr);
        // The next panel's input rows of this channel, into L2: a model's run finds the image
        // in L3 or memory (as it finds the weights): about 6% on resnet's 56x56 and 28x28 layers.
        for (int64_t kh = 0; kh < s_.kh; ++kh) {
          int64_t row = (kh * s_.dilation_h - s_.pad_top) * s_.w - s_.pad_left + nr_;
          for (int64_t f = 0; f < nr_ + (s_.kw - 1) * s_.dilation_w; f += 16)
            prefetch(b, x_, p.n, fetch_image, at, ix.add(at, row + f), x_last);
        }
        for (int64_t kh = 0; kh < s_.kh; ++kh)
          for (int64_t kw = 0; kw < s_.kw; ++kw) {
            int64_t tap = kh * s_.kw + kw;
            int64_t shift = (kh * s_.dilation_h - s_.pad_top) * s_.w + kw * s_.dilation_w - s_.pad_left;
            SmallVector<Value> bv;
            for (int64_t v = 0; v < nvec; ++v) {
              Value mask = p.tap_mask[tap * nvec + v];
              Value idx = ix.add(at, shift + v * t_.lanes);
              bv.push_back(mask ? (Value)vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{p.n, idx}, mask, zero_vector(b))
                                : (Value)vector::LoadOp::create(b, vt_, x_, ValueRange{p.n, idx}));
            }
            fma_step(b, ix.add(w_c, tap * t_.mr), bv, out);
          }
      };
      // Few taps per channel (1x1: one): unrolled over channels, so that loop control does not
      // compete with the FMAs.
      const int64_t u = std::max<int64_t>(1, t_.c_unroll);
      Value main_end = u == 1 ? kb.cb : ix.mul(ix.div(kb.cb, u), u);
      acc = emit_for(b, ix.c(0), main_end, ix.c(u), acc,
                     [&](ImplicitLocOpBuilder& b, Value c, ValueRange in) -> SmallVector<Value> {
        SmallVector<Value> out(in.begin(), in.end());
        for (int64_t i = 0; i < u; ++i) channel_step(b, IndexOps{b}.add(c, i), out);
        return out;
      });
      if (u > 1)
        acc = emit_for(b, main_end, kb.cb, ix.c(1), acc,
                       [&](ImplicitLocOpBuilder& b, Value c, ValueRange in) -> SmallVector<Value> {
          SmallVector<Value> out(in.begin(), in.end());
          channel_step(b, c, out);
          return out;
        });
    } else {
      Value chan0 = ix.add(ix.mul(p.g, cg_), kb.c0);
      acc = emit_for(b, ix.c(0), kb.cb, ix.c(1), acc,
                     [&](ImplicitLocOpBuilder& b, Value c, ValueRange in) -> SmallVector<Value> {
        IndexOps ix{b};
        Value plane = ix.mul(ix.add(chan0, c), image_);
        Value w_c = ix.add(w_base, ix.mul(c, taps_ * t_.mr));
        return emit_for(b, p.kh_lo, p.kh_hi, ix.c(1), in,
                        [&](ImplicitLocOpBuilder& b, Value kh, ValueRange in) -> SmallVector<Value> {
          IndexOps ix{b};
          SmallVector<Value> out(in.begin(), in.end());
          Value ih = ix.add(p.ih0, ix.mul(kh, s_.dilation_h));
          Value row = ix.add(plane, ix.mul(ih, s_.w));
          Value w_kh = ix.add(w_c, ix.mul(kh, s_.kw * t_.mr));
          for (int64_t kw = 0; kw < s_.kw; ++kw) {
            Value col = ix.add(ix.add(row, p.ow0), kw * s_.dilation_w - s_.pad_left);
            SmallVector<Value> bv;
            for (int64_t v = 0; v < nvec; ++v)
              bv.push_back(vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{p.n, ix.add(col, v * t_.lanes)},
                                                        p.tap_mask[kw * nvec + v], zero_vector(b)));
            fma_step(b, ix.add(w_kh, kw * t_.mr), bv, out);
          }
          return out;
        });
      });
    }

    auto store = [&](ImplicitLocOpBuilder& b, bool finish) -> SmallVector<Value> {
      for (int64_t i = 0; i < rows; ++i) {
        Value bias;
        if (finish && s_.bias)
          bias = vector::BroadcastOp::create(b, vt_, memref::LoadOp::create(b, bias_, ValueRange{y_row[i]}));
        for (int64_t v = 0; v < nvec; ++v) {
          Value x = acc[i * nvec + v];
          Value col = y_col[i * nvec + v];
          if (finish) {
            if (bias) x = arith::AddFOp::create(b, x, bias);
            if (custom_) {
              EpilogueSite site{b, b.getLoc(), x, p.n, col, p.out_mask[v], extras_};
              x = custom_->apply(site);
            }
          }
          store_vector(b, x, y_, {p.n, col}, p.out_mask[v]);
        }
      }
      return {};
    };
    if (kb.single)
      store(b, true);
    else
      emit_if(b, kb.last, {}, [&](ImplicitLocOpBuilder& b) { return store(b, true); },
              [&](ImplicitLocOpBuilder& b) { return store(b, false); });
  }


  // ---- the transposed method: channels in the lanes, positions in the rows

  void tile_transposed(ImplicitLocOpBuilder& b, Value t) {
    IndexOps ix{b};
    auto [n, g, mb, panel_lo, panel_hi] = tile_coords(b, t);
    const int64_t cw = nr_;  // channels per register tile
    Value cp_lo = ix.div(ix.mul(mb, t_.m_block), cw);
    Value cp_hi = ix.min(ix.add(cp_lo, t_.m_block / cw), ix.c(mg_ / cw));
    const int64_t tail_rows = positions_ % t_.mr;
    // Per K block: pack every panel of the tile, then run each block of channels (its weights
    // for the K block: L1) over all the panels.
    emit_loop(b, ix.c(0), ix.c(cg_), ix.c(t_.c_block), [&](ImplicitLocOpBuilder& b, Value c0) {
      IndexOps ix{b};
      KBlock kb = k_block(b, c0);
      auto panel_of = [&](ImplicitLocOpBuilder& b, Value panel) {
        IndexOps ix{b};
        Panel p;
        p.n = n;
        p.g = g;
        p.p0 = ix.mul(panel, t_.mr);
        p.slot = ix.sub(panel, panel_lo);
        return p;
      };
      emit_loop(b, panel_lo, panel_hi, ix.c(1), [&](ImplicitLocOpBuilder& b, Value panel) {
        pack_positions(b, panel_of(b, panel), kb);
      });
      emit_loop(b, cp_lo, cp_hi, ix.c(1), [&](ImplicitLocOpBuilder& b, Value cp) {
        emit_loop(b, panel_lo, panel_hi, ix.c(1), [&](ImplicitLocOpBuilder& b, Value panel) {
          IndexOps ix{b};
          Panel p = panel_of(b, panel);
          Value scratch_at = ix.mul(ix.add(ix.mul(p.slot, t_.m_block / cw), ix.sub(cp, cp_lo)), cw * t_.mr);
          if (!tail_rows) {
            microkernel_transposed(b, p, kb, cp, scratch_at, t_.mr);
            return;
          }
          // The last panel holds the P mod mr remaining positions.
          emit_if(b, ix.lt(ix.add(p.p0, t_.mr), ix.c(positions_ + 1)), {},
                  [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
                    microkernel_transposed(b, p, kb, cp, scratch_at, t_.mr);
                    return {};
                  },
                  [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
                    microkernel_transposed(b, p, kb, cp, scratch_at, tail_rows);
                    return {};
                  });
        });
      });
    });
  }

  // pack[slot][(c·taps + tap)·lanes + i] = the input of position p0 + i under tap (c0 + c,
  // tap), for the panel's mr positions (0 for the other lanes and outside the image).
  void pack_positions(ImplicitLocOpBuilder& b, const Panel& p, const KBlock& kb) {
    IndexOps ix{b};
    Value lanes = iota(b);
    Value pos = arith::AddIOp::create(b, splat_i32(b, p.p0), lanes);
    Value valid = vand(b, vcmp(b, arith::CmpIPredicate::slt, pos, splat_i32(b, positions_)),
                       vcmp(b, arith::CmpIPredicate::slt, lanes, splat_i32(b, t_.mr)));
    Value base = ix.mul(p.slot, t_.c_block * taps_ * t_.lanes);
    if (!flat_applies(s_)) {
      pack_panel(b, p, kb, pos, valid, 0, t_.lanes, base);  // base: the panel's slot
      return;
    }
    // Stride 1, rows as wide as the input's: tap (kh, kw) of the panel's positions is one
    // masked load at a fixed shift.
    Value oh = arith::DivUIOp::create(b, pos, splat_i32(b, s_.ow));
    Value ow = arith::RemUIOp::create(b, pos, splat_i32(b, s_.ow));
    std::vector<Value> masks;
    std::vector<int64_t> shifts;
    for (int64_t kh = 0; kh < s_.kh; ++kh) {
      Value ih = arith::AddIOp::create(b, oh, splat_i32(b, kh * s_.dilation_h - s_.pad_top));
      Value row_ok = vand(b, valid, in_range(b, ih, 0, s_.h));
      for (int64_t kw = 0; kw < s_.kw; ++kw) {
        Value iw = arith::AddIOp::create(b, ow, splat_i32(b, kw * s_.dilation_w - s_.pad_left));
        masks.push_back(vand(b, row_ok, in_range(b, iw, 0, s_.w)));
        shifts.push_back((kh * s_.dilation_h - s_.pad_top) * s_.w + kw * s_.dilation_w - s_.pad_left);
      }
    }
    Value chan0 = ix.add(ix.mul(p.g, cg_), kb.c0);
    emit_loop(b, ix.c(0), kb.cb, ix.c(1), [&](ImplicitLocOpBuilder& b, Value c) {
      IndexOps ix{b};
      Value at = ix.add(ix.mul(ix.add(chan0, c), image_), p.p0);
      Value out = ix.add(base, ix.mul(c, taps_ * t_.lanes));
      for (int64_t tap = 0; tap < taps_; ++tap) {
        Value x = vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{p.n, ix.add(at, shifts[tap])},
                                               masks[tap], zero_vector(b));
        vector::StoreOp::create(b, x, pack_, ValueRange{ix.add(out, tap * t_.lanes)});
      }
    });
  }

  // Y[n, channels of block cp, positions p0 .. p0 + rows) (+)= the K block; partial sums wait
  // in the scratch (at `scratch_at`) between blocks. After the last block the tile is
  // transposed so that each vector holds one channel's positions for the epilogue and store.
  void microkernel_transposed(ImplicitLocOpBuilder& b, const Panel& p, const KBlock& kb, Value cp,
                              Value scratch_at, int64_t rows) {
    IndexOps ix{b};
    const int64_t nvec = t_.nvec, lanes = t_.lanes, cw = nr_, k_total = cg_ * taps_;
    auto scratch_index = [&](ImplicitLocOpBuilder& b, int64_t i, int64_t v) {
      return IndexOps{b}.add(scratch_at, (i * nvec + v) * lanes);
    };
    SmallVector<Type> acc_types(rows * nvec, vt_);
    SmallVector<Value> acc =
        kb.single ? SmallVector<Value>(rows * nvec, zero_vector(b))
                  : emit_if(b, kb.first, acc_types,
                            [&](ImplicitLocOpBuilder& b) { return SmallVector<Value>(rows * nvec, zero_vector(b)); },
                            [&](ImplicitLocOpBuilder& b) {
                              SmallVector<Value> a;
                              for (int64_t i = 0; i < rows; ++i)
                                for (int64_t v = 0; v < nvec; ++v)
                                  a.push_back(vector::LoadOp::create(b, vt_, scratch_, ValueRange{scratch_index(b, i, v)}));
                              return a;
                            });
    Value w_base = ix.add(ix.mul(ix.add(ix.mul(p.g, mg_ / cw), cp), k_total * cw), ix.mul(kb.c0, taps_ * cw));
    const int64_t prefetch = t_.c_block * taps_ * cw, w_last = packed_conv_weights_elements(s_, t_) - 1;
    Value a_base = ix.mul(p.slot, t_.c_block * taps_ * lanes);
    // The panel's positions ([rows, steps] at stride lanes) times the block's weights.
    OpFoldResult one = b.getIndexAttr(1), width = b.getIndexAttr(cw);
    acc = tile_steps(
        b, acc, rows, ix.mul(kb.cb, taps_),
        [&](ImplicitLocOpBuilder& b, Value k, OpFoldResult n) {
          IndexOps ix{b};
          return matrix_view(b, pack_, ix.add(a_base, ix.mul(k, lanes)), b.getIndexAttr(rows), n,
                             one, b.getIndexAttr(lanes));
        },
        [&](ImplicitLocOpBuilder& b, Value k, OpFoldResult n) {
          IndexOps ix{b};
          return matrix_view(b, w_, ix.add(w_base, ix.mul(k, cw)), n, width, width, one);
        },
        // The same weights of the next K block, into L2: a model's run finds them in memory
        // (resnet's 7x7 layers stream 9 MB each), and the hardware prefetchers stop at every
        // 4 KB page.
        [&](ImplicitLocOpBuilder& b, Value k) {
          IndexOps ix{b};
          Value w_at = ix.add(w_base, ix.mul(k, cw));
          for (int64_t line = 0; line < cw; line += 16) {
            Value at = ix.min(ix.add(w_at, prefetch + line), ix.c(w_last));
            memref::PrefetchOp::create(b, w_, ValueRange{at}, /*isWrite=*/false,
                                       /*localityHint=*/2, /*isDataCache=*/true);
          }
        });
    auto finish = [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
      IndexOps ix{b};
      // Lanes of the stores: the panel's rows.
      SmallVector<bool> bits(lanes, false);
      std::fill(bits.begin(), bits.begin() + rows, true);
      Value mask = rows == lanes ? Value() : (Value)arith::ConstantOp::create(b, DenseElementsAttr::get(mt_, ArrayRef(bits)));
      for (int64_t v = 0; v < nvec; ++v) {
        std::vector<Value> block(lanes, zero_vector(b));
        for (int64_t i = 0; i < rows; ++i) block[i] = acc[i * nvec + v];
        transpose_in_registers(b, block);
        Value m_first = ix.add(ix.add(ix.mul(p.g, mg_), ix.mul(cp, cw)), v * lanes);
        for (int64_t j = 0; j < lanes; ++j) {
          Value m = ix.add(m_first, j);
          Value x = block[j];
          if (s_.bias)
            x = arith::AddFOp::create(b, x, vector::BroadcastOp::create(b, vt_, memref::LoadOp::create(b, bias_, ValueRange{m})));
          Value col = ix.add(ix.mul(m, positions_), p.p0);
          if (custom_) {
            EpilogueSite site{b, b.getLoc(), x, p.n, col, mask, extras_};
            x = custom_->apply(site);
          }
          store_vector(b, x, y_, {p.n, col}, mask);
        }
      }
      return {};
    };
    auto keep = [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t v = 0; v < nvec; ++v)
          vector::StoreOp::create(b, acc[i * nvec + v], scratch_, ValueRange{scratch_index(b, i, v)});
      return {};
    };
    if (kb.single)
      finish(b);
    else
      emit_if(b, kb.last, {}, finish, keep);
  }

  // block[i][l] becomes block[l][i] (lanes × lanes, lanes a power of two): log2(lanes) stages
  // of two-vector shuffles that swap the off-diagonal d × d blocks of row pairs (i, i + d).
  void transpose_in_registers(ImplicitLocOpBuilder& b, std::vector<Value>& block) {
    const int64_t n = int64_t(block.size());
    for (int64_t d = 1; d < n; d *= 2) {
      SmallVector<int64_t> lo_mask(n), hi_mask(n);
      for (int64_t l = 0; l < n; ++l) {
        // Shuffle indices: [0, n) pick from the first vector, [n, 2n) from the second.
        lo_mask[l] = (l & d) == 0 ? l : n + l - d;
        hi_mask[l] = (l & d) == 0 ? l + d : n + l;
      }
      for (int64_t i = 0; i < n; ++i) {
        if (i & d) continue;
        Value a = block[i], c = block[i + d];
        block[i] = vector::ShuffleOp::create(b, a, c, lo_mask);
        block[i + d] = vector::ShuffleOp::create(b, a, c, hi_mask);
      }
    }
  }

  Value load(ImplicitLocOpBuilder& b, Value memref, ValueRange indices, Value mask) {
    return load_vector(b, vt_, memref, indices, mask);
  }

  const ConvSpec s_;
  const ConvTiling& t_;
  const MatmulEpilogue* custom_;
  int64_t cg_ = 0, mg_ = 0, taps_ = 0, positions_ = 0, image_ = 0, nr_ = 0, row_groups_ = 0;
  int64_t panels_w_ = 0, panels_ = 0, m_blocks_ = 0, p_blocks_ = 0;
  VectorType vt_, mt_, it_;
  Value x_, w_, y_, bias_, pack_, scratch_;
  std::optional<RegisterTile> tile_;  // the packed methods'
  std::vector<Value> extras_;
};

}  // namespace

void build_conv_kernel(ModuleOp module, const std::string& name, const ConvSpec& spec,
                       const ConvTiling& tiling, const MatmulEpilogue* custom) {
  check_spec(spec);
  EAVE_CHECK(tiling.lanes >= 1 && tiling.mr >= 1 && tiling.nvec >= 1 && tiling.nvec <= 4 &&
                 tiling.c_block >= 1 && tiling.m_block >= channel_group(tiling) &&
                 tiling.m_block % channel_group(tiling) == 0 && tiling.panels_per_tile >= 1,
             "conv: inconsistent tiling mr=", tiling.mr, " nvec=", tiling.nvec, " c_block=",
             tiling.c_block, " m_block=", tiling.m_block, " panels_per_tile=", tiling.panels_per_tile);
  EAVE_CHECK(tiling.method != ConvMethod::direct ||
                 (normalized(spec).stride_w == 1 && !is_3d(normalized(spec))),
             "conv: the direct method needs stride_w 1 and two spatial axes at most");
  EAVE_CHECK(tiling.method != ConvMethod::transposed ||
                 ((spec.m / spec.groups) % tiling.nr() == 0 && tiling.mr <= tiling.lanes &&
                  tiling.m_block % tiling.nr() == 0),
             "conv: the transposed method needs channels in multiples of nr and at most lanes rows");
  EAVE_CHECK(tiling.method != ConvMethod::flat || flat_applies(normalized(spec)),
             "conv: the flat method needs stride 1 and output rows as wide as the input's");
  ConvEmitter(spec, tiling, custom).emit(module, name);
}

KernelBinding conv_binding(const ConvSpec& spec, const std::string& body, const std::string& symbol,
                           const MatmulEpilogue* custom) {
  KernelBinding k;
  k.body = body;
  k.symbol = symbol;
  k.operands = {{0, {spec.n_sym, -1}}, {1, {}}, {2, {spec.n_sym, -1}}};
  if (spec.bias) k.operands.push_back({3, {}});
  append_epilogue_bindings(k, custom, spec.n_sym);
  return k;
}

Bytes compile_conv_kernel(const ConvSpec& spec, const ConvTiling& tiling, const std::string& symbol,
                          const TargetSpec& target, const CompileOptions& options) {
  std::unique_ptr<MLIRContext> ctx = make_codegen_context();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(ctx.get()));
  build_conv_kernel(*module, symbol + "_body", spec, tiling);
  return compile_to_object(*module, {conv_binding(spec, symbol + "_body", symbol)}, target, options);
}

}  // namespace eave::codegen
