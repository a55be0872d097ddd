// Builds the runtime-operand batched matmul of batch_matmul_kernel.h as scf loops around the
// packed matmul's register tile and its schedule (register_tile.h), with B read in place: full
// panels of nr columns straight from B, the N mod nr last columns copied to a zero-padded panel
// on the stack, a K block at a time.
#include "codegen/batch_matmul_kernel.h"

#include <algorithm>

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

void check_spec(const BatchMatmulSpec& s) {
  EAVE_CHECK(s.a_broadcast.size() == s.batch.size() && s.b_broadcast.size() == s.batch.size(),
             "batch matmul: broadcast flags must cover every batch dim");
  for (const SymDim* d : {&s.m, &s.n, &s.k, &s.a_batch, &s.b_batch})
    EAVE_CHECK(d->is_static() || d->sym >= 0, "batch matmul: a dynamic size needs a symbol");
  for (const SymDim& d : s.batch)
    EAVE_CHECK(d.is_static() || d.sym >= 0, "batch matmul: a dynamic size needs a symbol");
}

int64_t mlir_dim(const SymDim& d) { return d.is_static() ? d.value : mlir::ShapedType::kDynamic; }

// K steps per iteration of the register tile's loop, and per copy of the column tail's panel.
constexpr int64_t kStepsUnroll = 2, kTailBlock = 256;

}  // namespace

BatchMatmulTiling choose_batch_matmul_tiling(const BatchMatmulSpec& spec, const TargetSpec& target) {
  check_spec(spec);
  TargetInfo info = resolve_target(target);
  BatchMatmulTiling t;
  t.lanes = std::max(1, info.f32_lanes());
  t.nvec = 2;
  int64_t registers = info.simd_bits > 0 ? info.vector_registers : 16;
  t.mr = std::clamp<int64_t>((registers - t.nvec - 2) / t.nvec, 1, 8);
  t.tile_rows = 4 * t.mr;
  return t;
}

namespace {

using namespace mlir;

class BatchMatmulEmitter {
 public:
  BatchMatmulEmitter(const BatchMatmulSpec& s, const BatchMatmulTiling& t, const MatmulEpilogue* custom)
      : s_(s), t_(t), custom_(custom) {}

  void emit(ModuleOp module, const std::string& name) {
    MLIRContext* ctx = module.getContext();
    ImplicitLocOpBuilder b(UnknownLoc::get(ctx), ctx);
    Type f32 = b.getF32Type();
    vt_ = VectorType::get({t_.lanes}, f32);
    SmallVector<int64_t> c_shape;
    for (const SymDim& d : s_.batch) c_shape.push_back(mlir_dim(d));
    c_shape.push_back(mlir_dim(s_.m));
    c_shape.push_back(mlir_dim(s_.n));
    SmallVector<Type> own = {
        MemRefType::get({mlir_dim(s_.a_batch), mlir_dim(s_.m), mlir_dim(s_.k)}, f32),
        MemRefType::get({mlir_dim(s_.b_batch), mlir_dim(s_.k), mlir_dim(s_.n)}, f32),
        MemRefType::get(c_shape, f32)};
    TiledKernelOperands ops = begin_tiled_kernel(
        b, module, name, own, Type(), custom_ ? TypeRange(custom_->operand_types) : TypeRange());
    a_ = ops.own[0];
    b_ = ops.own[1];
    c_ = ops.own[2];
    extras_.assign(ops.extras.begin(), ops.extras.end());
    IndexOps ix{b};
    const int64_t r = int64_t(s_.batch.size());
    m_ = memref::DimOp::create(b, a_, 1);
    k_ = memref::DimOp::create(b, a_, 2);
    n_ = memref::DimOp::create(b, b_, 2);
    for (int64_t i = 0; i < r; ++i) batch_dims_.push_back(memref::DimOp::create(b, c_, i));
    row_blocks_ = ix.ceildiv(m_, t_.tile_rows);
    // Full panels of nr columns, then one masked panel of N mod nr columns.
    n_full_ = ix.mul(ix.div(n_, t_.nr()), t_.nr());
    tile_.emplace(b, module, t_.mr, t_.nr(), t_.lanes, kStepsUnroll);
    tail_panel_ = memref::AllocaOp::create(b, MemRefType::get({kTailBlock, t_.nr()}, f32),
                                           b.getI64IntegerAttr(64));
    emit_loop(b, ops.tile_begin, ops.tile_end, ix.c(1),
              [&](ImplicitLocOpBuilder& b, Value t) { tile(b, t); });
    func::ReturnOp::create(b);
  }

 private:
  Value zero(ImplicitLocOpBuilder& b) { return splat_f32(b, b.getLoc(), vt_, 0.0f); }

