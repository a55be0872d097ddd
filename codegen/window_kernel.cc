// Builds the per-channel window kernels of window_kernel.h (depthwise convolution, max and
// average pooling, global pools) as scf loops around vector ops.
#include "codegen/window_kernel.h"

#include <algorithm>
#include <cfloat>
#include <optional>

#include "codegen/matmul_epilogue.h"
#include "codegen/kernel_builders.h"
#include "codegen/register_tile.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "support/error.h"

namespace eave::codegen {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_spec(const WindowSpec& s) {
  EAVE_CHECK(s.c >= 1 && s.h >= 1 && s.w >= 1 && s.kh >= 1 && s.kw >= 1 && s.oh >= 1 &&
                 s.ow >= 1 && s.multiplier >= 1,
             "window kernel: sizes must be at least 1");
  EAVE_CHECK(s.stride_h >= 1 && s.stride_w >= 1 && s.dilation_h >= 1 && s.dilation_w >= 1 &&
                 s.pad_top >= 0 && s.pad_left >= 0 && s.pad_bottom >= 0 && s.pad_right >= 0,
             "window kernel: strides and dilations must be positive and pads not negative");
  EAVE_CHECK(s.n >= 0 || s.n_sym >= 0, "window kernel: a dynamic batch needs a symbol index");
  EAVE_CHECK(s.d >= 1 && s.kd >= 1 && s.od >= 1 && s.stride_d >= 1 && s.dilation_d >= 1 &&
                 s.pad_front >= 0 && s.pad_back >= 0,
             "window kernel: bad depth axis");
  EAVE_CHECK(s.op == WindowOp::depthwise_conv || (s.multiplier == 1 && !s.bias),
             "window kernel: only depthwise convolutions have a multiplier or a bias");
}

// Whether the spec's input rows can be packed into the padded buffer (WindowTiling::padded).
bool packs_padded_rows(const WindowSpec& s) {
  return s.op == WindowOp::depthwise_conv && s.d == 1 && s.kd == 1 && s.od == 1 && s.stride_w == 1;
}

constexpr int64_t kPaddedMinWidth = 64;
constexpr int64_t kPaddedBytes = 16 << 10;

// The padded buffer of a tile: the input rows under its output rows (its last register block
// whole) by the columns under every column block (the last one whole), from the first padded
// row and column.
int64_t padded_rows(const WindowSpec& s, const WindowTiling& t) {
  return (t.rows_per_tile - 1) * s.stride_h + (s.kh - 1) * s.dilation_h + 1;
}
int64_t padded_cols(const WindowSpec& s, const WindowTiling& t) {
  int64_t block = t.vecs * t.lanes;
  return ceil_div(ceil_div(s.ow, block) * block + (s.kw - 1) * s.dilation_w, t.lanes) * t.lanes;
}

}  // namespace

WindowTiling choose_window_tiling(const WindowSpec& s, const TargetSpec& target) {
  check_spec(s);
  TargetInfo info = resolve_target(target);
  WindowTiling t;
  t.lanes = std::max(1, info.f32_lanes());
  t.fma = info.has_fma;
  // At least 8 independent accumulators (FMA latency 4 x 2 ports); wide rows take up to four
  // vectors of one row, narrow ones stack rows.
  t.vecs = std::clamp<int64_t>(ceil_div(s.ow, t.lanes), 1, 4);
  t.rows = std::clamp<int64_t>(8 / t.vecs, 1, s.out_rows());
  // About 16 tiles per image: whole planes when there are enough channels.
  int64_t blocks = std::clamp<int64_t>(ceil_div(16, s.out_channels()), 1, ceil_div(s.out_rows(), t.rows));
  t.rows_per_tile = ceil_div(ceil_div(s.out_rows(), blocks), t.rows) * t.rows;
  // Wide rows only: the taps read vectors one or two columns off the packing's stores, and in a
  // small plane they follow those stores so closely that each read waits for two stores to
  // retire (7x7: twice the time of the masked reads). The buffer stays within L1: fewer rows
  // per tile where a plane's rows would not fit.
  t.padded = packs_padded_rows(s) && s.ow >= kPaddedMinWidth;
  if (t.padded) {
    int64_t cols = padded_cols(s, t), fit_rows = kPaddedBytes / (4 * cols);
    int64_t fit = ((fit_rows - (s.kh - 1) * s.dilation_h - 1) / s.stride_h + 1) / t.rows * t.rows;
    if (fit < t.rows) t.padded = false;
    else t.rows_per_tile = std::min(t.rows_per_tile, fit);
  }
  return t;
}

