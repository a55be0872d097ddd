#include "lowering/kernel_builder.h"

#include <algorithm>

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/TypeUtilities.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

// Elements of work a tile should cover: enough that waking a thread for it pays.
constexpr int64_t kRowTileWork = 16384;

MemRefType flat_type(Builder& b, const eave::Value* v) {
  Dim n = v->shape().numel();
  int64_t size = n.is_const() ? n.value() : ShapedType::kDynamic;
  return MemRefType::get({size}, storage_type(b, v->dtype()));
}

}  // namespace

KernelBuilder::KernelBuilder(LoweringContext& lc, const std::string& name,
                             std::vector<const eave::Value*> operands)
    : lc_(lc), name_(name), operands_(std::move(operands)),
      b_(UnknownLoc::get(lc.ctx), lc.ctx) {
  b_.setInsertionPointToEnd(lc.module.getBody());
  SmallVector<Type> args;
  for (const eave::Value* v : operands_) args.push_back(flat_type(b_, v));
  args.push_back(b_.getIndexType());
  args.push_back(b_.getIndexType());
  auto func = func::FuncOp::create(b_, name + "_body", b_.getFunctionType(args, {}));
  entry_ = func.addEntryBlock();
  b_.setInsertionPointToStart(entry_);
  for (size_t i = 0; i < operands_.size(); ++i) buffers_.push_back(entry_->getArgument(unsigned(i)));
  tile_begin_ = entry_->getArgument(unsigned(operands_.size()));
  tile_end_ = entry_->getArgument(unsigned(operands_.size() + 1));
}

Value KernelBuilder::index(int64_t v) { return arith::ConstantIndexOp::create(b_, v); }

Value KernelBuilder::dim(const Dim& d) {
  if (d.is_const()) return index(d.value());
  for (const auto& [known, v] : dims_)
    if (known == d) return v;
  // A placeholder at the top of the body; finish() replaces it by a dim of the carrier.
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPointToStart(entry_);
  Value v = UnrealizedConversionCastOp::create(b_, TypeRange{b_.getIndexType()}, ValueRange{})
                .getResult(0);
  dims_.push_back({d, v});
  return v;
}

Value KernelBuilder::stack(MemRefType type) {
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPointToStart(entry_);
  return memref::AllocaOp::create(b_, type, b_.getI64IntegerAttr(64));
}

Value KernelBuilder::add(Value x, Value y) { return arith::AddIOp::create(b_, x, y); }
Value KernelBuilder::sub(Value x, Value y) { return arith::SubIOp::create(b_, x, y); }
Value KernelBuilder::mul(Value x, Value y) { return arith::MulIOp::create(b_, x, y); }
Value KernelBuilder::min(Value x, Value y) { return arith::MinSIOp::create(b_, x, y); }
Value KernelBuilder::max(Value x, Value y) { return arith::MaxSIOp::create(b_, x, y); }
Value KernelBuilder::div(Value x, Value y) { return arith::DivUIOp::create(b_, x, y); }
Value KernelBuilder::rem(Value x, Value y) { return arith::RemUIOp::create(b_, x, y); }
Value KernelBuilder::ceil_div(Value x, Value y) { return arith::CeilDivUIOp::create(b_, x, y); }
Value KernelBuilder::lt(Value x, Value y) {
  return arith::CmpIOp::create(b_, arith::CmpIPredicate::slt, x, y);
}
Value KernelBuilder::eq(Value x, Value y) {
  return arith::CmpIOp::create(b_, arith::CmpIPredicate::eq, x, y);
}

SmallVector<Value> KernelBuilder::loop(Value lo, Value hi, Value step, ValueRange inits,
                                       const LoopBody& body) {
  auto op = scf::ForOp::create(b_, lo, hi, step, inits);
  OpBuilder::InsertionGuard guard(b_);
  Block* blk = op.getBody();
  b_.setInsertionPointToStart(blk);
  SmallVector<Value> results = body(op.getInductionVar(), op.getRegionIterArgs());
  if (!blk->empty() && blk->back().hasTrait<OpTrait::IsTerminator>()) blk->back().erase();
  b_.setInsertionPointToEnd(blk);
  scf::YieldOp::create(b_, results);
  return SmallVector<Value>(op.getResults());
}

void KernelBuilder::loop(Value lo, Value hi, Value step, const std::function<void(Value)>& body) {
  loop(lo, hi, step, {}, [&](Value iv, ValueRange) {
    body(iv);
    return SmallVector<Value>{};
  });
}