  void tile(ImplicitLocOpBuilder& b, Value t) {
    IndexOps ix{b};
    Value rb = arith::RemUIOp::create(b, t, row_blocks_);
    Value bt = arith::DivUIOp::create(b, t, row_blocks_);
    // The output matrix's batch indices (last dim fastest), and A's and B's matrices: their flat
    // batch index skips the dims they broadcast along.
    SmallVector<Value> idx(s_.batch.size());
    Value rest = bt, a_b = ix.c(0), b_b = ix.c(0), a_stride = ix.c(1), b_stride = ix.c(1);
    for (int64_t i = int64_t(s_.batch.size()) - 1; i >= 0; --i) {
      idx[i] = arith::RemUIOp::create(b, rest, batch_dims_[i]);
      rest = arith::DivUIOp::create(b, rest, batch_dims_[i]);
      if (!s_.a_broadcast[i]) {
        a_b = ix.add(a_b, ix.mul(idx[i], a_stride));
        a_stride = ix.mul(a_stride, batch_dims_[i]);
      }
      if (!s_.b_broadcast[i]) {
        b_b = ix.add(b_b, ix.mul(idx[i], b_stride));
        b_stride = ix.mul(b_stride, batch_dims_[i]);
      }
    }
    Value r0 = ix.mul(rb, t_.tile_rows);
    Value r1 = ix.min(ix.add(r0, t_.tile_rows), m_);
    Value full_end = ix.add(r0, ix.mul(ix.div(ix.sub(r1, r0), t_.mr), t_.mr));
    Value rem = ix.sub(r1, full_end);
    Tile tl{a_b, b_b, idx, ix.mul(bt, m_)};
    emit_loop(b, r0, full_end, ix.c(t_.mr), [&](ImplicitLocOpBuilder& b, Value r) { row_group(b, tl, r, t_.mr); });
    emit_rows_switch(b, rem, t_.mr, [&](int64_t rows) { row_group(b, tl, full_end, rows); });
  }

  struct Tile {
    Value a_b, b_b;
    SmallVector<Value> idx;
    Value row0;  // the output matrix's first row in the epilogue's [rows, N] view
  };

  void row_group(ImplicitLocOpBuilder& b, const Tile& tl, Value r, int64_t rows) {
    IndexOps ix{b};
    emit_loop(b, ix.c(0), n_full_, ix.c(t_.nr()), [&](ImplicitLocOpBuilder& b, Value j) {
      microkernel(b, tl, r, rows, j, nullptr, t_.nvec);
    });
    // The column tail: lanes of each vector below N.
    emit_if(b, ix.lt(n_full_, n_), {}, [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
      IndexOps ix{b};
      SmallVector<Value> masks;
      for (int64_t v = 0; v < t_.nvec; ++v) {
        Value valid = ix.max(ix.c(0), ix.min(ix.c(t_.lanes), ix.sub(n_, ix.add(n_full_, v * t_.lanes))));
        masks.push_back(vector::CreateMaskOp::create(
            b, VectorType::get({t_.lanes}, b.getI1Type()), ValueRange{valid}));
      }
      if (t_.nvec == 1) {
        microkernel(b, tl, r, rows, n_full_, &masks, 1);
        return {};
      }
      // At most one vector of columns (attention scores over 197 positions: 5): a tile one
      // vector wide, half the FMAs.
      Value narrow = ix.lt(ix.sub(n_, n_full_), ix.c(t_.lanes + 1));
      emit_if(b, narrow, {}, [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
        microkernel(b, tl, r, rows, n_full_, &masks, 1);
        return {};
      }, [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
        microkernel(b, tl, r, rows, n_full_, &masks, t_.nvec);
        return {};
      });
      return {};
    }, nullptr);
  }

