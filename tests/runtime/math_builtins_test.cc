// The math builtins (runtime/src/builtins/{elementwise,reduction,normalization,loss,quantize}.c)
// against the reference interpreter, on what the ONNX backend tests leave out: f16/bf16 and
// f64 inputs, integer edge cases (wrap-around, INT_MIN / -1, u64 beyond 2^63, shifts past the
// width), axes given as an input, the opset 18-21 ops (Gelu, Mish, bitwise ops,
// GroupNormalization, block quantization), Sum over more inputs than one pass takes, and the
// run-time errors a bad input gives. Each case is a one-node model compiled with every op as
// a builtin and run through the runtime; outputs must match the reference within the
// conformance tolerance (exactly for integers and bools).
#include <limits>
#include <optional>

#include "codegen/builtin_attrs.h"
#include "compiler/compile.h"
#include "tests/runtime/test_models.h"
#include "tests/test_util.h"
#include "tools/runtime_session.h"
#include "tools/tolerance.h"

namespace eave {
namespace {

using testing::GraphBuilder;
using Attrs = std::vector<std::pair<std::string, Attribute>>;

struct OpCase {
  OpKind kind;
  std::vector<std::optional<Tensor>> inputs;  // nullopt: an absent optional input
  Attrs attrs = {};
  int64_t opset = 21;
  size_t outputs = 1;
  std::vector<std::vector<Dim>> dims = {};  // declared input dims (default: the tensors')
  uint32_t constants = 0;                   // bit i: input i is a weight, not a graph input
};

// Builds the one-node model of `c`: graph inputs in0, in1, ... and every output a graph output.
GraphBuilder build(const OpCase& c, ref::NamedValues* named,
                   std::vector<std::pair<std::string, Tensor>>* bound) {
  GraphBuilder b(c.opset);
  std::vector<Value*> ins;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    if (!c.inputs[i]) {
      ins.push_back(nullptr);
      continue;
    }
    const Tensor& t = *c.inputs[i];
    std::string name = "in" + std::to_string(i);
    if (c.constants >> i & 1) {
      ins.push_back(b.g->add_constant(name, t));
      continue;
    }
    std::vector<Dim> dims(t.dims().begin(), t.dims().end());
    if (i < c.dims.size() && !c.dims[i].empty()) dims = c.dims[i];
    ins.push_back(b.input(name, t.dtype(), dims));
    named->emplace_back(name, t);
    bound->emplace_back(name, t);
  }
  Node* n = b.node(c.kind, ins, c.attrs, c.outputs);
  for (Value* v : n->outputs()) b.output(v);
  return b;
}

std::vector<Tensor> run_compiled(Model& m, const std::vector<std::pair<std::string, Tensor>>& in) {
  CompileOptions o;
  o.generate_kernels = false;
  CompiledModel c = compile_model(m, o);
  EXPECT_EQ(c.kernel_count, 0u);
  RuntimeSession s(RuntimeModel::load_memory(std::move(c.artifact)));
  return s.run(in);
}

void expect_matches_reference(const OpCase& c, int line = __builtin_LINE()) {
  SCOPED_TRACE(std::string(op_kind_name(c.kind)) + " at line " + std::to_string(line));
  ref::NamedValues named;
  std::vector<std::pair<std::string, Tensor>> bound;
  GraphBuilder b = build(c, &named, &bound);
  std::vector<ValueData> want = ref::run_model(*b.model, named);
  std::vector<Tensor> got;
  try {
    got = run_compiled(*b.model, bound);
  } catch (const Error& e) {
    FAIL() << e.what();
  }
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    std::string diff = compare_tensors(got[i], want[i].tensor, kConformanceTolerance);
    EXPECT_TRUE(diff.empty()) << "output " << i << ": " << diff;
  }
}

