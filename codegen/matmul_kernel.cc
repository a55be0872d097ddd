// Builds the packed-B f32 matmul kernel of matmul_kernel.h: scf loops for the blocking (thread
// tiles, K and N blocks, row groups, A copied per block), and for each register tile the
// scheduled product of register_tile.h (broadcast A, FMA rows of packed B, the tile in
// registers). The
// blocked nest with dynamic M, row and column tails, and the epilogue on the tile's registers
// stay stated directly: they are simpler and more predictable here than as transforms.
#include "codegen/matmul_kernel.h"

#include <algorithm>
#include <optional>

#include "codegen/matmul_epilogue.h"
#include "codegen/kernel_builders.h"
#include "codegen/register_tile.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "support/error.h"

namespace eave::codegen {

namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

void check_spec(const MatmulSpec& s) {
  EAVE_CHECK(s.n >= 1 && s.k >= 1, "matmul: N and K must be at least 1 (got N=", s.n, ", K=", s.k, ")");
  EAVE_CHECK(s.m >= 0 || s.m_sym >= 0, "matmul: dynamic M needs a symbol index");
}

}  // namespace

MatmulTiling choose_matmul_tiling(const MatmulSpec& spec, const TargetSpec& target) {
  check_spec(spec);
  TargetInfo info = resolve_target(target);
  MatmulTiling t;
  t.lanes = std::max(1, info.f32_lanes());
  // Register tile: `vectors` accumulators per row, as many rows as the register file holds
  // with room for the B vectors and a broadcast, at most 8 (AVX-512: 8x32, AVX2: 6x16,
  // NEON: 8x12, RVV at VLEN 128: 8x8).
  int64_t vectors = info.arch == Arch::aarch64 ? 3 : 2;
  int64_t registers = info.simd_bits > 0 ? info.vector_registers : 16;
  t.mr = std::clamp<int64_t>((registers - vectors - 2) / vectors, 1, 8);
  t.nr = vectors * t.lanes;
  // Cache blocking: the mr x kc panel of A well inside L1, the kc x nc block of B in half of L2
  // (Zen 4 and Neoverse have 1 MB of L2; smaller cores get a smaller block).
  int64_t kc_max = 256;
  int64_t nc_bytes = info.simd_bits >= 512 ? 512 << 10 : 256 << 10;
  int64_t k_blocks = ceil_div(spec.k, kc_max);
  t.kc = ceil_div(spec.k, k_blocks);
  int64_t n_padded = ceil_div(spec.n, t.nr) * t.nr;
  t.nc = std::clamp<int64_t>(nc_bytes / (t.kc * 4) / t.nr * t.nr, t.nr, n_padded);
  t.tile_rows = 4 * t.mr;
  // Thread tiles of one N block when there are several: threads split the columns too, and a
  // thread's run of tiles reuses one block of B (vit_b_16's MLP, 197 x 768 x 3072, two
  // threads: 1.49x -> see docs/design/codegen.md).
  t.col_tile = t.nc < n_padded ? t.nc : 0;
  t.k_unroll = 2;  // 2-3% over 1 on Emerald Rapids at 512^3 and 2048^3; 4 is no better
  // A's rows are read in place unless their stride is a multiple of 4 KB: then the mr rows of a
  // block share the same L1 sets (all ways of an 8-way L1 such as Zen 4's) and are copied to the
  // stack buffer first. Elsewhere the copy only costs (about 2% on Emerald Rapids).
  t.pack_a = spec.k % 1024 == 0;
  return t;
}

int64_t packed_rhs_elements(const MatmulSpec& spec, const MatmulTiling& tiling) {
  return ceil_div(spec.n, tiling.nr) * spec.k * tiling.nr;
}

void pack_matmul_rhs(const float* b, bool transposed, const MatmulSpec& spec,
                     const MatmulTiling& t, float* packed) {
  const int64_t n = spec.n, k = spec.k;
  for (int64_t p = 0; p < ceil_div(n, t.nr); ++p)
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < t.nr; ++c) {
        int64_t col = p * t.nr + c;
        *packed++ = col >= n ? 0.0f : transposed ? b[col * k + kk] : b[kk * n + col];
      }
}