  // C's rows [r, r + rows) and columns [j, j + nvec vectors): a full panel read from B in
  // place, or (with masks) the column tail, copied.
  void microkernel(ImplicitLocOpBuilder& b, const Tile& tl, Value r, int64_t rows, Value j,
                   const SmallVector<Value>* masks, int64_t nvec) {
    IndexOps ix{b};
    SmallVector<Value> cols, row_idx;
    for (int64_t v = 0; v < nvec; ++v) cols.push_back(ix.add(j, v * t_.lanes));
    for (int64_t i = 0; i < rows; ++i) row_idx.push_back(ix.add(r, i));
    // A's rows [r, r + rows) and B's columns [j, j + width) of their matrices.
    auto a_view = [&](ImplicitLocOpBuilder& b, Value k0, OpFoldResult kn) {
      IndexOps ix{b};
      Value offset = ix.add(ix.mul(ix.add(ix.mul(tl.a_b, m_), r), k_), k0);
      return matrix_view(b, a_, offset, b.getIndexAttr(rows), kn, k_, b.getIndexAttr(1));
    };
    SmallVector<Value> acc(rows * nvec, zero(b));
    if (!masks) {
      Value offset = ix.add(ix.mul(ix.mul(tl.b_b, k_), n_), j);
      Value panel = matrix_view(b, b_, offset, k_, b.getIndexAttr(t_.nr()), n_, b.getIndexAttr(1));
      acc = tile_->multiply(b, acc, rows, a_view(b, ix.c(0), k_), panel);
    } else {
      tile_->set(b, acc, rows);
      emit_loop(b, ix.c(0), k_, ix.c(kTailBlock), [&](ImplicitLocOpBuilder& b, Value k0) {
        IndexOps ix{b};
        Value kn = ix.min(ix.c(kTailBlock), ix.sub(k_, k0));
        emit_loop(b, ix.c(0), kn, ix.c(1), [&](ImplicitLocOpBuilder& b, Value k) {
          IndexOps ix{b};
          for (int64_t v = 0; v < nvec; ++v) {
            Value x = vector::MaskedLoadOp::create(
                b, vt_, b_, ValueRange{tl.b_b, ix.add(k0, k), cols[v]}, (*masks)[v], zero(b));
            vector::StoreOp::create(b, x, tail_panel_, ValueRange{k, ix.c(v * t_.lanes)});
          }
        });
        OpFoldResult zero_index = b.getIndexAttr(0), one = b.getIndexAttr(1);
        Value panel = memref::SubViewOp::create(
            b, tail_panel_, ArrayRef{zero_index, zero_index},
            ArrayRef<OpFoldResult>{kn, b.getIndexAttr(nvec * t_.lanes)}, ArrayRef{one, one});
        tile_->accumulate(b, a_view(b, k0, kn), panel);
      });
      acc = tile_->get(b, rows, nvec);
    }
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t v = 0; v < nvec; ++v) {
        SmallVector<Value> at(tl.idx.begin(), tl.idx.end());
        at.push_back(row_idx[i]);
        at.push_back(cols[v]);
        Value x = acc[i * nvec + v];
        Value mask = masks ? (*masks)[v] : Value();
        if (custom_) {
          EpilogueSite site{b, b.getLoc(), x, ix.add(tl.row0, row_idx[i]), cols[v], mask, extras_};
          x = custom_->apply(site);
        }
        if (mask)
          vector::MaskedStoreOp::create(b, c_, at, mask, x);
        else
          vector::StoreOp::create(b, x, c_, at);
      }
  }

  const BatchMatmulSpec& s_;
  const BatchMatmulTiling& t_;
  const MatmulEpilogue* custom_;
  std::vector<Value> extras_;
  VectorType vt_;
  Value a_, b_, c_, m_, n_, k_, row_blocks_, n_full_, tail_panel_;
  std::optional<RegisterTile> tile_;
  SmallVector<Value> batch_dims_;
};

}  // namespace

void build_batch_matmul_kernel(ModuleOp module, const std::string& name,
                               const BatchMatmulSpec& spec, const BatchMatmulTiling& tiling,
                               const MatmulEpilogue* custom) {
  check_spec(spec);
  EAVE_CHECK(tiling.lanes >= 1 && tiling.mr >= 1 && tiling.nvec >= 1 &&
                 tiling.tile_rows >= tiling.mr && tiling.tile_rows % tiling.mr == 0,
             "batch matmul: inconsistent tiling");
  BatchMatmulEmitter(spec, tiling, custom).emit(module, name);
}

KernelBinding batch_matmul_binding(const BatchMatmulSpec& spec, const std::string& body,
                                   const std::string& symbol, const MatmulEpilogue* custom) {
  KernelBinding k;
  k.body = body;
  k.symbol = symbol;
  std::vector<int> c_dims;
  for (const SymDim& d : spec.batch) c_dims.push_back(d.sym);
  c_dims.push_back(spec.m.sym);
  c_dims.push_back(spec.n.sym);
  k.operands = {{0, {spec.a_batch.sym, spec.m.sym, spec.k.sym}},
                {1, {spec.b_batch.sym, spec.k.sym, spec.n.sym}},
                {2, c_dims}};
  append_epilogue_bindings(k, custom, spec.rows.sym);
  return k;
}

Bytes compile_batch_matmul_kernel(const BatchMatmulSpec& spec, const BatchMatmulTiling& tiling,
                                  const std::string& symbol, const TargetSpec& target,
                                  const CompileOptions& options) {
  std::unique_ptr<MLIRContext> ctx = make_codegen_context();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(ctx.get()));
  build_batch_matmul_kernel(*module, symbol + "_body", spec, tiling);
  return compile_to_object(*module, {batch_matmul_binding(spec, symbol + "_body", symbol)}, target,
                           options);
}

}  // namespace eave::codegen