// The message of the error the compiled model gives when run on c's inputs.
std::string run_error(const OpCase& c) {
  ref::NamedValues named;
  std::vector<std::pair<std::string, Tensor>> bound;
  GraphBuilder b = build(c, &named, &bound);
  try {
    run_compiled(*b.model, bound);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

void expect_run_error(const OpCase& c, const std::string& message) {
  std::string got = run_error(c);
  EXPECT_NE(got.find(message), std::string::npos) << op_kind_name(c.kind) << ": " << got;
}

Tensor ints(DType dt, std::vector<int64_t> dims, std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(std::move(dims), v).cast(dt);
}
Tensor reals(DType dt, std::vector<int64_t> dims, std::vector<double> v) {
  return Tensor::from_vector<double>(std::move(dims), v).cast(dt);
}
Tensor rnd(DType dt, std::vector<int64_t> dims, uint32_t seed = 7) {
  return testing::random_tensor(dt, std::move(dims), seed);
}
Tensor bools(std::vector<int64_t> dims, std::vector<int64_t> v) { return ints(DType::Bool, dims, v); }

constexpr DType kFloats[] = {DType::F32, DType::F16, DType::BF16, DType::F64};
constexpr DType kInts[] = {DType::I8, DType::U8, DType::I16, DType::U16,
                           DType::I32, DType::U32, DType::I64, DType::U64};
constexpr int64_t kI64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kI64Max = std::numeric_limits<int64_t>::max();

// Values that exercise wrap-around in every integer type (read as the type's own values).
Tensor edge_ints(DType dt, std::vector<int64_t> dims = {8}) {
  return ints(dt, dims, {0, 1, -1, 127, -128, 255, kI64Min, kI64Max});
}

// ---------------------------------------------------------------- elementwise

TEST(MathBuiltins, UnaryFloatOpsInEveryFloatType) {
  const OpKind ops[] = {
      OpKind::Exp,     OpKind::Log,        OpKind::Sqrt,     OpKind::Sin,      OpKind::Cos,
      OpKind::Tan,     OpKind::Asin,       OpKind::Acos,     OpKind::Atan,     OpKind::Sinh,
      OpKind::Cosh,    OpKind::Asinh,      OpKind::Acosh,    OpKind::Atanh,    OpKind::Tanh,
      OpKind::Erf,     OpKind::Floor,      OpKind::Ceil,     OpKind::Round,    OpKind::Reciprocal,
      OpKind::Sigmoid, OpKind::Softplus,   OpKind::Softsign, OpKind::Mish,     OpKind::HardSwish,
      OpKind::Elu,     OpKind::Celu,       OpKind::Selu,     OpKind::LeakyRelu, OpKind::HardSigmoid,
      OpKind::ThresholdedRelu, OpKind::Shrink, OpKind::Gelu, OpKind::Abs,    OpKind::Neg,
      OpKind::Sign,    OpKind::Relu,       OpKind::IsNaN,    OpKind::IsInf};
  for (OpKind k : ops)
    for (DType dt : kFloats) {
      SCOPED_TRACE(dtype_name(dt));
      expect_matches_reference({k, {rnd(dt, {2, 3, 5})}});
    }
}

TEST(MathBuiltins, UnaryAttributesAndSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  Tensor special = reals(DType::F32, {8}, {-inf, -2.5, -0.5, 0, 0.5, 2.5, inf, nan});
  expect_matches_reference({OpKind::Round, {special}});
  expect_matches_reference({OpKind::Sign, {special}});
  expect_matches_reference({OpKind::Softplus, {reals(DType::F32, {3}, {-100, 40, 100})}});
  expect_matches_reference({OpKind::Gelu, {rnd(DType::F16, {7})}, {{"approximate", Attribute::of_string("tanh")}}, 20});
  expect_matches_reference({OpKind::LeakyRelu, {rnd(DType::BF16, {7})}, {{"alpha", Attribute::of_float(0.3f)}}});
  expect_matches_reference({OpKind::Selu, {rnd(DType::F64, {7})}, {{"alpha", Attribute::of_float(2)}, {"gamma", Attribute::of_float(3)}}});
  expect_matches_reference({OpKind::Celu, {rnd(DType::F32, {7})}, {{"alpha", Attribute::of_float(0.5f)}}});
  expect_matches_reference({OpKind::Shrink, {rnd(DType::F32, {9})}, {{"bias", Attribute::of_float(0.25f)}, {"lambd", Attribute::of_float(1)}}});
  for (int pos = 0; pos < 2; ++pos)
    for (int neg = 0; neg < 2; ++neg)
      expect_matches_reference({OpKind::IsInf, {special}, {{"detect_positive", Attribute::of_int(pos)},
                                                           {"detect_negative", Attribute::of_int(neg)}}});
  expect_matches_reference({OpKind::Not, {bools({4}, {0, 1, 1, 0})}});
}

TEST(MathBuiltins, IntegerUnaryOpsWrapLikeTheElementType) {
  for (DType dt : kInts) {
    SCOPED_TRACE(dtype_name(dt));
    for (OpKind k : {OpKind::Abs, OpKind::Neg, OpKind::Sign, OpKind::Relu, OpKind::BitwiseNot})
      expect_matches_reference({k, {edge_ints(dt)}});
    // Negative values in an unsigned type would be huge, and their conversion in the reference
    // undefined behaviour.
    bool uns = dt == DType::U8 || dt == DType::U16 || dt == DType::U32 || dt == DType::U64;
    expect_matches_reference({OpKind::Shrink, {ints(dt, {5}, {uns ? 5 : -3, uns ? 2 : -1, 0, 1, 3})},
                              {{"bias", Attribute::of_float(1)}, {"lambd", Attribute::of_float(1.5f)}}});
  }
}

TEST(MathBuiltins, IntegerArithmeticAndComparisons) {
  for (DType dt : kInts) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor a = edge_ints(dt, {8, 1});
    Tensor b = edge_ints(dt, {1, 8});  // broadcast: every pair, division by zero included
    for (OpKind k : {OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Equal,
                     OpKind::Less, OpKind::Greater, OpKind::LessOrEqual, OpKind::GreaterOrEqual,
                     OpKind::BitwiseAnd, OpKind::BitwiseOr, OpKind::BitwiseXor})
      expect_matches_reference({k, {a, b}});
    for (OpKind k : {OpKind::Max, OpKind::Min, OpKind::Sum, OpKind::Mean})
      expect_matches_reference({k, {a, b, edge_ints(dt, {8})}});
  }
  // Mod: the C++ reference itself traps on INT_MIN % -1 for 32 and 64 bits, so those types
  // get values without that pair.
  for (DType dt : kInts) {
    SCOPED_TRACE(dtype_name(dt));
    bool wide = dt == DType::I32 || dt == DType::I64;
    Tensor a = wide ? ints(dt, {6, 1}, {7, -7, 0, 5, -128, 1000}) : edge_ints(dt, {8, 1});
    Tensor b = wide ? ints(dt, {1, 5}, {3, -3, 0, 1, -1}) : edge_ints(dt, {1, 8});
    for (int fmod = 0; fmod < 2; ++fmod)
      expect_matches_reference({OpKind::Mod, {a, b}, {{"fmod", Attribute::of_int(fmod)}}});
  }
  expect_matches_reference({OpKind::Mod, {rnd(DType::F16, {6}), reals(DType::F16, {6}, {1, -1, 0.5, -0.5, 3, 0})},
                            {{"fmod", Attribute::of_int(1)}}});
}

TEST(MathBuiltins, BitShiftPastTheWidthGivesZero) {
  for (DType dt : {DType::U8, DType::U16, DType::U32, DType::U64}) {
    SCOPED_TRACE(dtype_name(dt));
    Tensor x = ints(dt, {6, 1}, {1, 3, 255, 65535, -1, 1 << 20});
    Tensor s = ints(dt, {1, 7}, {0, 1, 7, 8, 15, 31, 63});
    for (const char* dir : {"LEFT", "RIGHT"})
      expect_matches_reference({OpKind::BitShift, {x, s}, {{"direction", Attribute::of_string(dir)}}});
  }
}

TEST(MathBuiltins, LogicAndComparisonsOfFloatsAndBools) {
  Tensor p = bools({2, 1}, {0, 1}), q = bools({1, 2}, {0, 1});
  for (OpKind k : {OpKind::And, OpKind::Or, OpKind::Xor, OpKind::Equal}) expect_matches_reference({k, {p, q}});
  for (DType dt : kFloats) {
    Tensor a = reals(dt, {4, 1}, {-1, 0, 2, std::nan("")}), b = reals(dt, {1, 3}, {0, 2, -1});
    for (OpKind k : {OpKind::Equal, OpKind::Less, OpKind::GreaterOrEqual, OpKind::Max, OpKind::Min})
      expect_matches_reference({k, {a, b}});
  }
}

TEST(MathBuiltins, PowMixesBaseAndExponentTypes) {
  expect_matches_reference({OpKind::Pow, {rnd(DType::F32, {2, 3}), ints(DType::I64, {3}, {0, 2, 3})}});
  expect_matches_reference({OpKind::Pow, {ints(DType::I32, {4}, {-2, 3, 5, 7}), reals(DType::F32, {4}, {2, 3, 0.5, 11})}});
  expect_matches_reference({OpKind::Pow, {ints(DType::I8, {3}, {2, -3, 5}), ints(DType::U8, {1}, {7})}});
  expect_matches_reference({OpKind::Pow, {rnd(DType::F16, {5}), reals(DType::F64, {}, {2})}});
}

TEST(MathBuiltins, VariadicOpsOverManyInputs) {
  // More inputs than one pass of the builtin combines, in a type narrower than its accumulator.
  std::vector<std::optional<Tensor>> many;
  for (uint32_t i = 0; i < 11; ++i) many.push_back(rnd(DType::F16, {i % 2 ? 3 : 1, 4}, i + 1));
  for (OpKind k : {OpKind::Sum, OpKind::Mean, OpKind::Max, OpKind::Min}) {
    expect_matches_reference({k, many});
    expect_matches_reference({k, {rnd(DType::BF16, {2, 3})}});  // one input
  }
  std::vector<std::optional<Tensor>> small;
  for (int i = 0; i < 9; ++i) small.push_back(ints(DType::I8, {2}, {100 + i, -100 - i}));
  expect_matches_reference({OpKind::Mean, small});  // the sum wraps before the division
}

TEST(MathBuiltins, ClipBoundsFromInputsOrAttributes) {
  for (DType dt : {DType::I8, DType::U64, DType::I64, DType::F16}) {
    SCOPED_TRACE(dtype_name(dt));
    // The reference compares in double: keep the bounds where that is exact.
    Tensor x = edge_ints(dt), lo = ints(dt, {}, {dt == DType::U64 ? 5 : -5}), hi = ints(dt, {}, {200});
    expect_matches_reference({OpKind::Clip, {x, lo, hi}, {}, 13});
    expect_matches_reference({OpKind::Clip, {x, std::nullopt, hi}, {}, 13});
    expect_matches_reference({OpKind::Clip, {x, lo}, {}, 13});
  }
  expect_matches_reference({OpKind::Clip, {rnd(DType::F32, {9})},
                            {{"min", Attribute::of_float(-0.5f)}, {"max", Attribute::of_float(0.25f)}}, 6});
  expect_matches_reference({OpKind::Clip, {rnd(DType::F32, {9})}, {}, 6});
}

TEST(MathBuiltins, PReluWithChannelSlope) {
  // Before opset 7 a 1-D slope runs over the channels (axis 1) rather than the last axis.
  expect_matches_reference({OpKind::PRelu, {rnd(DType::F32, {2, 3, 4, 5}), rnd(DType::F32, {3}, 3)}, {}, 6});
  expect_matches_reference({OpKind::PRelu, {rnd(DType::F16, {2, 3, 4}), rnd(DType::F16, {4}, 3)}});
  expect_matches_reference({OpKind::PRelu, {ints(DType::I32, {4}, {-3, 5, -7, 0}), ints(DType::I32, {1}, {-2})}});
}

TEST(MathBuiltins, CastBetweenEveryPairOfTypes) {
  std::vector<DType> all(std::begin(kFloats), std::end(kFloats));
  all.insert(all.end(), std::begin(kInts), std::end(kInts));
  all.push_back(DType::Bool);
  Tensor real = reals(DType::F64, {8}, {-1e10, -129.75, -1.5, -0.0, 0.5, 254.5, 3e9, std::nan("")});
  for (DType from : all) {
    Tensor x = is_float(from) ? real.cast(from) : from == DType::Bool ? bools({8}, {0, 1, 1, 0, 1, 0, 0, 1})
                                                                       : edge_ints(from);
    for (DType to : all) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " to " + dtype_name(to));
      expect_matches_reference({OpKind::Cast, {x}, {{"to", Attribute::of_int(dtype_to_onnx(to))}}});
    }
  }
  // i64 to f32 rounds once, not through double.
  expect_matches_reference({OpKind::Cast, {ints(DType::I64, {1}, {(int64_t(1) << 60) + (int64_t(1) << 36) + 1})},
                            {{"to", Attribute::of_int(dtype_to_onnx(DType::F32))}}});
  expect_matches_reference({OpKind::CastLike, {rnd(DType::F32, {5}), ints(DType::I16, {1}, {0})}});
}