int64_t matmul_column_tiles(const MatmulSpec& spec, const MatmulTiling& tiling) {
  if (tiling.col_tile <= 0) return 1;
  return ceil_div(ceil_div(spec.n, tiling.nr) * tiling.nr, tiling.col_tile);
}

int64_t matmul_tile_count(const MatmulSpec& spec, const MatmulTiling& tiling, int64_t m) {
  return ceil_div(m, tiling.tile_rows) * matmul_column_tiles(spec, tiling);
}

namespace {

using namespace mlir;

class MatmulEmitter {
 public:
  MatmulEmitter(const MatmulSpec& s, const MatmulTiling& t, const MatmulEpilogue* custom)
      : s_(s), t_(t), custom_(custom) {
    n_full_ = s.n / t.nr;
    tail_cols_ = s.n % t.nr;
    n_panels_ = ceil_div(s.n, t.nr);
  }

  void emit(ModuleOp module, const std::string& name) {
    EAVE_CHECK(t_.col_tile <= 0 || t_.col_tile % t_.nc == 0, "matmul: col_tile ", t_.col_tile,
               " is not a multiple of nc ", t_.nc);
    MLIRContext* ctx = module.getContext();
    ImplicitLocOpBuilder b(UnknownLoc::get(ctx), ctx);
    Type f32 = b.getF32Type();
    vt_ = VectorType::get({t_.lanes}, f32);
    SmallVector<Type> own = {
        MemRefType::get({s_.m < 0 ? ShapedType::kDynamic : s_.m, s_.k}, f32),
        MemRefType::get({packed_rhs_elements(s_, t_)}, f32),
        MemRefType::get({s_.m < 0 ? ShapedType::kDynamic : s_.m, s_.n}, f32)};
    TiledKernelOperands ops = begin_tiled_kernel(
        b, module, name, own, s_.bias ? MemRefType::get({s_.n}, f32) : Type(),
        custom_ ? TypeRange(custom_->operand_types) : TypeRange());
    a_ = ops.own[0];
    bp_ = ops.own[1];
    c_ = ops.own[2];
    bias_ = ops.bias;
    extras_.assign(ops.extras.begin(), ops.extras.end());
    tile_.emplace(b, module, t_.mr, t_.nr, t_.lanes, t_.k_unroll);
    body(b, ops.tile_begin, ops.tile_end);
    func::ReturnOp::create(b);
  }