int64_t window_tiles_per_image(const WindowSpec& s, const WindowTiling& t) {
  return s.out_channels() * ceil_div(s.out_rows(), t.rows_per_tile);
}

namespace {

using namespace mlir;

class WindowEmitter {
 public:
  WindowEmitter(const WindowSpec& s, const WindowTiling& t, const MatmulEpilogue* custom)
      : s_(s), t_(t), custom_(custom) {
    m_ = s.out_channels();
    positions_ = s.out_rows() * s.ow;
    row_blocks_ = ceil_div(s.out_rows(), t.rows_per_tile);
  }

  void emit(ModuleOp module, const std::string& name) {
    MLIRContext* ctx = module.getContext();
    ImplicitLocOpBuilder b(UnknownLoc::get(ctx), ctx);
    Type f32 = b.getF32Type();
    vt_ = VectorType::get({t_.lanes}, f32);
    mt_ = VectorType::get({t_.lanes}, b.getI1Type());
    it_ = VectorType::get({t_.lanes}, b.getI32Type());
    int64_t batch = s_.n < 0 ? ShapedType::kDynamic : s_.n;
    bool dw = s_.op == WindowOp::depthwise_conv;
    SmallVector<Type> own = {MemRefType::get({batch, s_.c * s_.d * s_.h * s_.w}, f32)};
    if (dw) own.push_back(MemRefType::get({m_ * s_.taps()}, f32));
    own.push_back(MemRefType::get({batch, m_ * positions_}, f32));
    TiledKernelOperands ops = begin_tiled_kernel(
        b, module, name, own, s_.bias ? MemRefType::get({m_}, f32) : Type(),
        custom_ ? TypeRange(custom_->operand_types) : TypeRange());
    x_ = ops.own.front();
    if (dw) w_ = ops.own[1];
    y_ = ops.own.back();
    bias_ = ops.bias;
    extras_.assign(ops.extras.begin(), ops.extras.end());
    IndexOps ix{b};
    if (t_.padded) {
      pad_ = memref::AllocaOp::create(b, MemRefType::get({padded_rows(s_, t_), padded_cols(s_, t_)}, f32),
                                      b.getI64IntegerAttr(64));
      tile_.emplace(b, module, t_.rows, t_.vecs * t_.lanes, t_.lanes, /*unroll=*/1);
    }
    emit_loop(b, ops.tile_begin, ops.tile_end, ix.c(1), [&](ImplicitLocOpBuilder& b, Value t) { tile(b, t); });
    func::ReturnOp::create(b);
  }

 private:
  float pass_value() const { return s_.op == WindowOp::max_pool ? -FLT_MAX : 0.0f; }