// ---------------------------------------------------------------- reductions

TEST(MathBuiltins, ReductionsWithAxesAsInput) {
  const OpKind ops[] = {OpKind::ReduceSum, OpKind::ReduceMean, OpKind::ReduceMax,
                        OpKind::ReduceMin, OpKind::ReduceProd, OpKind::ReduceL1,
                        OpKind::ReduceL2, OpKind::ReduceLogSum, OpKind::ReduceLogSumExp,
                        OpKind::ReduceSumSquare};
  for (OpKind k : ops)
    for (DType dt : {DType::F16, DType::BF16, DType::F64, DType::I32, DType::U8, DType::I64}) {
      SCOPED_TRACE(dtype_name(dt));
      Tensor x = is_float(dt) ? rnd(dt, {2, 3, 4}) : ints(dt, {2, 3, 4}, [] {
        std::vector<int64_t> v;
        for (int i = 0; i < 24; ++i) v.push_back((i * 37) % 11 + 1);
        return v;
      }());
      for (int keep = 0; keep < 2; ++keep) {
        Attrs a = {{"keepdims", Attribute::of_int(keep)}};
        // Axes from a graph input leave the output rank unknown without keepdims; then they
        // come from a weight.
        uint32_t axes_weight = keep ? 0 : 2;
        expect_matches_reference({k, {x, ints(DType::I64, {2}, {-1, 0})}, a, 18, 1, {}, axes_weight});
        expect_matches_reference({k, {x, ints(DType::I64, {1}, {1})}, a, 18, 1, {}, axes_weight});
        expect_matches_reference({k, {x}, a, 18});  // no axes: all of them
        expect_matches_reference({k, {x}, {{"keepdims", Attribute::of_int(keep)}, {"axes", Attribute::of_ints({0, 2})}}, 11});
      }
      Attrs noop = {{"noop_with_empty_axes", Attribute::of_int(1)}};
      expect_matches_reference({k, {x, ints(DType::I64, {0}, {})}, noop, 18});
      // Empty groups give the reduction's identity.
      expect_matches_reference({k, {is_float(dt) ? rnd(dt, {2, 0, 3}) : ints(dt, {2, 0, 3}, {}),
                                    ints(DType::I64, {1}, {1})}, {}, 18});
    }
}