 private:
  Value idx(ImplicitLocOpBuilder& b, int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value add(ImplicitLocOpBuilder& b, Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mul(ImplicitLocOpBuilder& b, Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value min(ImplicitLocOpBuilder& b, Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value zero_vector(ImplicitLocOpBuilder& b) {
    return arith::ConstantOp::create(b, DenseElementsAttr::get(vt_, b.getF32FloatAttr(0.0f)));
  }
  // Lanes [0, valid) true.
  Value lane_mask(ImplicitLocOpBuilder& b, int64_t valid) {
    SmallVector<bool> bits(t_.lanes, false);
    std::fill(bits.begin(), bits.begin() + valid, true);
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(VectorType::get({t_.lanes}, b.getI1Type()), ArrayRef(bits)));
  }
  Value load_vector(ImplicitLocOpBuilder& b, Value memref, ValueRange indices, Value mask) {
    return codegen::load_vector(b, vt_, memref, indices, mask);
  }

  void body(ImplicitLocOpBuilder& b, Value tile_begin, Value tile_end) {
    Value m = s_.m < 0 ? (Value)memref::DimOp::create(b, a_, 0) : idx(b, s_.m);
    m_ = m;
    if (t_.pack_a)
      apack_ = memref::AllocaOp::create(b, MemRefType::get({t_.mr, t_.kc}, b.getF32Type()),
                                        b.getI64IntegerAttr(64));
    // Tiles are numbered column block by column block (col_tile 0: one block, all of N): the
    // range is, per column block it touches, one run of consecutive row tiles, computed as one
    // block of rows (so a single thread given every tile reads each block of B once).
    const int64_t padded_n = n_panels_ * t_.nr;
    const int64_t col_tile = t_.col_tile > 0 ? t_.col_tile : padded_n;
    Value row_tiles = arith::MaxSIOp::create(b, arith::CeilDivUIOp::create(b, m, idx(b, t_.tile_rows)),
                                             idx(b, 1));
    Value col_tiles = idx(b, ceil_div(padded_n, col_tile));
    Value ct_begin = arith::DivUIOp::create(b, tile_begin, row_tiles);
    Value ct_end = min(b, arith::CeilDivUIOp::create(b, tile_end, row_tiles), col_tiles);
    emit_for(b, ct_begin, ct_end, idx(b, 1), {},
             [&](ImplicitLocOpBuilder& b, Value ct, ValueRange) -> SmallVector<Value> {
      Value first = mul(b, ct, row_tiles);
      Value lo = arith::SubIOp::create(b, arith::MaxSIOp::create(b, tile_begin, first), first);
      Value hi = arith::SubIOp::create(b, min(b, tile_end, add(b, first, row_tiles)), first);
      Value r0 = min(b, mul(b, lo, idx(b, t_.tile_rows)), m);
      Value r1 = arith::MaxSIOp::create(b, min(b, mul(b, hi, idx(b, t_.tile_rows)), m), r0);
      Value j0 = mul(b, ct, idx(b, col_tile));
      tile(b, r0, r1, j0, min(b, add(b, j0, idx(b, col_tile)), idx(b, padded_n)));
      return {};
    });
  }

  // Rows [r0, r1) and columns [j0, j1) of C (j0 a multiple of nc, j1 of nr or padded N).
  void tile(ImplicitLocOpBuilder& b, Value r0, Value r1, Value j0, Value j1) {
    Value rows = arith::SubIOp::create(b, r1, r0);
    Value full_end = add(b, r0, mul(b, arith::DivUIOp::create(b, rows, idx(b, t_.mr)), idx(b, t_.mr)));
    Value rem = arith::SubIOp::create(b, r1, full_end);

    emit_for(b, idx(b, 0), idx(b, s_.k), idx(b, t_.kc), {},
             [&](ImplicitLocOpBuilder& b, Value pc, ValueRange) -> SmallVector<Value> {
      KBlock kb;
      kb.pc = pc;
      kb.kc = min(b, idx(b, t_.kc), arith::SubIOp::create(b, idx(b, s_.k), pc));
      kb.first = arith::CmpIOp::create(b, arith::CmpIPredicate::eq, pc, idx(b, 0));
      kb.last = arith::CmpIOp::create(b, arith::CmpIPredicate::sge, add(b, pc, idx(b, t_.kc)),
                                      idx(b, s_.k));
      emit_for(b, j0, j1, idx(b, t_.nc), {},
               [&](ImplicitLocOpBuilder& b, Value jc, ValueRange) -> SmallVector<Value> {
        kb.jc = jc;
        emit_for(b, r0, full_end, idx(b, t_.mr), {},
                 [&](ImplicitLocOpBuilder& b, Value r, ValueRange) -> SmallVector<Value> {
          row_group(b, kb, r, t_.mr);
          return {};
        });
        // The last rem < mr rows: one row group of exactly that many (a microkernel per size,
        // so skinny products such as M = 3 read B once).
        emit_rows_switch(b, rem, t_.mr, [&](int64_t rows) { row_group(b, kb, full_end, rows); });
        return {};
      });
      return {};
    });
  }

  struct KBlock {
    Value pc, kc, first, last, jc;
  };

  // Rows [r, r + rows) of one (K block, N block): copy A, then every column panel of the block.
  void row_group(ImplicitLocOpBuilder& b, const KBlock& kb, Value r, int64_t rows) {
    if (t_.pack_a) pack_a(b, kb, r, rows);
    if (t_.prefetch_a) prefetch_next_a(b, kb, r, rows);
    Value full_cols = idx(b, n_full_ * t_.nr);
    Value j_end = min(b, add(b, kb.jc, idx(b, t_.nc)), full_cols);
    emit_for(b, kb.jc, j_end, idx(b, t_.nr), {},
             [&](ImplicitLocOpBuilder& b, Value j, ValueRange) -> SmallVector<Value> {
      microkernel(b, kb, r, rows, j, t_.nr);
      return {};
    });
    if (tail_cols_ == 0) return;
    Value in_block = arith::CmpIOp::create(b, arith::CmpIPredicate::sgt,
                                           add(b, kb.jc, idx(b, t_.nc)), full_cols);
    emit_if(b, in_block, {}, [&](ImplicitLocOpBuilder& b) -> SmallVector<Value> {
      microkernel(b, kb, r, rows, idx(b, n_full_ * t_.nr), tail_cols_);
      return {};
    }, nullptr);
  }

  // Asks for the next row group's A block (rows r + rows ..., clamped to the last row) to be
  // brought into L2 while this group's panels compute, so the next copy does not stall on it.
  void prefetch_next_a(ImplicitLocOpBuilder& b, const KBlock& kb, Value r, int64_t rows) {
    Value last_row = arith::SubIOp::create(b, m_, idx(b, 1));
    SmallVector<Value> next_rows;
    for (int64_t i = 0; i < rows; ++i) next_rows.push_back(min(b, add(b, r, idx(b, rows + i)), last_row));
    emit_for(b, idx(b, 0), kb.kc, idx(b, 16), {},
             [&](ImplicitLocOpBuilder& b, Value c, ValueRange) -> SmallVector<Value> {
      for (Value row : next_rows)
        memref::PrefetchOp::create(b, a_, ValueRange{row, add(b, kb.pc, c)}, b.getBoolAttr(false),
                                   b.getI32IntegerAttr(2), b.getBoolAttr(true));
      return {};
    });
  }

  // apack[i, 0:kc) = A[r + i, pc:pc + kc) for i < rows.
  void pack_a(ImplicitLocOpBuilder& b, const KBlock& kb, Value r, int64_t rows) {
    Value lanes = idx(b, t_.lanes);
    Value kc_vec = mul(b, arith::DivUIOp::create(b, kb.kc, lanes), lanes);
    for (int64_t i = 0; i < rows; ++i) {
      Value row = add(b, r, idx(b, i));
      emit_for(b, idx(b, 0), kc_vec, lanes, {},
               [&](ImplicitLocOpBuilder& b, Value c, ValueRange) -> SmallVector<Value> {
        Value v = vector::LoadOp::create(b, vt_, a_, ValueRange{row, add(b, kb.pc, c)});
        vector::StoreOp::create(b, v, apack_, ValueRange{idx(b, i), c});
        return {};
      });
      if (t_.lanes == 1) continue;
      emit_for(b, kc_vec, kb.kc, idx(b, 1), {},
               [&](ImplicitLocOpBuilder& b, Value c, ValueRange) -> SmallVector<Value> {
        Value v = memref::LoadOp::create(b, a_, ValueRange{row, add(b, kb.pc, c)});
        memref::StoreOp::create(b, v, apack_, ValueRange{idx(b, i), c});
        return {};
      });
    }
  }

  // C[r:r+rows, j:j+cols) (+)= A[r:r+rows, pc:pc+kc) · B[pc:pc+kc, j:j+cols), the epilogue
  // applied after the last K block. cols <= nr; B's panel is zero-padded to nr columns.
  void microkernel(ImplicitLocOpBuilder& b, const KBlock& kb, Value r, int64_t rows, Value j,
                   int64_t cols) {
    const int64_t nvec = ceil_div(cols, t_.lanes);
    const int64_t last_lanes = cols - (nvec - 1) * t_.lanes;
    Value tail_mask = last_lanes < t_.lanes ? lane_mask(b, last_lanes) : Value();
    auto mask_of = [&](int64_t v) { return v == nvec - 1 ? tail_mask : Value(); };
    SmallVector<Value> row_idx, col_idx;
    for (int64_t i = 0; i < rows; ++i) row_idx.push_back(add(b, r, idx(b, i)));
    for (int64_t v = 0; v < nvec; ++v) col_idx.push_back(add(b, j, idx(b, v * t_.lanes)));

    auto load_c = [&](ImplicitLocOpBuilder& b) {
      SmallVector<Value> acc;
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t v = 0; v < nvec; ++v)
          acc.push_back(load_vector(b, c_, {row_idx[i], col_idx[v]}, mask_of(v)));
      return acc;
    };
    SmallVector<Type> acc_types(rows * nvec, vt_);
    SmallVector<Value> init =
        s_.accumulate ? load_c(b)
                      : emit_if(b, kb.first, acc_types,
                                [&](ImplicitLocOpBuilder& b) {
                                  return SmallVector<Value>(rows * nvec, zero_vector(b));
                                },
                                load_c);

    // C is read and written once per K block, from L3 or memory for large M x N: prefetching
    // the next panel's tile (for write) hides that latency behind this tile's K loop.
    if (t_.prefetch_c) {
      Value last_col = idx(b, s_.n - 1);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t l = 0; l < ceil_div(t_.nr * 4, 64); ++l) {
          Value col = min(b, add(b, j, idx(b, t_.nr + l * 16)), last_col);
          memref::PrefetchOp::create(b, c_, ValueRange{row_idx[i], col}, b.getBoolAttr(true),
                                     b.getI32IntegerAttr(3), b.getBoolAttr(true));
        }
    }

    // Packed B: panel j / nr starts at (j / nr) * K * nr = j * K; row pc + k within it.
    Value b_base = add(b, mul(b, j, idx(b, s_.k)), mul(b, kb.pc, idx(b, t_.nr)));
    SmallVector<Value> acc = register_tile(b, kb, r, rows, nvec, b_base, init);

    auto store = [&](ImplicitLocOpBuilder& b, bool finish) -> SmallVector<Value> {
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t v = 0; v < nvec; ++v) {
          Value x = acc[i * nvec + v];
          if (finish) x = epilogue(b, x, row_idx[i], col_idx[v], mask_of(v));
          store_vector(b, x, c_, {row_idx[i], col_idx[v]}, mask_of(v));
        }
      return {};
    };
    bool has_epilogue = s_.bias || s_.activation != Activation::none || custom_;
    if (!has_epilogue) {
      store(b, false);
    } else if (s_.k <= t_.kc) {
      store(b, true);  // a single K block: always the last
    } else {
      emit_if(b, kb.last, {}, [&](ImplicitLocOpBuilder& b) { return store(b, true); },
              [&](ImplicitLocOpBuilder& b) { return store(b, false); });
    }
  }