SmallVector<Value> KernelBuilder::if_else(Value cond, TypeRange types, const Branch& then_fn,
                                          const Branch& else_fn) {
  auto op = scf::IfOp::create(b_, types, cond, /*withElseRegion=*/true);
  auto fill = [&](Block* blk, const Branch& fn) {
    OpBuilder::InsertionGuard guard(b_);
    if (!blk->empty()) blk->back().erase();  // the implicit yield
    b_.setInsertionPointToEnd(blk);
    SmallVector<Value> results = fn ? fn() : SmallVector<Value>{};
    scf::YieldOp::create(b_, results);
  };
  fill(op.thenBlock(), then_fn);
  fill(op.elseBlock(), else_fn);
  return SmallVector<Value>(op.getResults());
}

void KernelBuilder::if_then(Value cond, const std::function<void()>& then_fn) {
  if_else(cond, {}, [&] {
    then_fn();
    return SmallVector<Value>{};
  }, nullptr);
}

int64_t KernelBuilder::lanes_for(std::initializer_list<Type> types) const {
  unsigned widest = 8;
  for (Type t : types) widest = std::max(widest, std::max(1u, t.getIntOrFloatBitWidth()));
  int64_t bits = lc_.info.simd_bits > 0 ? lc_.info.simd_bits : 128;
  return std::max<int64_t>(4, bits / widest);
}

Type KernelBuilder::shaped(Type elem, int64_t lanes) {
  return lanes == 0 ? elem : VectorType::get({lanes}, elem);
}