  Value fsplat(ImplicitLocOpBuilder& b, float v) { return splat_f32(b, b.getLoc(), vt_, v); }
  Value isplat(ImplicitLocOpBuilder& b, int64_t v) {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(it_, b.getI32IntegerAttr(int32_t(v))));
  }
  Value isplat(ImplicitLocOpBuilder& b, Value index) {
    return vector::BroadcastOp::create(b, it_, arith::IndexCastOp::create(b, b.getI32Type(), index));
  }
  Value iota(ImplicitLocOpBuilder& b, int64_t scale) {
    SmallVector<int32_t> v(t_.lanes);
    for (int64_t i = 0; i < t_.lanes; ++i) v[i] = int32_t(i * scale);
    return arith::ConstantOp::create(b, DenseElementsAttr::get(it_, ArrayRef(v)));
  }
  Value in_range(ImplicitLocOpBuilder& b, Value x, int64_t lo, int64_t hi) {
    Value ge = arith::CmpIOp::create(b, arith::CmpIPredicate::sge, x, isplat(b, lo));
    Value lt = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, x, isplat(b, hi));
    return arith::AndIOp::create(b, ge, lt);
  }
  Value none_mask(ImplicitLocOpBuilder& b) {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(mt_, false));
  }
  // `mask` where `cond` (a scalar i1) holds, no lanes otherwise.
  Value gate(ImplicitLocOpBuilder& b, Value cond, Value mask) {
    return arith::SelectOp::create(b, cond, mask, none_mask(b));
  }
  Value combine(ImplicitLocOpBuilder& b, Value acc, Value x) {
    if (s_.op == WindowOp::max_pool) return arith::MaxNumFOp::create(b, acc, x);
    return arith::AddFOp::create(b, acc, x);
  }

  // How vector v of a column block reads kernel column kw: the input columns of its lanes are
  // iw = (ow0 + v·lanes + l)·sw + kw·dw − pl.
  struct ColumnRead {
    Value offset;     // stride 1, 2: input column of lane 0 (index)
    Value mask_a, mask_b;  // masks of the one (stride 1) or two (stride 2) loads
    Value columns;    // stride > 2: input column of every lane (i32), and its mask in mask_a
  };

  // `kw_shift` is kw·dw − pl (an index).
  ColumnRead column_read(ImplicitLocOpBuilder& b, Value ow0, int64_t v, Value kw_shift) {
    IndexOps ix{b};
    ColumnRead r;
    Value first = ix.add(ix.mul(ix.add(ow0, v * t_.lanes), s_.stride_w), kw_shift);
    if (s_.stride_w <= 2) {
      r.offset = first;
      Value cols = arith::AddIOp::create(b, isplat(b, first), iota(b, 1));
      r.mask_a = in_range(b, cols, 0, s_.w);
      if (s_.stride_w == 2) {
        Value cols_b = arith::AddIOp::create(b, cols, isplat(b, t_.lanes));
        r.mask_b = in_range(b, cols_b, 0, s_.w);
      }
    } else {
      r.columns = arith::AddIOp::create(b, isplat(b, first), iota(b, s_.stride_w));
      r.mask_a = in_range(b, r.columns, 0, s_.w);
    }
    return r;
  }

  // The lanes of one column read from input row `row` (flat offset of the row in the image);
  // `row_ok` false reads nothing.
  Value read(ImplicitLocOpBuilder& b, Value n, Value row, Value row_ok, const ColumnRead& r) {
    IndexOps ix{b};
    Value pass = fsplat(b, pass_value());
    if (s_.stride_w == 1)
      return vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{n, ix.add(row, r.offset)},
                                          gate(b, row_ok, r.mask_a), pass);
    if (s_.stride_w == 2) {
      Value at = ix.add(row, r.offset);
      Value lo = vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{n, at}, gate(b, row_ok, r.mask_a), pass);
      Value hi = vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{n, ix.add(at, t_.lanes)},
                                              gate(b, row_ok, r.mask_b), pass);
      SmallVector<int64_t> even;
      for (int64_t l = 0; l < t_.lanes; ++l) even.push_back(2 * l);
      return vector::ShuffleOp::create(b, lo, hi, even);
    }
    Value mask = gate(b, row_ok, r.mask_a);
    Value cols = arith::SelectOp::create(b, mask, r.columns, isplat(b, 0));
    return vector::GatherOp::create(b, vt_, x_, ValueRange{n, row}, cols, mask, pass);
  }

  // Lanes of vector v of the column block: how many kernel columns of each output column lie
  // inside [lo, hi) (the input, or the padded input for count_include_pad).
  Value column_counts(ImplicitLocOpBuilder& b, Value ow0, int64_t v, int64_t lo, int64_t hi) {
    IndexOps ix{b};
    Value ow = arith::AddIOp::create(b, isplat(b, ix.add(ow0, v * t_.lanes)), iota(b, 1));
    Value base = arith::SubIOp::create(b, arith::MulIOp::create(b, ow, isplat(b, s_.stride_w)),
                                       isplat(b, s_.pad_left));
    Value count = fsplat(b, 0.0f);
    for (int64_t kw = 0; kw < s_.kw; ++kw) {
      Value inside = in_range(b, arith::AddIOp::create(b, base, isplat(b, kw * s_.dilation_w)), lo, hi);
      count = arith::AddFOp::create(b, count, arith::SelectOp::create(b, inside, fsplat(b, 1.0f), fsplat(b, 0.0f)));
    }
    return count;
  }

  void tile(ImplicitLocOpBuilder& b, Value t) {
    IndexOps ix{b};
    Value rb = ix.rem(t, row_blocks_);
    Value t1 = ix.div(t, row_blocks_);
    Value m = ix.rem(t1, m_);
    Value n = ix.div(t1, m_);
    Value c = s_.op == WindowOp::depthwise_conv ? ix.div(m, s_.multiplier) : m;
    Value plane = ix.mul(c, s_.d * s_.h * s_.w);
    Value oh_lo = ix.mul(rb, t_.rows_per_tile);
    Value oh_hi = ix.min(ix.add(oh_lo, t_.rows_per_tile), ix.c(s_.out_rows()));
    // Depthwise: the channel's taps as broadcast vectors (for the masked reads), and its bias.
    std::vector<Value> taps;
    Value bias;
    if (s_.op == WindowOp::depthwise_conv) {
      Value base = ix.mul(m, s_.taps());
      if (unroll_taps() && !tile_)
        for (int64_t k = 0; k < s_.taps(); ++k)
          taps.push_back(vector::BroadcastOp::create(
              b, vt_, memref::LoadOp::create(b, w_, ValueRange{ix.add(base, k)})));
      if (s_.bias)
        bias = vector::BroadcastOp::create(b, vt_, memref::LoadOp::create(b, bias_, ValueRange{m}));
    }
    if (tile_) pack_padded(b, n, plane, oh_lo);
    const int64_t block_cols = t_.vecs * t_.lanes;
    emit_loop(b, ix.c(0), ix.c(s_.ow), ix.c(block_cols), [&](ImplicitLocOpBuilder& b, Value ow0) {
      IndexOps ix{b};
      std::vector<ColumnRead> reads;  // [kw][v], when the kernel columns are unrolled and read in place
      if (unroll_columns() && !tile_)
        for (int64_t kw = 0; kw < s_.kw; ++kw)
          for (int64_t v = 0; v < t_.vecs; ++v)
            reads.push_back(column_read(b, ow0, v, ix.c(kw * s_.dilation_w - s_.pad_left)));
      std::vector<Value> out_mask(t_.vecs), col_count(t_.vecs);
      for (int64_t v = 0; v < t_.vecs; ++v) {
        Value ow = arith::AddIOp::create(b, isplat(b, ix.add(ow0, v * t_.lanes)), iota(b, 1));
        out_mask[v] = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, ow, isplat(b, s_.ow));
        if (s_.op == WindowOp::average_pool)
          col_count[v] = s_.count_include_pad
                             ? column_counts(b, ow0, v, -s_.pad_left, s_.w + s_.pad_right)
                             : column_counts(b, ow0, v, 0, s_.w);
      }
      emit_loop(b, oh_lo, oh_hi, ix.c(t_.rows), [&](ImplicitLocOpBuilder& b, Value oh0) {
        row_block(b, n, m, plane, oh_lo, oh0, oh_hi, ow0, reads, out_mask, col_count, taps, bias);
      });
    });
  }

  // pad[i, j] = input row oh_lo·sh − pt + i, column j − pl of the plane, 0 outside the image.
  void pack_padded(ImplicitLocOpBuilder& b, Value n, Value plane, Value oh_lo) {
    IndexOps ix{b};
    Value ih0 = ix.sub(ix.mul(oh_lo, s_.stride_h), ix.c(s_.pad_top));
    Value zero = fsplat(b, 0.0f);
    emit_loop(b, ix.c(0), ix.c(padded_rows(s_, t_)), ix.c(1), [&](ImplicitLocOpBuilder& b, Value i) {
      IndexOps ix{b};
      Value ih = ix.add(ih0, i);
      Value row_ok = arith::AndIOp::create(b, ix.ge(ih, ix.c(0)), ix.lt(ih, ix.c(s_.h)));
      Value row = ix.add(plane, ix.mul(ih, s_.w));
      for (int64_t j = 0; j < padded_cols(s_, t_); j += t_.lanes) {
        Value cols = arith::AddIOp::create(b, isplat(b, j - s_.pad_left), iota(b, 1));
        Value mask = gate(b, row_ok, in_range(b, cols, 0, s_.w));
        Value v = vector::MaskedLoadOp::create(b, vt_, x_, ValueRange{n, ix.add(row, j - s_.pad_left)},
                                               mask, zero);
        vector::StoreOp::create(b, v, pad_, ValueRange{i, ix.c(j)});
      }
    });
  }

  // The block's accumulators: its taps in the padded rows, from `init`.
  SmallVector<Value> padded_block(ImplicitLocOpBuilder& b, Value m, Value oh_lo, Value oh0, Value ow0,
                                  ArrayRef<Value> init) {
    IndexOps ix{b};
    const int64_t cols = padded_cols(s_, t_);
    auto c = [&](int64_t v) -> OpFoldResult { return b.getIndexAttr(v); };
    Value at = ix.add(ix.mul(ix.sub(oh0, oh_lo), s_.stride_h * cols), ow0);
    Value x = strided_view(b, pad_, at, {c(s_.kh), c(s_.kw), c(t_.rows), c(t_.vecs * t_.lanes)},
                           {c(s_.dilation_h * cols), c(s_.dilation_w), c(s_.stride_h * cols), c(1)});
    Value w = matrix_view(b, w_, ix.mul(m, s_.taps()), c(s_.kh), c(s_.kw), c(s_.kw), c(1));
    tile_->set(b, init, t_.rows);
    tile_->accumulate_taps(b, x, w, unroll_taps());
    return tile_->get(b, t_.rows, t_.vecs);
  }

  // Small windows are unrolled completely (and input rows shared between output rows of the
  // block); large ones loop over kernel rows, and over kernel columns when those are many too.
  bool unroll_taps() const { return s_.taps() <= 64 && t_.rows * t_.vecs * s_.taps() <= 1024; }
  int64_t kernel_rows() const { return s_.kd * s_.kh; }
  bool unroll_columns() const { return unroll_taps() || s_.kw <= 8; }

  void row_block(ImplicitLocOpBuilder& b, Value n, Value m, Value plane, Value oh_lo, Value oh0, Value oh_hi,
                 Value ow0, const std::vector<ColumnRead>& reads, const std::vector<Value>& out_mask,
                 const std::vector<Value>& col_count, const std::vector<Value>& taps, Value bias) {
    IndexOps ix{b};
    const int64_t R = t_.rows, V = t_.vecs;
    const bool dw = s_.op == WindowOp::depthwise_conv;
    SmallVector<Value> acc(R * V);
    for (Value& a : acc) a = dw && bias ? bias : fsplat(b, s_.op == WindowOp::max_pool ? -FLT_MAX : 0.0f);
    std::vector<Value> row_ok(R);
    for (int64_t r = 0; r < R; ++r) row_ok[r] = ix.lt(ix.add(oh0, r), oh_hi);
    // Output row q = oh0 + r is (od, oh) = (q / OH, q mod OH); kernel row kr is (kd, kh) =
    // (kr / KH, kr mod KH). 2-d windows (OD = 1) spell the row as oh0·sh − pt + r·sh so that
    // equal offsets give equal ops, which CSE merges: each input row is read once for every
    // (r, kh) that needs it.
    Value ih_base = ix.sub(ix.mul(oh0, s_.stride_h), ix.c(s_.pad_top));
    std::vector<Value> id_r(R), ih_r(R);
    for (int64_t r = 0; r < R; ++r) {
      if (s_.od == 1) {
        id_r[r] = ix.c(-s_.pad_front);
        ih_r[r] = ix.add(ih_base, r * s_.stride_h);
      } else {
        Value q = ix.add(oh0, r);
        id_r[r] = ix.sub(ix.mul(ix.div(q, s_.oh), s_.stride_d), ix.c(s_.pad_front));
        ih_r[r] = ix.sub(ix.mul(ix.rem(q, s_.oh), s_.stride_h), ix.c(s_.pad_top));
      }
    }
    auto accumulate = [&](ImplicitLocOpBuilder& b, Value& a, Value x, Value weight) {
      if (!dw) a = combine(b, a, x);
      else if (t_.fma) a = vector::FMAOp::create(b, x, weight, a);
      else a = arith::AddFOp::create(b, arith::MulFOp::create(b, x, weight), a);
    };
    // Input row (id, ih), its flat offset and whether it is inside the image. Rows past the
    // tile's last output row are read (inside the image) but never stored.
    auto input_row = [&](ImplicitLocOpBuilder& b, Value id, Value ih) {
      IndexOps ix{b};
      Value ok = arith::AndIOp::create(b, ix.ge(ih, ix.c(0)), ix.lt(ih, ix.c(s_.h)));
      if (s_.d > 1 || s_.kd > 1 || s_.pad_front > 0)
        ok = arith::AndIOp::create(b, ok, arith::AndIOp::create(b, ix.ge(id, ix.c(0)), ix.lt(id, ix.c(s_.d))));
      return std::pair<Value, Value>{ix.add(plane, ix.mul(ix.add(ix.mul(id, s_.h), ih), s_.w)), ok};
    };
    if (tile_) {
      acc = padded_block(b, m, oh_lo, oh0, ow0, acc);
    } else if (unroll_taps()) {
      for (int64_t r = 0; r < R; ++r)
        for (int64_t kd = 0; kd < s_.kd; ++kd)
          for (int64_t kh = 0; kh < s_.kh; ++kh) {
            auto [row, ok] = input_row(b, ix.add(id_r[r], kd * s_.dilation_d), ix.add(ih_r[r], kh * s_.dilation_h));
            for (int64_t kw = 0; kw < s_.kw; ++kw)
              for (int64_t v = 0; v < V; ++v)
                accumulate(b, acc[r * V + v], read(b, n, row, ok, reads[kw * V + v]),
                           dw ? taps[(kd * s_.kh + kh) * s_.kw + kw] : Value());
          }
    } else {
      Value w_base = dw ? ix.mul(m, s_.taps()) : Value();
      acc = emit_for(b, ix.c(0), ix.c(kernel_rows()), ix.c(1), acc,
                     [&](ImplicitLocOpBuilder& b, Value kr, ValueRange in) -> SmallVector<Value> {
        IndexOps ix{b};
        SmallVector<Value> out(in.begin(), in.end());
        Value kd = ix.div(kr, s_.kh), kh = ix.rem(kr, s_.kh);
        std::vector<std::pair<Value, Value>> rows;
        for (int64_t r = 0; r < R; ++r)
          rows.push_back(input_row(b, ix.add(id_r[r], ix.mul(kd, s_.dilation_d)),
                                   ix.add(ih_r[r], ix.mul(kh, s_.dilation_h))));
        auto weight_at = [&](ImplicitLocOpBuilder& b, Value kw) -> Value {
          if (!dw) return Value();
          IndexOps ix{b};
          Value at = ix.add(ix.add(w_base, ix.mul(kr, s_.kw)), kw);
          return vector::BroadcastOp::create(b, vt_, memref::LoadOp::create(b, w_, ValueRange{at}));
        };
        if (unroll_columns()) {
          for (int64_t kw = 0; kw < s_.kw; ++kw) {
            Value weight = weight_at(b, ix.c(kw));
            for (int64_t r = 0; r < R; ++r)
              for (int64_t v = 0; v < V; ++v)
                accumulate(b, out[r * V + v], read(b, n, rows[r].first, rows[r].second, reads[kw * V + v]), weight);
          }
          return out;
        }
        return emit_for(b, ix.c(0), ix.c(s_.kw), ix.c(1), out,
                        [&](ImplicitLocOpBuilder& b, Value kw, ValueRange in) -> SmallVector<Value> {
          IndexOps ix{b};
          SmallVector<Value> out(in.begin(), in.end());
          Value weight = weight_at(b, kw);
          Value shift = ix.sub(ix.mul(kw, s_.dilation_w), ix.c(s_.pad_left));
          for (int64_t v = 0; v < V; ++v) {
            ColumnRead cr = column_read(b, ow0, v, shift);
            for (int64_t r = 0; r < R; ++r)
              accumulate(b, out[r * V + v], read(b, n, rows[r].first, rows[r].second, cr), weight);
          }
          return out;
        });
      });
    }
    // Kernel positions k in [0, K) along an axis with lo <= base + k·dil < hi:
    // [ceil((lo − base) / dil), floor((hi − 1 − base) / dil)] ∩ [0, K).
    auto axis_count = [&](Value base, int64_t k, int64_t dil, int64_t lo, int64_t hi) {
      Value first = ix.max(ix.c(0), ix.ceildiv(ix.sub(ix.c(lo), base), dil));
      Value last = ix.min(ix.c(k - 1), ix.floordiv(ix.sub(ix.c(hi - 1), base), dil));
      return ix.max(ix.c(0), ix.add(ix.sub(last, first), 1));
    };
    for (int64_t r = 0; r < R; ++r) {
      Value q = ix.add(oh0, r);
      Value count_h;
      if (s_.op == WindowOp::average_pool) {
        // Kernel rows of this output row inside the input, or the padded input.
        bool pad = s_.count_include_pad;
        Value count = axis_count(ih_r[r], s_.kh, s_.dilation_h, pad ? -s_.pad_top : 0,
                                 pad ? s_.h + s_.pad_bottom : s_.h);
        if (s_.kd > 1 || s_.d > 1)
          count = ix.mul(count, axis_count(id_r[r], s_.kd, s_.dilation_d, pad ? -s_.pad_front : 0,
                                           pad ? s_.d + s_.pad_back : s_.d));
        Value f = arith::SIToFPOp::create(b, b.getF32Type(), arith::IndexCastOp::create(b, b.getI64Type(), count));
        count_h = vector::BroadcastOp::create(b, vt_, f);
      }
      for (int64_t v = 0; v < V; ++v) {
        Value x = acc[r * V + v];
        if (count_h) x = arith::DivFOp::create(b, x, arith::MulFOp::create(b, count_h, col_count[v]));
        Value col = ix.add(ix.add(ix.mul(m, positions_), ix.mul(q, s_.ow)), ix.add(ow0, v * t_.lanes));
        Value mask = gate(b, row_ok[r], out_mask[v]);
        if (custom_) {
          EpilogueSite site{b, b.getLoc(), x, n, col, mask, extras_};
          x = custom_->apply(site);
        }
        vector::MaskedStoreOp::create(b, y_, ValueRange{n, col}, mask, x);
      }
    }
  }

  const WindowSpec& s_;
  const WindowTiling& t_;
  const MatmulEpilogue* custom_;
  int64_t m_ = 0, positions_ = 0, row_blocks_ = 0;
  VectorType vt_, mt_, it_;
  Value x_, w_, y_, bias_;
  Value pad_;                         // t_.padded: the tile's padded input rows
  std::optional<RegisterTile> tile_;  // t_.padded
  std::vector<Value> extras_;
};

}  // namespace