TEST(MathBuiltins, ReductionEdgeCases) {
  Tensor big = ints(DType::U64, {2, 2}, {-1, 5, kI64Min, 7});  // values past 2^63
  for (OpKind k : {OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceSum, OpKind::ReduceMean})
    expect_matches_reference({k, {big, ints(DType::I64, {1}, {1})}, {}, 18});
  Tensor flags = bools({2, 3}, {0, 1, 0, 0, 0, 0});
  for (OpKind k : {OpKind::ReduceMax, OpKind::ReduceMin})
    expect_matches_reference({k, {flags, ints(DType::I64, {1}, {1})}, {}, 20});
  Tensor nans = reals(DType::F32, {2, 3}, {1, std::nan(""), 3, -std::numeric_limits<double>::infinity(), -1, -2});
  for (OpKind k : {OpKind::ReduceMax, OpKind::ReduceMin, OpKind::ReduceLogSumExp})
    expect_matches_reference({k, {nans, ints(DType::I64, {1}, {1})}, {}, 18});
  expect_matches_reference({OpKind::ReduceSum, {rnd(DType::F32, {3, 4}), ints(DType::I64, {1}, {-2})}, {}, 13});
}

TEST(MathBuiltins, ArgMaxArgMinTiesAndNaN) {
  Tensor x = reals(DType::F16, {2, 4}, {1, 3, 3, 0, std::nan(""), 2, std::nan(""), 2});
  for (OpKind k : {OpKind::ArgMax, OpKind::ArgMin})
    for (int last = 0; last < 2; ++last)
      for (int keep = 0; keep < 2; ++keep) {
        Attrs a = {{"axis", Attribute::of_int(-1)}, {"keepdims", Attribute::of_int(keep)},
                   {"select_last_index", Attribute::of_int(last)}};
        expect_matches_reference({k, {x}, a});
        expect_matches_reference({k, {ints(DType::U64, {2, 3}, {-1, 1, -1, 0, kI64Min, 2})}, a});
      }
}