Value KernelBuilder::constant_attr(Type type, TypedAttr elem) {
  if (auto vt = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(b_, DenseElementsAttr::get(vt, elem));
  return arith::ConstantOp::create(b_, elem);
}

Value KernelBuilder::constant(Type type, double x) {
  Type elem = getElementTypeOrSelf(type);
  TypedAttr attr = isa<FloatType>(elem) ? TypedAttr(b_.getFloatAttr(elem, x))
                                        : TypedAttr(b_.getIntegerAttr(elem, int64_t(x)));
  return constant_attr(type, attr);
}

Value KernelBuilder::broadcast(Value scalar, int64_t lanes) {
  if (lanes == 0) return scalar;
  return vector::BroadcastOp::create(b_, VectorType::get({lanes}, scalar.getType()), scalar);
}

Value KernelBuilder::mask(int64_t lanes, Value valid) {
  Value n = max(min(valid, index(lanes)), index(0));
  return vector::CreateMaskOp::create(b_, VectorType::get({lanes}, b_.getI1Type()), ValueRange{n});
}

Value KernelBuilder::load(Value buf, Value off, int64_t lanes, Value m) {
  Type elem = cast<MemRefType>(buf.getType()).getElementType();
  if (lanes == 0) return memref::LoadOp::create(b_, buf, ValueRange{off});
  auto vt = VectorType::get({lanes}, elem);
  if (!m) return vector::LoadOp::create(b_, vt, buf, ValueRange{off});
  return vector::MaskedLoadOp::create(b_, vt, buf, ValueRange{off}, m, constant(vt, 0));
}

void KernelBuilder::store(Value v, Value buf, Value off, Value m) {
  if (!isa<VectorType>(v.getType())) {
    memref::StoreOp::create(b_, v, buf, ValueRange{off});
  } else if (!m) {
    vector::StoreOp::create(b_, v, buf, ValueRange{off});
  } else {
    vector::MaskedStoreOp::create(b_, buf, ValueRange{off}, m, v);
  }
}

Value KernelBuilder::select(Value cond, Value x, Value y) {
  return arith::SelectOp::create(b_, cond, x, y);
}

TypedValue KernelBuilder::load_compute(Value buf, Value off, int64_t lanes, DType t, Value m) {
  return from_storage(b_, b_.getLoc(), load(buf, off, lanes, m), t);
}

void KernelBuilder::store_compute(const TypedValue& v, Value buf, Value off, Value m) {
  store(to_storage(b_, b_.getLoc(), v), buf, off, m);
}

LoweredKernel KernelBuilder::finish(const Dim& tiles) {
  func::ReturnOp::create(b_);
  LoweredKernel k;
  k.binding.body = name_ + "_body";
  k.binding.symbol = name_;
  for (size_t i = 0; i < operands_.size(); ++i) {
    codegen::KernelOperand op;
    op.buffer = int(i);
    Dim n = operands_[i]->shape().numel();
    op.dim_syms.push_back(n.is_const() ? -1 : lc_.symbol_of(n));
    k.binding.operands.push_back(op);
    k.operands.push_back(const_cast<eave::Value*>(operands_[i]));
  }
  if (!dims_.empty()) {
    // The size carrier: a memref over buffer 0 whose dims are the symbolic sizes asked for.
    auto func = cast<func::FuncOp>(entry_->getParentOp());
    SmallVector<int64_t> shape(dims_.size(), ShapedType::kDynamic);
    auto type = MemRefType::get(shape, b_.getI8Type());
    unsigned pos = unsigned(operands_.size());
    if (failed(func.insertArgument(pos, type, DictionaryAttr(), b_.getLoc())))
      internal_fail("kernel ", name_, ": cannot add the size carrier argument");
    Value carrier = entry_->getArgument(pos);
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToStart(entry_);
    codegen::KernelOperand op;
    op.buffer = 0;
    for (size_t i = 0; i < dims_.size(); ++i) {
      Value v = memref::DimOp::create(b_, carrier, int64_t(i));
      Operation* placeholder = dims_[i].second.getDefiningOp();
      dims_[i].second.replaceAllUsesWith(v);
      placeholder->erase();
      op.dim_syms.push_back(lc_.symbol_of(dims_[i].first));
    }
    k.binding.operands.push_back(op);
  }
  k.tiles = tiles;
  return k;
}

Dim row_tiles(const Dim& rows, const Dim& work_per_row) {
  Dim by_work = Dim::ceildiv(rows * work_per_row, Dim(kRowTileWork));
  return Dim::min(rows, Dim::max(Dim(1), by_work));
}

RowRange tile_row_range(KernelBuilder& kb, const Dim& rows, const Dim& tiles) {
  Value n = kb.dim(rows);
  Value per_tile = kb.ceil_div(n, kb.max(kb.dim(tiles), kb.index(1)));
  Value begin = kb.min(kb.mul(kb.tile_begin(), per_tile), n);
  Value end = kb.min(kb.mul(kb.tile_end(), per_tile), n);
  return {begin, end};
}

SmallVector<Value> vector_run(KernelBuilder& kb, const Dim& len, int64_t lanes, int64_t unroll,
                              ValueRange inits, ValueRange identity, const RunStep& step,
                              const RunMerge& merge) {
  Value n = kb.dim(len);
  Value start = kb.index(0);
  SmallVector<Value> accs(inits);
  size_t k = accs.size();
  if (unroll > 1) {
    int64_t block = unroll * lanes;
    Value n_main = kb.sub(n, kb.rem(n, kb.index(block)));
    SmallVector<Value> all(accs);
    for (int64_t u = 1; u < unroll; ++u) all.append(identity.begin(), identity.end());
    SmallVector<Value> sets = kb.loop(kb.index(0), n_main, kb.index(block), all, [&](Value i, ValueRange a) {
      SmallVector<Value> out;
      for (int64_t u = 0; u < unroll; ++u) {
        SmallVector<Value> next = step(a.slice(size_t(u) * k, k), kb.add(i, kb.index(u * lanes)), {});
        out.append(next);
      }
      return out;
    });
    accs.assign(sets.begin(), sets.begin() + long(k));
    for (int64_t u = 1; u < unroll && k > 0; ++u)
      accs = merge(accs, ValueRange(sets).slice(size_t(u) * k, k));
    start = n_main;
  }
  Value n_full = kb.sub(n, kb.rem(n, kb.index(lanes)));
  accs = kb.loop(start, n_full, kb.index(lanes), accs,
                 [&](Value i, ValueRange a) { return step(a, i, {}); });
  if (!(len.is_const() && len.value() % lanes == 0)) {
    Value mask = kb.mask(lanes, kb.sub(n, n_full));
    SmallVector<Value> next = step(accs, n_full, mask);
    for (size_t i = 0; i < k; ++i) accs[i] = kb.select(mask, next[i], accs[i]);
  }
  return accs;
}

ColumnBlocks column_blocks(const Dim& outer, const Dim& inner, int64_t lanes) {
  ColumnBlocks c;
  c.lanes = lanes;
  c.vectors = kMaxColumnVectors;
  if (inner.is_const()) c.vectors = std::clamp<int64_t>((inner.value() + lanes - 1) / lanes, 1, kMaxColumnVectors);
  c.masked = !(inner.is_const() && inner.value() % c.block() == 0);
  c.outer = outer;
  c.inner = inner;
  c.blocks = Dim::ceildiv(inner, Dim(c.block()));
  return c;
}

Dim for_column_tiles(KernelBuilder& kb, const ColumnBlocks& c, const Dim& work_per_block,
                     const std::function<void(const ColumnTile&)>& body) {
  Dim pairs = c.outer * c.blocks;
  Dim tiles = row_tiles(pairs, work_per_block);
  RowRange range = tile_row_range(kb, pairs, tiles);
  Value inner = kb.dim(c.inner), nb = kb.dim(c.blocks);
  kb.loop(range.begin, range.end, kb.index(1), [&](Value t) {
    ColumnTile tile;
    tile.row = kb.div(t, nb);
    tile.col = kb.mul(kb.rem(t, nb), kb.index(c.block()));
    for (int64_t u = 0; u < c.vectors; ++u)
      tile.masks.push_back(c.masked ? kb.mask(c.lanes, kb.sub(inner, kb.add(tile.col, kb.index(u * c.lanes))))
                                    : Value());
    body(tile);
  });
  return tiles;
}

Dim dims_product(const Shape& s, size_t from, size_t to) {
  Dim p(1);
  for (size_t i = from; i < to; ++i) p = p * s[i];
  return p;
}

// ---------------------------------------------------------------- fused epilogues

bool FusedEpilogue::operand_ok(const eave::Value* v, const Shape& out, const Dim* row_len) {
  if (!v || !v->type().is_tensor() || !v->shape().has_rank()) return false;
  const Shape& s = v->shape();
  if (s.numel() == Dim(1)) return true;
  if (s == out) return true;
  if (!row_len || s.rank() > out.rank()) return false;
  // Leading 1s, then exactly the output's trailing dims, covering one row.
  size_t first = 0;
  while (first < s.rank() && s[first] == Dim(1)) ++first;
  size_t shift = out.rank() - s.rank();
  for (size_t i = first; i < s.rank(); ++i)
    if (s[i] != out[shift + i]) return false;
  return dims_product(s, first, s.rank()) == *row_len;
}

FusedEpilogue::FusedEpilogue(const Dispatch& d, const Dim* row_len)
    : anchor_out_(d.anchor()->output(0)) {
  const Shape& out = anchor_out_->shape();
  std::vector<const eave::Value*> inside = {anchor_out_};
  for (size_t i = 1; i < d.nodes.size(); ++i) {
    nodes_.push_back(d.nodes[i]);
    for (const eave::Value* v : d.nodes[i]->inputs()) {
      if (!v || std::find(inside.begin(), inside.end(), v) != inside.end() ||
          std::find(operands_.begin(), operands_.end(), v) != operands_.end())
        continue;
      EAVE_ASSERT(operand_ok(v, out, row_len));
      operands_.push_back(v);
      kinds_.push_back(v->shape().numel() == Dim(1) ? Kind::Scalar
                       : v->shape() == out           ? Kind::Full
                                                     : Kind::Row);
    }
    inside.push_back(d.nodes[i]->output(0));
  }
}

TypedValue FusedEpilogue::apply(KernelBuilder& kb, const TypedValue& r, Value off, Value col,
                                Value mask) const {
  if (nodes_.empty()) return r;
  auto vt = dyn_cast<VectorType>(r.v.getType());
  int64_t lanes = vt ? vt.getNumElements() : 0;
  std::map<const eave::Value*, TypedValue> env;
  env[anchor_out_] = r;
  for (size_t i = 0; i < operands_.size(); ++i) {
    DType t = operands_[i]->dtype();
    Value buf = buffers_.at(i);
    switch (kinds_[i]) {
      case Kind::Scalar: {
        TypedValue s = kb.load_compute(buf, kb.index(0), 0, t);
        env[operands_[i]] = {kb.broadcast(s.v, lanes), t};
        break;
      }
      case Kind::Full: env[operands_[i]] = kb.load_compute(buf, off, lanes, t, mask); break;
      case Kind::Row: env[operands_[i]] = kb.load_compute(buf, col, lanes, t, mask); break;
    }
  }
  const eave::Value* last = anchor_out_;
  for (const Node* n : nodes_) {
    std::vector<TypedValue> ins;
    for (const eave::Value* v : n->inputs()) ins.push_back(v ? env.at(v) : TypedValue{});
    env[n->output(0)] = build_elementwise(kb.b(), kb.b().getLoc(), *n, ins);
    last = n->output(0);
  }
  return env.at(last);
}

}  // namespace eave::lowering
