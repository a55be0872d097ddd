// A caller-built epilogue fused into the matmul kernel: out = tanh(acc * scale[col] +
// residual[row][col]), with the two extra operands passed after C. (The one codegen test that
// includes MLIR headers.)
#include "codegen/matmul_epilogue.h"

#include <gtest/gtest.h>

#include "codegen/matmul_kernel.h"
#include "codegen_test_util.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

namespace eave::codegen::testing {
namespace {

TEST(MatmulEpilogue, CustomOpsOnTheAccumulators) {
  TargetSpec target = host_target();
  MatmulSpec spec;
  spec.m_sym = 0;
  spec.n = 53;  // a column tail: the epilogue sees masked vectors
  spec.k = 70;
  MatmulTiling tiling = choose_matmul_tiling(spec, target);
  tiling.kc = 32;  // several K blocks: the epilogue must run after the last only

  std::unique_ptr<mlir::MLIRContext> ctx = make_codegen_context();
  mlir::OpBuilder types(ctx.get());
  MatmulEpilogue epilogue;
  epilogue.operand_types = {mlir::MemRefType::get({spec.n}, types.getF32Type()),
                            mlir::MemRefType::get({mlir::ShapedType::kDynamic, spec.n}, types.getF32Type())};
  epilogue.apply = [](const EpilogueSite& s) {
    mlir::Value scale = s.load_row_vector(s.operands[0], {});
    mlir::Value residual = s.load_row_vector(s.operands[1], s.row);
    mlir::Value x = mlir::arith::MulFOp::create(s.b, s.loc, s.acc, scale);
    x = mlir::arith::AddFOp::create(s.b, s.loc, x, residual);
    return (mlir::Value)mlir::math::TanhOp::create(s.b, s.loc, x);
  };
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(mlir::UnknownLoc::get(ctx.get()));
  build_matmul_kernel(*module, "fused_body", spec, tiling, &epilogue);
  Bytes obj = compile_to_object(*module, {matmul_binding(spec, "fused_body", "fused", &epilogue)}, target);
  auto lib = load_objects({obj}, {"fused"}, target);

  for (int64_t m : {1, 5, 29}) {
    SCOPED_TRACE("M=" + std::to_string(m));
    GuardedBuffer a(m * spec.k), b(spec.k * spec.n), packed(packed_rhs_elements(spec, tiling));
    GuardedBuffer c(m * spec.n), scale(spec.n), residual(m * spec.n);
    a.fill_random(1);
    b.fill_random(2);
    scale.fill_random(3);
    residual.fill_random(4);
    c.fill(std::nanf(""));
    pack_matmul_rhs(b.data(), false, spec, tiling, packed.data());
    void* buffers[] = {a.data(), packed.data(), c.data(), scale.data(), residual.data()};
    int64_t syms[] = {m};
    lib->kernel(0)(buffers, syms, 0, matmul_tile_count(spec, tiling, m));
    std::vector<double> want, magnitude;
    naive_matmul(a.data(), b.data(), m, spec.n, spec.k, want, magnitude);
    for (int64_t i = 0; i < m * spec.n; ++i) {
      int64_t col = i % spec.n;
      want[i] = std::tanh(want[i] * scale[col] + residual[i]);
      // tanh' <= 1: the pre-activation error bound carries over; add the approximation's.
      magnitude[i] = magnitude[i] * std::fabs(scale[col]) + std::fabs(residual[i]) + 1.0;
    }
    EXPECT_EQ(count_mismatches(c.data(), want, magnitude, spec.n), 0);
  }
}

}  // namespace
}  // namespace eave::codegen::testing