TEST(MathBuiltins, CumSumDirections) {
  for (DType dt : {DType::F16, DType::I32, DType::U64})
    for (int excl = 0; excl < 2; ++excl)
      for (int rev = 0; rev < 2; ++rev)
        expect_matches_reference({OpKind::CumSum, {rnd(dt, {2, 3, 4}), ints(DType::I32, {}, {-2})},
                                  {{"exclusive", Attribute::of_int(excl)}, {"reverse", Attribute::of_int(rev)}}});
}

// ---------------------------------------------------------------- normalization, loss

TEST(MathBuiltins, SoftmaxFamilyBeforeAndSinceOpset13) {
  for (OpKind k : {OpKind::Softmax, OpKind::LogSoftmax, OpKind::Hardmax})
    for (DType dt : {DType::F32, DType::F16}) {
      Tensor x = rnd(dt, {2, 3, 4});
      for (int64_t axis : {0, 1, -1}) {
        expect_matches_reference({k, {x}, {{"axis", Attribute::of_int(axis)}}, 11});
        expect_matches_reference({k, {x}, {{"axis", Attribute::of_int(axis)}}, 13});
      }
      expect_matches_reference({k, {x}, {{"axis", Attribute::of_int(3)}}, 11});  // rows of one
    }
  expect_matches_reference({OpKind::Hardmax, {reals(DType::F32, {1, 4}, {1, std::nan(""), 5, 5})}});
}