void build_window_kernel(ModuleOp module, const std::string& name, const WindowSpec& spec,
                         const WindowTiling& tiling, const MatmulEpilogue* custom) {
  check_spec(spec);
  EAVE_CHECK(tiling.lanes >= 1 && tiling.rows >= 1 && tiling.vecs >= 1 &&
                 tiling.rows_per_tile >= tiling.rows && tiling.rows_per_tile % tiling.rows == 0,
             "window kernel: inconsistent tiling");
  EAVE_CHECK(!custom || spec.op == WindowOp::depthwise_conv,
             "window kernel: only depthwise convolutions take an epilogue");
  EAVE_CHECK(!tiling.padded || packs_padded_rows(spec),
             "window kernel: only 2-d depthwise convolutions of unit column stride pack padded rows");
  WindowEmitter(spec, tiling, custom).emit(module, name);
}

KernelBinding window_binding(const WindowSpec& spec, const std::string& body,
                             const std::string& symbol, const MatmulEpilogue* custom) {
  KernelBinding k;
  k.body = body;
  k.symbol = symbol;
  int next = 0;
  k.operands.push_back({next++, {spec.n_sym, -1}});
  if (spec.op == WindowOp::depthwise_conv) k.operands.push_back({next++, {}});
  k.operands.push_back({next++, {spec.n_sym, -1}});
  if (spec.bias) k.operands.push_back({next++, {}});
  append_epilogue_bindings(k, custom, spec.n_sym);
  return k;
}