  // The register tile's K loop: tile = init, then tile += A[r:r+rows, pc:pc+kc) · the panel's
  // rows [pc, pc+kc) (register_tile.h). Returns the tile's vectors (width = nvec vectors, at
  // most nr).
  SmallVector<Value> register_tile(ImplicitLocOpBuilder& b, const KBlock& kb, Value r,
                                   int64_t rows, int64_t nvec, Value b_base, ArrayRef<Value> init) {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1), height = b.getIndexAttr(rows);
    SmallVector<OpFoldResult> sizes = {height, kb.kc}, unit = {one, one};
    SmallVector<OpFoldResult> at = {r, kb.pc};
    Value a = t_.pack_a ? memref::SubViewOp::create(b, apack_, ArrayRef{zero, zero}, sizes, unit)
                        : memref::SubViewOp::create(b, a_, at, sizes, unit);
    // The packed panel's rows [pc, pc + kc): kc x width of a row-major [K, nr] panel.
    Value panel = matrix_view(b, bp_, b_base, kb.kc, b.getIndexAttr(nvec * t_.lanes),
                              b.getIndexAttr(t_.nr), one);
    return tile_->multiply(b, init, rows, a, panel);
  }

  Value epilogue(ImplicitLocOpBuilder& b, Value x, Value row, Value col, Value mask) {
    if (s_.bias) x = arith::AddFOp::create(b, x, load_vector(b, bias_, {col}, mask));
    auto splat = [&](float f) {
      return arith::ConstantOp::create(b, DenseElementsAttr::get(vt_, b.getF32FloatAttr(f)));
    };
    switch (s_.activation) {
      case Activation::none: break;
      case Activation::relu: x = arith::MaximumFOp::create(b, x, splat(0.0f)); break;
      case Activation::clip:
        x = arith::MinimumFOp::create(b, arith::MaximumFOp::create(b, x, splat(s_.clip_min)),
                                      splat(s_.clip_max));
        break;
    }
    if (custom_) {
      EpilogueSite site{b, b.getLoc(), x, row, col, mask, extras_};
      x = custom_->apply(site);
    }
    return x;
  }