TEST(MathBuiltins, Normalizations) {
  Tensor x = rnd(DType::F16, {2, 4, 3, 2});
  Tensor c4 = rnd(DType::F16, {4}, 2), c4b = rnd(DType::F16, {4}, 3);
  expect_matches_reference({OpKind::InstanceNormalization, {x, c4, c4b}});
  expect_matches_reference({OpKind::GroupNormalization, {x, rnd(DType::F16, {2}), rnd(DType::F16, {2}, 4)},
                            {{"num_groups", Attribute::of_int(2)}}, 18});
  expect_matches_reference({OpKind::GroupNormalization, {x, c4, c4b}, {{"num_groups", Attribute::of_int(2)}}, 21});
  expect_matches_reference({OpKind::MeanVarianceNormalization, {rnd(DType::F32, {2, 3, 4, 2})}});
  expect_matches_reference({OpKind::MeanVarianceNormalization, {rnd(DType::F64, {2, 3, 4})},
                            {{"axes", Attribute::of_ints({1, -1})}}});
  for (int p : {1, 2})
    expect_matches_reference({OpKind::LpNormalization, {reals(DType::F32, {2, 3}, {0, 0, 0, 1, -2, 3})},
                              {{"p", Attribute::of_int(p)}, {"axis", Attribute::of_int(1)}}});
  expect_matches_reference({OpKind::LRN, {rnd(DType::BF16, {1, 5, 2, 2})}, {{"size", Attribute::of_int(4)}}});
}

TEST(MathBuiltins, LayerNormalizationStatisticsOutputs) {
  Tensor x = rnd(DType::F16, {2, 3, 4});
  for (int64_t axis : {-1, 1}) {
    Tensor s = rnd(DType::F16, axis == 1 ? std::vector<int64_t>{3, 4} : std::vector<int64_t>{4}, 5);
    Attrs a = {{"axis", Attribute::of_int(axis)}};
    expect_matches_reference({OpKind::LayerNormalization, {x, s, s}, a, 17, 3});
    expect_matches_reference({OpKind::LayerNormalization, {x, s}, a, 17, 3});
    expect_matches_reference({OpKind::LayerNormalization, {x, s, std::nullopt}, a, 17, 1});
  }
  Attrs stash = {{"stash_type", Attribute::of_int(11)}};
  expect_matches_reference({OpKind::LayerNormalization, {rnd(DType::F32, {3, 5}), rnd(DType::F32, {5})}, stash, 17, 3});
}

TEST(MathBuiltins, BatchNormalizationModes) {
  Tensor x = rnd(DType::F32, {2, 3, 2, 2});
  auto p = [](uint32_t seed) { return rnd(DType::F32, {3}, seed); };
  Tensor var = reals(DType::F32, {3}, {0.5, 1, 2});
  expect_matches_reference({OpKind::BatchNormalization, {x, p(1), p(2), p(3), var}, {}, 15});
  expect_matches_reference({OpKind::BatchNormalization, {x, p(1), p(2), p(3), var},
                            {{"training_mode", Attribute::of_int(1)}, {"momentum", Attribute::of_float(0.8f)}}, 15, 3});
  expect_matches_reference({OpKind::BatchNormalization, {rnd(DType::F16, {2, 3, 2}), p(1).cast(DType::F16),
                            p(2).cast(DType::F16), p(3).cast(DType::F16), var.cast(DType::F16)}, {}, 15});
  // Before opset 9, spatial=0 gives every (C, D1, ...) position its own parameters.
  Tensor per = reals(DType::F32, {3, 2}, {1, 2, 0.5, 1, 3, 0.25});
  expect_matches_reference({OpKind::BatchNormalization, {rnd(DType::F32, {2, 3, 2}), per, per, per, per},
                            {{"spatial", Attribute::of_int(0)}}, 7});
}

TEST(MathBuiltins, Losses) {
  Tensor x = rnd(DType::F32, {3, 4, 2}), w = rnd(DType::F32, {4}, 9);
  Tensor t = ints(DType::I32, {3, 2}, {0, 3, 1, -1, 2, 2});
  for (const char* red : {"none", "sum", "mean"}) {
    Attrs a = {{"reduction", Attribute::of_string(red)}, {"ignore_index", Attribute::of_int(-1)}};
    expect_matches_reference({OpKind::NegativeLogLikelihoodLoss, {x, t, w}, a});
    expect_matches_reference({OpKind::SoftmaxCrossEntropyLoss, {x.cast(DType::F16), t}, a, 13, 2});
    expect_matches_reference({OpKind::SoftmaxCrossEntropyLoss, {x.cast(DType::F64), t, w.cast(DType::F64)}, a, 13, 1});
  }
}

// ---------------------------------------------------------------- quantization

