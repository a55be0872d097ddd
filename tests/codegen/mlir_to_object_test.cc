// compile_to_object on hand-written MLIR: tensor bodies through bufferization, a
// transform-dialect schedule, math approximations (accuracy and no libm imports), the ABI
// wrapper's descriptors from syms, and the errors that name what is wrong.
#include "codegen/mlir_to_object.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <functional>

#include "codegen_test_util.h"

namespace eave::codegen::testing {
namespace {

// linalg.matmul on tensors (destination-passing style) with the schedule of the shared notes:
// 8x32 register tiles, vectorized, accumulators hoisted, contractions lowered to FMAs.
const char* kScheduledMatmul = R"mlir(
module attributes {transform.with_named_sequence} {
  func.func @mm(%a: tensor<64x48xf32>, %b: tensor<48x96xf32>, %c: tensor<64x96xf32>)
      -> tensor<64x96xf32> {
    %zero = arith.constant 0.0 : f32
    %f = linalg.fill ins(%zero : f32) outs(%c : tensor<64x96xf32>) -> tensor<64x96xf32>
    %r = linalg.matmul ins(%a, %b : tensor<64x48xf32>, tensor<48x96xf32>)
                       outs(%f : tensor<64x96xf32>) -> tensor<64x96xf32>
    return %r : tensor<64x96xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["linalg.matmul"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %t, %l:3 = transform.structured.tile_using_for %mm tile_sizes [8, 32, 1]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    %fill = transform.structured.match ops{["linalg.fill"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %tf, %lf:2 = transform.structured.tile_using_for %fill tile_sizes [8, 32]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    %func = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %v = transform.structured.vectorize_children_and_apply_patterns %func
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %v {
      transform.apply_patterns.memref.fold_memref_alias_ops
      transform.apply_patterns.canonicalization
    } : !transform.any_op
    transform.apply_cse to %v : !transform.any_op
    %h = transform.structured.hoist_redundant_vector_transfers %v
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %h {
      transform.apply_patterns.vector.lower_contraction lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.vector.lower_transfer max_transfer_rank = 1
      transform.apply_patterns.vector.lower_transpose
      transform.apply_patterns.vector.lower_shape_cast
      transform.apply_patterns.vector.lower_broadcast
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

TEST(MlirToObject, TensorBodyWithTransformSchedule) {
  TargetSpec target = host_target();
  KernelBinding k{"mm", "scheduled_mm", {{0, {}}, {1, {}}, {2, {}}}, /*takes_tile_range=*/false};
  Bytes obj = compile_source_to_object(kScheduledMatmul, {k}, target);
  auto lib = load_objects({obj}, {"scheduled_mm"}, target);
  const int64_t m = 64, k_ = 48, n = 96;
  GuardedBuffer a(m * k_), b(k_ * n), c(m * n);
  a.fill_random(1);
  b.fill_random(2);
  c.fill(std::nanf(""));
  void* buffers[] = {a.data(), b.data(), c.data()};
  lib->kernel(0)(buffers, nullptr, 0, 1);
  std::vector<double> want, magnitude;
  naive_matmul(a.data(), b.data(), m, n, k_, want, magnitude);
  EXPECT_EQ(count_mismatches(c.data(), want, magnitude, n), 0);
}

// A dynamic-shape tensor body without a schedule: linalg.generic, bufferized, lowered to loops;
// the descriptors' dynamic sizes come from syms.
TEST(MlirToObject, DynamicTensorBodyWithoutSchedule) {
  const char* source = R"mlir(
  #map = affine_map<(d0, d1) -> (d0, d1)>
  func.func @add_relu(%x: tensor<?x37xf32>, %y: tensor<?x37xf32>, %out: tensor<?x37xf32>)
      -> tensor<?x37xf32> {
    %r = linalg.generic {indexing_maps = [#map, #map, #map],
                         iterator_types = ["parallel", "parallel"]}
        ins(%x, %y : tensor<?x37xf32>, tensor<?x37xf32>) outs(%out : tensor<?x37xf32>) {
    ^bb0(%a: f32, %b: f32, %o: f32):
      %s = arith.addf %a, %b : f32
      %z = arith.constant 0.0 : f32
      %m = arith.maximumf %s, %z : f32
      linalg.yield %m : f32
    } -> tensor<?x37xf32>
    return %r : tensor<?x37xf32>
  })mlir";
  TargetSpec target = host_target();
  KernelBinding k{"add_relu", "k_add_relu", {{2, {0}}, {0, {0}}, {1, {0}}}, false};
  auto lib = load_objects({compile_source_to_object(source, {k}, target)}, {"k_add_relu"}, target);
  const int64_t rows = 11;
  GuardedBuffer x(rows * 37), y(rows * 37), out(rows * 37);
  x.fill_random(1);
  y.fill_random(2);
  out.fill(std::nanf(""));
  void* buffers[] = {y.data(), out.data(), x.data()};  // operand order differs from buffer order
  int64_t syms[] = {rows};
  lib->kernel(0)(buffers, syms, 0, 1);
  for (int64_t i = 0; i < rows * 37; ++i) ASSERT_EQ(out[i], std::max(x[i] + y[i], 0.0f)) << i;
}

// y[i] = OP(x[i]) for i in [16 tile_begin, 16 tile_end) ∩ [0, n), n = syms[1].
std::string unary_kernel(const std::string& name, const std::string& op) {
  return R"mlir(
  func.func @)mlir" + name + R"mlir((%x: memref<?xf32>, %y: memref<?xf32>, %tb: index, %te: index) {
    %c0 = arith.constant 0 : index
    %c16 = arith.constant 16 : index
    %n = memref.dim %x, %c0 : memref<?xf32>
    %lo = arith.muli %tb, %c16 : index
    %hi0 = arith.muli %te, %c16 : index
    %hi = arith.minsi %hi0, %n : index
    scf.for %i = %lo to %hi step %c16 {
      %v = vector.load %x[%i] : memref<?xf32>, vector<16xf32>
      %r = )mlir" + op + R"mlir( %v : vector<16xf32>
      vector.store %r, %y[%i] : memref<?xf32>, vector<16xf32>
    }
    return
  })mlir";
}

struct UnaryOp {
  const char* name;
  const char* mlir_op;
  std::function<double(double)> ref;
  double lo, hi;
  bool subnormal_as_min_normal = false;  // documented: treats subnormal inputs as FLT_MIN
};

const UnaryOp kApproximated[] = {
    {"exp", "math.exp", [](double x) { return std::exp(x); }, -87, 88},
    {"expm1", "math.expm1", [](double x) { return std::expm1(x); }, -20, 20},
    {"log", "math.log", [](double x) { return std::log(x); }, 1e-30, 1e30, true},
    {"log2", "math.log2", [](double x) { return std::log2(x); }, 1e-30, 1e30, true},
    {"log1p", "math.log1p", [](double x) { return std::log1p(x); }, -0.999, 1e6},
    {"tanh", "math.tanh", [](double x) { return std::tanh(x); }, -10, 10},
    {"erf", "math.erf", [](double x) { return std::erf(x); }, -5, 5},
};

TEST(MlirToObject, MathApproximationsAreAccurateAndImportNothing) {
  TargetSpec target = host_target();
  std::string source = "module {";
  std::vector<KernelBinding> kernels;
  std::vector<std::string> symbols;
  for (const UnaryOp& op : kApproximated) {
    source += unary_kernel(op.name, op.mlir_op);
    kernels.push_back({op.name, std::string("k_") + op.name, {{0, {1}}, {1, {1}}}, true});
    symbols.push_back(kernels.back().symbol);
  }
  source += "\n}\n";
  Bytes obj = compile_source_to_object(source, kernels, target);
  std::vector<Bytes> objects = {obj, emit_kernel_table_object(symbols, target)};
  EXPECT_NO_THROW(link_shared_object(objects, target, /*allowed_imports=*/{}));
  auto lib = load_objects({obj}, symbols, target);

  const int64_t n = 4096;
  for (size_t i = 0; i < std::size(kApproximated); ++i) {
    const UnaryOp& op = kApproximated[i];
    SCOPED_TRACE(op.name);
    GuardedBuffer x(n), y(n);
    // Special values first, then log-spaced over positive ranges, linear otherwise.
    const float inf = INFINITY;
    const float special[] = {NAN, inf, -inf, 0.0f, -0.0f, 1e-40f, -1e-40f, 1.0f, -1.0f, 100.0f,
                             -100.0f, 1e10f, -1e10f, 88.8f, -104.0f, 0.5f};
    for (int64_t j = 0; j < n; ++j) {
      double t = double(j) / (n - 1);
      x[j] = j < 16 ? special[j]
                    : op.lo > 0 ? op.lo * std::pow(op.hi / op.lo, t) : op.lo + (op.hi - op.lo) * t;
    }
    void* buffers[] = {x.data(), y.data()};
    int64_t syms[] = {-1, n};
    lib->kernel(i)(buffers, syms, 0, n / 16);
    const Tolerance& tol = kF32ApproximateMathTolerance;
    int bad = 0;
    for (int64_t j = 0; j < n; ++j) {
      float in = x[j];
      if (op.subnormal_as_min_normal && std::fpclassify(in) == FP_SUBNORMAL)
        in = std::copysign(FLT_MIN, in);
      float want = static_cast<float>(op.ref(in));
      bool ok = std::isnan(want) ? std::isnan(y[j])
                : std::isinf(want) ? y[j] == want
                                   : std::fabs(y[j] - (double)want) <=
                                         tol.atol + tol.rtol * std::fabs((double)want);
      if (!ok && ++bad <= 3) ADD_FAILURE() << op.name << "(" << x[j] << ") = " << y[j] << ", want " << want;
    }
  }
}

TEST(MlirToObject, LibmImportsAreCheckedAgainstTheAllowList) {
  TargetSpec target = host_target();
  std::string source = "module {" + unary_kernel("sine", "math.sin") + "\n}\n";
  Bytes obj = compile_source_to_object(source, {{"sine", "k_sine", {{0, {0}}, {1, {0}}}, true}},
                                       target);
  std::vector<Bytes> objects = {obj, emit_kernel_table_object({"k_sine"}, target)};
  EXPECT_NO_THROW(link_shared_object(objects, target));  // sinf is in the runtime's table
  try {
    link_shared_object(objects, target, {"memcpy"});
    FAIL() << "linking should fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'sinf'"), std::string::npos) << e.what();
  }
}

TEST(MlirToObject, ErrorsNameTheKernel) {
  TargetSpec target = host_target();
  std::string source = "module {" + unary_kernel("f", "math.exp") + "\n}\n";
  auto expect_error = [&](const std::vector<KernelBinding>& k, const std::string& needle) {
    try {
      compile_source_to_object(source, k, target);
      FAIL() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({{"g", "k", {{0, {0}}, {1, {0}}}, true}}, "no func.func named 'g'");
  expect_error({{"f", "k", {{0, {}}, {1, {0}}}, true}}, "dimension 0 is dynamic");
  expect_error({{"f", "k", {{0, {0}}}, true}}, "has 4 arguments");
  try {
    compile_source_to_object("module { func.func @f( }", {}, target);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not parse"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace eave::codegen::testing