  const MatmulSpec& s_;
  const MatmulTiling& t_;
  const MatmulEpilogue* custom_;
  int64_t n_full_ = 0, tail_cols_ = 0, n_panels_ = 0;
  VectorType vt_;
  Value a_, bp_, c_, bias_, apack_, m_;
  std::optional<RegisterTile> tile_;
  std::vector<Value> extras_;
};

}  // namespace

Value EpilogueSite::load_row_vector(Value memref, ValueRange leading_indices) const {
  auto vt = llvm::cast<VectorType>(acc.getType());
  SmallVector<Value> indices(leading_indices.begin(), leading_indices.end());
  indices.push_back(col);
  if (!mask) return vector::LoadOp::create(b, loc, vt, memref, indices);
  Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vt, b.getF32FloatAttr(0.0f)));
  return vector::MaskedLoadOp::create(b, loc, vt, memref, indices, mask, zero);
}

void build_matmul_kernel(ModuleOp module, const std::string& name, const MatmulSpec& spec,
                         const MatmulTiling& tiling, const MatmulEpilogue* custom) {
  check_spec(spec);
  EAVE_CHECK(tiling.lanes >= 1 && tiling.mr >= 1 && tiling.nr % tiling.lanes == 0 &&
                 tiling.kc >= 1 && tiling.nc % tiling.nr == 0 && tiling.nc >= tiling.nr &&
                 tiling.tile_rows % tiling.mr == 0 && tiling.tile_rows >= tiling.mr,
             "matmul: inconsistent tiling mr=", tiling.mr, " nr=", tiling.nr, " kc=", tiling.kc,
             " nc=", tiling.nc, " tile_rows=", tiling.tile_rows, " lanes=", tiling.lanes);
  MatmulEmitter(spec, tiling, custom).emit(module, name);
}