TEST(MathBuiltins, QuantizeDequantizePerTensorAxisAndBlock) {
  Tensor x = reals(DType::F32, {2, 4}, {-1.5, -0.5, 0.5, 1.5, 2.5, 300, -300, 0.25});
  Tensor scale = reals(DType::F32, {4}, {0.5, 1, 2, 0.25});
  expect_matches_reference({OpKind::QuantizeLinear, {x, reals(DType::F32, {}, {0.5})}});
  expect_matches_reference({OpKind::QuantizeLinear, {x, scale, ints(DType::I8, {4}, {0, 1, -1, 3})}});
  expect_matches_reference({OpKind::QuantizeLinear, {x.cast(DType::F16), scale.cast(DType::F16), ints(DType::U16, {4}, {0, 1, 9, 3})}});
  expect_matches_reference({OpKind::QuantizeLinear, {ints(DType::I32, {2, 4}, {-7, 7, 9, 1000, -1000, 5, 3, 1}),
                            reals(DType::F32, {2}, {2, 4}), ints(DType::I16, {2}, {0, -5})}, {{"axis", Attribute::of_int(0)}}});
  Tensor block_scale = reals(DType::F32, {2, 2}, {0.5, 1, 2, 0.25});
  expect_matches_reference({OpKind::QuantizeLinear, {x, block_scale, ints(DType::U8, {2, 2}, {128, 0, 3, 7})},
                            {{"block_size", Attribute::of_int(2)}}});
  Tensor q = ints(DType::I8, {2, 4}, {-128, -1, 0, 127, 5, 6, 7, 8});
  expect_matches_reference({OpKind::DequantizeLinear, {q, scale, ints(DType::I8, {4}, {0, 1, -1, 3})}});
  expect_matches_reference({OpKind::DequantizeLinear, {q, scale.cast(DType::F16)}});
  expect_matches_reference({OpKind::DequantizeLinear, {q, block_scale.cast(DType::BF16)}, {{"block_size", Attribute::of_int(2)}}});
  expect_matches_reference({OpKind::DequantizeLinear, {ints(DType::I32, {3}, {-5, 0, 1 << 20}), reals(DType::F64, {}, {0.1})}});
  expect_matches_reference({OpKind::DynamicQuantizeLinear, {rnd(DType::F16, {3, 5})}, {}, 21, 3});
  expect_matches_reference({OpKind::DynamicQuantizeLinear, {reals(DType::F32, {3}, {0, 0, 0})}, {}, 21, 3});
}

// ---------------------------------------------------------------- run-time errors

TEST(MathBuiltins, BadInputsGiveRunErrors) {
  Dim n = Dim::symbol("n"), m = Dim::symbol("m");
  expect_run_error({OpKind::Add, {rnd(DType::F32, {3}), rnd(DType::F32, {4})}, {}, 21, 1, {{n}, {m}}},
                   "input shapes [3] and [4] cannot be broadcast together");
  expect_run_error({OpKind::Sum, {rnd(DType::F32, {2}), rnd(DType::F32, {2}), rnd(DType::F32, {5})},
                         {}, 21, 1, {{n}, {n}, {m}}},
                   "cannot be broadcast");
  expect_run_error({OpKind::ReduceSum, {rnd(DType::F32, {2, 3}), ints(DType::I64, {1}, {2})}, {}, 18, 1, {{}, {n}}},
                   "axis 2 is out of range for rank 2");
  expect_run_error({OpKind::ReduceSum, {rnd(DType::F32, {2, 3}), ints(DType::I64, {2}, {1, -1})}, {}, 18, 1, {{}, {n}}},
                   "axis -1 is given more than once");
  expect_run_error({OpKind::NegativeLogLikelihoodLoss, {rnd(DType::F32, {2, 3}), ints(DType::I64, {2}, {0, 3})}},
                   "target 3 is out of range for 3 classes");
  expect_run_error({OpKind::Clip, {rnd(DType::F32, {4}), rnd(DType::F32, {2})}, {}, 13, 1, {{}, {n}}},
                   "min (input 1) must be a scalar, got shape [2]");
  expect_run_error({OpKind::InstanceNormalization, {rnd(DType::F32, {1, 3, 4}), rnd(DType::F32, {2}), rnd(DType::F32, {2})},
                         {}, 21, 1, {{}, {n}, {n}}},
                   "scale (input 1) must have 3 elements, got shape [2]");
  expect_run_error({OpKind::ArgMax, {rnd(DType::F32, {2, 0})}, {{"axis", Attribute::of_int(1)}}, 21, 1, {{2, n}}},
                   "which has size 0");
  expect_run_error({OpKind::QuantizeLinear, {rnd(DType::F32, {2, 3}), rnd(DType::F32, {2})}, {}, 21, 1, {{}, {n}}},
                   "y_scale must be a scalar or a 1-D tensor of 3 entries");
}