// ---------------------------------------------------------------- global pools

int64_t global_pool_planes_per_tile(const GlobalPoolSpec& spec) {
  return std::max<int64_t>(1, 8192 / std::max<int64_t>(1, spec.positions));
}

void build_global_pool_kernel(ModuleOp module, const std::string& name, const GlobalPoolSpec& spec,
                              const TargetSpec& target) {
  EAVE_CHECK(spec.positions >= 1 && (spec.planes >= 0 || spec.planes_sym >= 0),
             "global pool: bad spec");
  TargetInfo info = resolve_target(target);
  const int64_t lanes = std::max(1, info.f32_lanes());
  const int64_t unroll = 4;
  MLIRContext* ctx = module.getContext();
  ImplicitLocOpBuilder b(UnknownLoc::get(ctx), ctx);
  Type f32 = b.getF32Type();
  VectorType vt = VectorType::get({lanes}, f32);
  int64_t rows = spec.planes < 0 ? ShapedType::kDynamic : spec.planes;
  SmallVector<Type> args = {MemRefType::get({rows, spec.positions}, f32), MemRefType::get({rows}, f32),
                            b.getIndexType(), b.getIndexType()};
  Block* entry = begin_kernel_function(b, module, name, args);
  Value x = entry->getArgument(0), y = entry->getArgument(1);
  IndexOps ix{b};
  const int64_t ppt = global_pool_planes_per_tile(spec);
  Value planes = memref::DimOp::create(b, x, 0);
  Value lo = ix.min(ix.mul(entry->getArgument(2), ppt), planes);
  Value hi = ix.min(ix.mul(entry->getArgument(3), ppt), planes);
  const float init = spec.max ? -INFINITY : 0.0f;
  auto combine = [&](ImplicitLocOpBuilder& b, Value a, Value v) -> Value {
    if (spec.max) return arith::MaxNumFOp::create(b, a, v);
    return arith::AddFOp::create(b, a, v);
  };
  const int64_t step = unroll * lanes;
  const int64_t main_end = spec.positions / step * step;
  emit_loop(b, lo, hi, ix.c(1), [&](ImplicitLocOpBuilder& b, Value p) {
    IndexOps ix{b};
    SmallVector<Value> acc(unroll, splat_f32(b, b.getLoc(), vt, init));
    acc = emit_for(b, ix.c(0), ix.c(main_end), ix.c(step), acc,
                   [&](ImplicitLocOpBuilder& b, Value i, ValueRange in) -> SmallVector<Value> {
      IndexOps ix{b};
      SmallVector<Value> out;
      for (int64_t u = 0; u < unroll; ++u)
        out.push_back(combine(b, in[u], vector::LoadOp::create(b, vt, x, ValueRange{p, ix.add(i, u * lanes)})));
      return out;
    });
    // The remainder, a vector at a time, the last one masked.
    for (int64_t at = main_end, u = 0; at < spec.positions; at += lanes, u = (u + 1) % unroll) {
      int64_t valid = std::min(lanes, spec.positions - at);
      Value v;
      if (valid == lanes) {
        v = vector::LoadOp::create(b, vt, x, ValueRange{p, ix.c(at)});
      } else {
        SmallVector<bool> bits(lanes, false);
        std::fill(bits.begin(), bits.begin() + valid, true);
        Value mask = arith::ConstantOp::create(
            b, DenseElementsAttr::get(VectorType::get({lanes}, b.getI1Type()), ArrayRef(bits)));
        v = vector::MaskedLoadOp::create(b, vt, x, ValueRange{p, ix.c(at)}, mask,
                                         splat_f32(b, b.getLoc(), vt, init));
      }
      acc[u] = combine(b, acc[u], v);
    }
    Value all = combine(b, combine(b, acc[0], acc[1]), combine(b, acc[2], acc[3]));
    Value r = vector::ReductionOp::create(
        b, spec.max ? vector::CombiningKind::MAXNUMF : vector::CombiningKind::ADD, all);
    if (!spec.max)
      r = arith::MulFOp::create(b, r, arith::ConstantOp::create(b, b.getF32FloatAttr(1.0f / float(spec.positions))));
    memref::StoreOp::create(b, r, y, ValueRange{p});
  });
  func::ReturnOp::create(b);
}

KernelBinding global_pool_binding(const GlobalPoolSpec& spec, const std::string& body,
                                  const std::string& symbol) {
  KernelBinding k;
  k.body = body;
  k.symbol = symbol;
  k.operands = {{0, {spec.planes_sym, -1}}, {1, {spec.planes_sym}}};
  return k;
}

Bytes compile_window_kernel(const WindowSpec& spec, const WindowTiling& tiling,
                            const std::string& symbol, const TargetSpec& target,
                            const CompileOptions& options) {
  std::unique_ptr<MLIRContext> ctx = make_codegen_context();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(ctx.get()));
  build_window_kernel(*module, symbol + "_body", spec, tiling);
  return compile_to_object(*module, {window_binding(spec, symbol + "_body", symbol)}, target, options);
}

Bytes compile_global_pool_kernel(const GlobalPoolSpec& spec, const std::string& symbol,
                                 const TargetSpec& target, const CompileOptions& options) {
  std::unique_ptr<MLIRContext> ctx = make_codegen_context();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(ctx.get()));
  build_global_pool_kernel(*module, symbol + "_body", spec, target);
  return compile_to_object(*module, {global_pool_binding(spec, symbol + "_body", symbol)}, target,
                           options);
}

}  // namespace eave::codegen
