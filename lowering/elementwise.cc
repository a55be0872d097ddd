// Lowering: fused element-wise dispatches. The whole chain (or DAG) of element-wise nodes of a
// dispatch becomes one linalg.generic over the output's index space: each external input is
// read through a broadcasting indexing map, intermediate results stay in registers, and only
// the final result is stored. Threads split the output's first dimension into tiles of
// consecutive rows.
#include <unordered_map>

#include "lowering/elementwise_ops.h"
#include "lowering/lowering.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/AffineMap.h"
#include "support/error.h"

namespace eave::lowering {

using namespace mlir;
using mlir::Type;
using mlir::Value;

namespace {

// Elements a tile should cover: large enough to amortize a call, small enough to spread work.
constexpr int64_t kTileElements = 16384;

}  // namespace

bool lowers_elementwise(const Node& n) {
  if (!elementwise_supported(n)) return false;
  for (const eave::Value* v : n.inputs())
    if (v && !v->shape().has_rank()) return false;
  return n.output(0)->shape().has_rank();
}

LoweredKernel lower_elementwise(LoweringContext& lc, const Dispatch& d, const std::string& name) {
  EAVE_CHECK(d.outputs.size() == 1, d.anchor()->describe(), ": a fused elementwise kernel has ",
             d.outputs.size(), " results; expected one");
  const eave::Value* out = d.outputs[0];
  const Shape& os = out->shape();
  int64_t rank = int64_t(os.rank());

  OpBuilder b(lc.ctx);
  Location loc = b.getUnknownLoc();
  b.setInsertionPointToEnd(lc.module.getBody());

  // Operands: the external inputs, then the output.
  std::vector<const eave::Value*> values(d.inputs.begin(), d.inputs.end());
  values.push_back(out);
  SmallVector<Type> arg_types;
  for (const eave::Value* v : values) arg_types.push_back(memref_type(b, v));
  arg_types.push_back(b.getIndexType());
  arg_types.push_back(b.getIndexType());
  auto func = func::FuncOp::create(b, loc, name + "_body", b.getFunctionType(arg_types, {}));
  Block* entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);

  // Rows of the output's first dimension per tile.
  int64_t inner = 1;
  bool inner_static = true;
  for (int64_t i = 1; i < rank; ++i) {
    if (os[size_t(i)].is_const()) inner *= std::max<int64_t>(1, os[size_t(i)].value());
    else inner_static = false;
  }
  int64_t rows_per_tile = inner_static ? std::max<int64_t>(1, kTileElements / inner) : 1;

  auto arg = [&](size_t i) { return entry->getArgument(unsigned(i)); };
  Value out_buf = arg(values.size() - 1);
  std::vector<Value> in_bufs;
  for (size_t i = 0; i + 1 < values.size(); ++i) in_bufs.push_back(arg(i));

  // Whether input i follows the output's first dimension (same rank, not broadcast along it).
  auto follows_dim0 = [&](const eave::Value* v) {
    return rank > 0 && int64_t(v->shape().rank()) == rank &&
           !(v->shape()[0] == Dim(1) && os[0] != Dim(1));
  };

  if (rank > 0) {
    Value tb = arg(values.size()), te = arg(values.size() + 1);
    Value rpt = arith::ConstantIndexOp::create(b, loc, rows_per_tile);
    Value d0 = memref::DimOp::create(b, loc, out_buf, 0);
    Value lo = arith::MinSIOp::create(b, loc, arith::MulIOp::create(b, loc, tb, rpt), d0);
    Value hi = arith::MinSIOp::create(b, loc, arith::MulIOp::create(b, loc, te, rpt), d0);
    Value rows = arith::SubIOp::create(b, loc, hi, lo);
    auto slice = [&](Value buf) -> Value {
      auto mt = cast<MemRefType>(buf.getType());
      SmallVector<OpFoldResult> offsets, sizes, strides;
      for (int64_t i = 0; i < mt.getRank(); ++i) {
        offsets.push_back(i == 0 ? OpFoldResult(lo) : OpFoldResult(b.getIndexAttr(0)));
        if (i == 0) sizes.push_back(rows);
        else if (mt.isDynamicDim(i)) sizes.push_back(Value(memref::DimOp::create(b, loc, buf, i)));
        else sizes.push_back(b.getIndexAttr(mt.getDimSize(i)));
        strides.push_back(b.getIndexAttr(1));
      }
      return memref::SubViewOp::create(b, loc, buf, offsets, sizes, strides);
    };
    out_buf = slice(out_buf);
    for (size_t i = 0; i < in_bufs.size(); ++i)
      if (follows_dim0(values[i])) in_bufs[i] = slice(in_bufs[i]);
  }

  // Indexing maps: inputs broadcast NumPy-style against the output.
  SmallVector<AffineMap> maps;
  for (size_t i = 0; i + 1 < values.size(); ++i) {
    const Shape& s = values[i]->shape();
    int64_t r = int64_t(s.rank());
    SmallVector<AffineExpr> exprs;
    for (int64_t k = 0; k < r; ++k) {
      int64_t j = rank - r + k;
      bool broadcast = s[size_t(k)] == Dim(1) && os[size_t(j)] != Dim(1);
      exprs.push_back(broadcast ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(unsigned(j)));
    }
    maps.push_back(AffineMap::get(unsigned(rank), 0, exprs, lc.ctx));
  }
  maps.push_back(b.getMultiDimIdentityMap(unsigned(rank)));
  SmallVector<utils::IteratorType> iters(size_t(rank), utils::IteratorType::parallel);

  SmallVector<Value> ins(in_bufs.begin(), in_bufs.end());
  linalg::GenericOp::create(
      b, loc, TypeRange{}, ValueRange(ins), ValueRange{out_buf}, maps, iters,
      [&](OpBuilder& nb, Location nl, ValueRange args) {
        std::unordered_map<const eave::Value*, TypedValue> env;
        for (size_t i = 0; i + 1 < values.size(); ++i)
          env[values[i]] = from_storage(nb, nl, args[i], values[i]->dtype());
        for (const Node* n : d.nodes) {
          std::vector<TypedValue> operands;
          for (const eave::Value* v : n->inputs()) operands.push_back(v ? env.at(v) : TypedValue{});
          env[n->output(0)] = build_elementwise(nb, nl, *n, operands);
        }
        linalg::YieldOp::create(nb, nl, to_storage(nb, nl, env.at(out)));
      });
  func::ReturnOp::create(b, loc);

  LoweredKernel k;
  k.binding.body = name + "_body";
  k.binding.symbol = name;
  for (size_t i = 0; i < values.size(); ++i) {
    k.binding.operands.push_back(binding_operand(lc, int(i), values[i]));
    k.operands.push_back(const_cast<eave::Value*>(values[i]));
  }
  k.tiles = rank > 0 ? Dim::ceildiv(os[0], Dim(rows_per_tile)) : Dim(1);
  return k;
}

}  // namespace eave::lowering