KernelBinding matmul_binding(const MatmulSpec& spec, const std::string& body,
                             const std::string& symbol, const MatmulEpilogue* custom) {
  KernelBinding k;
  k.body = body;
  k.symbol = symbol;
  k.operands = {{0, {spec.m_sym, -1}}, {1, {}}, {2, {spec.m_sym, -1}}};
  if (spec.bias) k.operands.push_back({3, {}});
  append_epilogue_bindings(k, custom, spec.m_sym);
  return k;
}

void append_epilogue_bindings(KernelBinding& k, const MatmulEpilogue* custom, int dynamic_sym) {
  if (!custom) return;
  int next = int(k.operands.size());
  for (Type t : custom->operand_types) {
    auto m = llvm::dyn_cast<MemRefType>(t);
    EAVE_CHECK(m, "epilogue operand ", next, " must be a memref");
    std::vector<int> dims;
    for (int64_t d = 0; d < m.getRank(); ++d) dims.push_back(m.isDynamicDim(d) ? dynamic_sym : -1);
    k.operands.push_back({next++, dims});
  }
}

Bytes compile_matmul_kernels(const std::vector<MatmulKernelRequest>& kernels,
                             const TargetSpec& target, const CompileOptions& options) {
  std::unique_ptr<MLIRContext> ctx = make_codegen_context();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(ctx.get()));
  std::vector<KernelBinding> bindings;
  for (const MatmulKernelRequest& k : kernels) {
    std::string body = k.symbol + "_body";
    build_matmul_kernel(*module, body, k.spec, k.tiling);
    bindings.push_back(matmul_binding(k.spec, body, k.symbol));
  }
  return compile_to_object(*module, bindings, target, options);
}

}  // namespace eave::codegen