// ---------------------------------------------------------------- load-time checks

using artifact::Builtin;
using artifact::ProgramBuilder;
using artifact::ValueId;

// The error loading an artifact whose program `build` writes gives (the checks run at load).
std::string load_error(const std::function<void(ProgramBuilder&)>& build) {
  artifact::ArtifactWriter w;
  w.set_target(testing::target_for(EAVE_HOST_ARCH));
  build(w.main());
  try {
    RuntimeModel::load_memory(w.bytes());
  } catch (const Error& e) {
    return e.what();
  }
  return "loaded";
}

// The attribute blob of a node of kind k with `attrs` at `opset`.
std::vector<uint8_t> blob(OpKind k, const Attrs& attrs, int64_t opset) {
  GraphBuilder b(opset);
  Node* n = b.node(k, {b.input("x", DType::F32, {2})}, attrs);
  return encode_builtin_attrs(*n);
}

TEST(MathBuiltins, LoadRejectsStepsThatBreakAnOpsContract) {
  auto expect = [](const std::function<void(ProgramBuilder&)>& build, const std::string& message) {
    std::string got = load_error(build);
    EXPECT_NE(got.find(message), std::string::npos) << got;
  };
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2}), y = p.add_input("y", EAVE_DTYPE_I32, {2});
    p.add_builtin("Add", Builtin::ADD, {x, y}, {p.add_output("z", EAVE_DTYPE_F32, {2})});
  }, "ADD: input 1 is i32, input 0 f32");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_I32, {2});
    p.add_builtin("Exp", Builtin::EXP, {x}, {p.add_output("z", EAVE_DTYPE_I32, {2})});
  }, "EXP: input dtype i32 is not supported");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2});
    p.add_builtin("Less", Builtin::LESS, {x, x}, {p.add_output("z", EAVE_DTYPE_F32, {2})});
  }, "LESS: output dtype f32, expected bool");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2});
    p.add_builtin("Cast", Builtin::CAST, {x, x}, {p.add_output("z", EAVE_DTYPE_I8, {2})});
  }, "CAST takes 1 to 1 inputs");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2});
    p.add_builtin("Mod", Builtin::MOD, {x, x}, {p.add_output("z", EAVE_DTYPE_F32, {2})},
                  blob(OpKind::Mod, {}, 13));
  }, "MOD: fmod must be 1 for floating-point inputs");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_U8, {2});
    p.add_builtin("BitShift", Builtin::BIT_SHIFT, {x, x}, {p.add_output("z", EAVE_DTYPE_U8, {2})},
                  blob(OpKind::BitShift, {{"direction", Attribute::of_string("UP")}}, 11));
  }, "BIT_SHIFT: direction must be LEFT or RIGHT");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2});
    p.add_builtin("ReduceMean", Builtin::REDUCE_MEAN, {x}, {p.add_output("z", EAVE_DTYPE_F32, {1})},
                  blob(OpKind::ReduceMean, {{"axes", Attribute::of_ints({0})}}, 18));
  }, "REDUCE_MEAN: axes must be input 1 since opset 18, not an attribute");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2, 2}), s = p.add_input("s", EAVE_DTYPE_F16, {2});
    p.add_builtin("LayerNorm", Builtin::LAYER_NORM, {x, s}, {p.add_output("y", EAVE_DTYPE_F32, {2, 2})});
  }, "LAYER_NORM: Scale and B must have X's dtype");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {1, 2, 2});
    p.add_builtin("LRN", Builtin::LRN, {x}, {p.add_output("y", EAVE_DTYPE_F32, {1, 2, 2})},
                  blob(OpKind::LRN, {}, 13));
  }, "LRN: size must be positive");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2}), s = p.add_input("s", EAVE_DTYPE_F32, {});
    p.add_builtin("Quantize", Builtin::QUANTIZE_LINEAR, {x, s}, {p.add_output("y", EAVE_DTYPE_I32, {2})});
  }, "QUANTIZE_LINEAR: output dtype i32, expected the zero point's (or u8, i8, u16, i16)");
  expect([](ProgramBuilder& p) {
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {2, 3}), t = p.add_input("t", EAVE_DTYPE_F32, {2});
    p.add_builtin("NLL", Builtin::NLL_LOSS, {x, t}, {p.add_output("y", EAVE_DTYPE_F32, {})});
  }, "NLL_LOSS: target (input 1) must be an integer tensor");
}

}  // namespace
}  // namespace eave
