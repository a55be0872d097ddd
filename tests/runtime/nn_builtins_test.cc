// The runtime builtins of the heavier ops (runtime/src/builtins/{matmul,conv,pool,rnn,signal,
// nms,tfidf}.c) diff-tested against the reference interpreter: each case builds a one-node graph,
// compiles it with every op as a builtin (no generated kernels), runs it through the runtime on
// seeded random inputs and compares every output with the reference's under the conformance
// tolerance. The cases cover what the ONNX backend tests leave out (other element types,
// attribute combinations, DeformConv, MaxRoiPool, LpPool, ...). The last ones check that bad
// data is a run error naming the problem, that random variations of valid steps written
// straight into artifacts fail with a status rather than crash (run build-asan's copy to see
// memory errors), and that a malformed step is refused at load.
#include <gtest/gtest.h>

#include <random>

#include "codegen/artifact_writer.h"
#include "codegen/builtin_attrs.h"
#include "compiler/compile.h"
#include "compiler/emit_program.h"
#include "tests/runtime/test_models.h"
#include "tests/test_util.h"
#include "tools/runtime_session.h"
#include "tools/tolerance.h"

extern "C" {
#include "runtime/src/builtins/attrs.h"
}

namespace eave {
namespace {

using testing::GraphBuilder;
using Attrs = std::vector<std::pair<std::string, Attribute>>;

Attribute int_attr(int64_t v) { return Attribute::of_int(v); }
Attribute float_attr(float v) { return Attribute::of_float(v); }
Attribute str(std::string v) { return Attribute::of_string(std::move(v)); }
Attribute ints_attr(std::vector<int64_t> v) { return Attribute::of_ints(std::move(v)); }
Attribute floats_attr(std::vector<float> v) { return Attribute::of_floats(std::move(v)); }
Attribute strs(std::vector<std::string> v) { return Attribute::of_strings(std::move(v)); }

// Seeded values in [lo, hi): uniform floats, or integers for integer types.
Tensor random(DType dt, std::vector<int64_t> dims, double lo = -2, double hi = 2,
              uint32_t seed = 7) {
  std::mt19937 rng(seed);
  Tensor t(DType::F64, dims);
  for (double& x : t.mutable_span<double>()) {
    x = std::uniform_real_distribution<double>(lo, hi)(rng);
    if (!is_float(dt)) x = std::floor(x);
  }
  return t.cast(dt);
}

Tensor ints(std::vector<int64_t> dims, std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>(std::move(dims), v);
}

// One node whose data inputs are graph inputs (so nothing folds at compile time) and whose
// outputs are all graph outputs.
struct OneOp {
  GraphBuilder b;
  std::vector<std::pair<std::string, Tensor>> feeds;

  explicit OneOp(int64_t opset = 17) : b(opset) {}
  Value* in(Tensor t) {
    std::string name = "in" + std::to_string(feeds.size());
    std::vector<Dim> dims(t.dims().begin(), t.dims().end());
    Value* v = b.input(name, t.dtype(), dims);
    feeds.emplace_back(name, std::move(t));
    return v;
  }
  Value* weight(Tensor t) { return b.g->add_constant(b.g->unique_name("w"), std::move(t)); }
  void op(OpKind k, std::vector<Value*> ins, Attrs attrs = {}, size_t outputs = 1) {
    Node* n = b.node(k, std::move(ins), std::move(attrs), outputs);
    for (Value* v : n->outputs()) b.output(v);
  }

  std::vector<Tensor> run_compiled() {
    auto model = testing::clone_model(*b.model);
    CompileOptions o;
    o.generate_kernels = false;
    CompiledModel c = compile_model(*model, o);
    EXPECT_GE(c.builtin_count, 1u);
    RuntimeSession session(RuntimeModel::load_memory(std::move(c.artifact)), 1);
    return session.run(feeds);
  }

  // The compiled outputs match the reference's.
  void check() {
    ref::NamedValues named;
    for (auto& [name, t] : feeds) named.emplace_back(name, ValueData(t));
    std::vector<ValueData> want = ref::run_model(*b.model, named);
    std::vector<Tensor> got = run_compiled();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      std::string diff = compare_tensors(got[i], want[i].tensor, kConformanceTolerance);
      EXPECT_TRUE(diff.empty()) << "output " << i << ": " << diff;
    }
  }

  // The message of the error the compiled model's run fails with ("" if it succeeds).
  std::string run_error() {
    try {
      run_compiled();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
};

// ---------------------------------------------------------------- matrix products

TEST(NnBuiltins, MatMulBroadcastsAndPromotesEveryDtype) {
  for (DType dt : {DType::F16, DType::BF16, DType::F64, DType::I32, DType::U8, DType::I64}) {
    SCOPED_TRACE(dtype_name(dt));
    OneOp t;
    t.op(OpKind::MatMul,
         {t.in(random(dt, {2, 1, 3, 4}, 0, 5)), t.in(random(dt, {3, 4, 5}, 0, 5, 8))});
    t.check();
  }
  OneOp vec;  // 1-D by 1-D: a scalar
  vec.op(OpKind::MatMul,
         {vec.in(random(DType::F64, {6})), vec.in(random(DType::F64, {6}, -2, 2, 9))});
  vec.check();
  OneOp left;  // 1-D by batched matrices
  left.op(OpKind::MatMul,
          {left.in(random(DType::F32, {4})), left.in(random(DType::F32, {2, 4, 3}))});
  left.check();
}

TEST(NnBuiltins, GemmAttributes) {
  OneOp t;
  t.op(OpKind::Gemm,
       {t.in(random(DType::F64, {4, 3})), t.in(random(DType::F64, {5, 4})),
        t.in(random(DType::F64, {5}))},
       {{"transA", int_attr(1)},
        {"transB", int_attr(1)},
        {"alpha", float_attr(0.5f)},
        {"beta", float_attr(-2.f)}});
  t.check();
  OneOp i;  // integers add exactly with the default alpha and beta
  i.op(OpKind::Gemm,
       {i.in(random(DType::I32, {3, 4}, -50, 50)), i.in(random(DType::I32, {4, 2}, -50, 50)),
        i.in(random(DType::I32, {3, 1}, -50, 50))});
  i.check();
}

TEST(NnBuiltins, EinsumEquations) {
  struct Eq {
    const char* equation;
    std::vector<std::vector<int64_t>> shapes;
  } eqs[] = {
      {"ij,jk,kl->il", {{2, 3}, {3, 4}, {4, 2}}},
      {"...ii->...i", {{2, 3, 3}}},
      {"bij,bjk", {{2, 3, 4}, {2, 4, 5}}},
      {"i,i", {{5}, {5}}},
      {"ij->", {{3, 4}}},
      {"...j,j...->...", {{2, 3}, {3, 1}}},
  };
  for (const Eq& e : eqs) {
    SCOPED_TRACE(e.equation);
    OneOp t;
    std::vector<Value*> ins;
    uint32_t seed = 1;
    for (const auto& s : e.shapes) ins.push_back(t.in(random(DType::F32, s, -2, 2, seed++)));
    t.op(OpKind::Einsum, ins, {{"equation", str(e.equation)}});
    t.check();
  }
  OneOp i;
  i.op(OpKind::Einsum,
       {i.in(random(DType::I64, {3, 4}, -9, 9)), i.in(random(DType::I64, {4}, -9, 9))},
       {{"equation", str("ij,j->i")}});
  i.check();
}

TEST(NnBuiltins, Det) {
  Tensor singular = Tensor::from_vector<double>({2, 2}, {1, 2, 2, 4});
  for (Tensor x : {random(DType::F64, {2, 3, 4, 4}), random(DType::F16, {3, 3}), singular,
                   random(DType::F32, {2, 0, 0})}) {
    OneOp t;
    t.op(OpKind::Det, {t.in(x)});
    t.check();
  }
}

TEST(NnBuiltins, QuantizedMatMul) {
  OneOp t;  // per-row and per-column zero points, batched
  t.op(OpKind::MatMulInteger,
       {t.in(random(DType::U8, {2, 3, 4}, 0, 255)), t.in(random(DType::I8, {4, 5}, -128, 127)),
        t.in(random(DType::U8, {3}, 0, 255)), t.in(random(DType::I8, {5}, -128, 127))});
  t.check();
  OneOp q;
  q.op(OpKind::QLinearMatMul,
       {q.in(random(DType::I8, {3, 4}, -128, 127)), q.in(random(DType::F32, {3}, 0.01, 0.05)),
        q.in(random(DType::I8, {3}, -5, 5)), q.in(random(DType::I8, {4, 2}, -128, 127)),
        q.in(random(DType::F32, {2}, 0.01, 0.05)), q.in(random(DType::I8, {2}, -5, 5)),
        q.in(Tensor::scalar<float>(0.2f)), q.in(Tensor::scalar<int8_t>(3))});
  q.check();
}

// ---------------------------------------------------------------- convolution

TEST(NnBuiltins, ConvGroupsDilationsAndPadding) {
  OneOp t;
  t.op(OpKind::Conv,
       {t.in(random(DType::F64, {2, 4, 7, 6, 5})), t.in(random(DType::F64, {6, 2, 3, 2, 2})),
        t.in(random(DType::F64, {6}))},
       {{"group", int_attr(2)},
        {"dilations", ints_attr({2, 1, 2})},
        {"strides", ints_attr({1, 2, 1})},
        {"auto_pad", str("SAME_LOWER")}});
  t.check();
  OneOp h;
  h.op(OpKind::Conv, {h.in(random(DType::F16, {1, 3, 9})), h.in(random(DType::F16, {2, 3, 4}))},
       {{"pads", ints_attr({2, 1})}, {"strides", ints_attr({2})}});
  h.check();
}

TEST(NnBuiltins, ConvTransposeAttributes) {
  std::vector<Attrs> cases = {
      {{"group", int_attr(2)},
       {"strides", ints_attr({2, 3})},
       {"dilations", ints_attr({2, 1})},
       {"output_padding", ints_attr({1, 0})},
       {"pads", ints_attr({1, 0, 0, 2})}},
      {{"strides", ints_attr({2, 2})}, {"auto_pad", str("SAME_LOWER")}},
      {{"strides", ints_attr({2, 2})}, {"output_shape", ints_attr({10, 9})}},
  };
  for (const Attrs& a : cases) {
    OneOp t;
    t.op(OpKind::ConvTranspose,
         {t.in(random(DType::F32, {2, 4, 4, 3})), t.in(random(DType::F32, {4, 3, 3, 2})),
          t.in(random(DType::F32, {a.front().first == "group" ? 6 : 3}))},
         a);
    t.check();
  }
}

TEST(NnBuiltins, QuantizedConv) {
  OneOp t;  // per-channel weight zero points
  t.op(OpKind::ConvInteger,
       {t.in(random(DType::I8, {1, 2, 5, 5}, -128, 127)),
        t.in(random(DType::I8, {3, 2, 2, 2}, -128, 127)), t.in(Tensor::scalar<int8_t>(-3)),
        t.in(random(DType::I8, {3}, -4, 4))},
       {{"pads", ints_attr({1, 1, 0, 0})}});
  t.check();
  OneOp q;  // per-channel weight scales, a bias, int8 output
  q.op(OpKind::QLinearConv,
       {q.in(random(DType::U8, {1, 2, 5, 4}, 0, 255)), q.in(Tensor::scalar<float>(0.02f)),
        q.in(Tensor::scalar<uint8_t>(128)), q.in(random(DType::I8, {4, 1, 3, 3}, -128, 127)),
        q.in(random(DType::F32, {4}, 0.001, 0.01)),
        q.in(Tensor::from_vector<int8_t>({4}, {0, 0, 0, 0})), q.in(Tensor::scalar<float>(0.05f)),
        q.in(Tensor::scalar<int8_t>(-2)), q.in(random(DType::I32, {4}, -500, 500))},
       {{"group", int_attr(2)}, {"auto_pad", str("SAME_UPPER")}});
  q.check();
}

TEST(NnBuiltins, DeformConv) {
  // Offsets of a few pixels, so that samples land inside, between and outside the input.
  OneOp t(19);
  t.op(OpKind::DeformConv,
       {t.in(random(DType::F32, {2, 4, 5, 6})), t.in(random(DType::F32, {6, 2, 3, 2})),
        t.in(random(DType::F32, {2, 2 * 6 * 2, 3, 3}, -2.5, 2.5)), t.in(random(DType::F32, {6})),
        t.in(random(DType::F32, {2, 2 * 6, 3, 3}, 0, 1))},
       {{"group", int_attr(2)},
        {"offset_group", int_attr(2)},
        {"pads", ints_attr({1, 0, 1, 1})},
        {"strides", ints_attr({2, 2})},
        {"dilations", ints_attr({1, 2})}},
       1);
  t.check();
  OneOp plain(19);  // no mask, no bias
  plain.op(OpKind::DeformConv,
           {plain.in(random(DType::F64, {1, 1, 4, 4})), plain.in(random(DType::F64, {1, 1, 2, 2})),
            plain.in(random(DType::F64, {1, 8, 3, 3}, -1, 1))});
  plain.check();
}

// ---------------------------------------------------------------- pooling

TEST(NnBuiltins, WindowedPools) {
  Tensor x = random(DType::F32, {2, 3, 7, 6});
  OneOp avg;
  avg.op(OpKind::AveragePool, {avg.in(x)},
         {{"kernel_shape", ints_attr({3, 2})},
          {"strides", ints_attr({2, 2})},
          {"pads", ints_attr({1, 1, 1, 0})},
          {"ceil_mode", int_attr(1)},
          {"count_include_pad", int_attr(1)}});
  avg.check();
  OneOp lp;
  lp.op(
      OpKind::LpPool, {lp.in(x)},
      {{"kernel_shape", ints_attr({2, 3})}, {"p", int_attr(3)}, {"dilations", ints_attr({2, 1})}});
  lp.check();
  OneOp max(12);  // column-major Indices
  max.op(OpKind::MaxPool, {max.in(x)},
         {{"kernel_shape", ints_attr({3, 3})},
          {"pads", ints_attr({1, 1, 1, 1})},
          {"storage_order", int_attr(1)}},
         2);
  max.check();
  OneOp i8;
  i8.op(OpKind::MaxPool, {i8.in(random(DType::I8, {1, 2, 9}, -128, 127))},
        {{"kernel_shape", ints_attr({4})},
         {"strides", ints_attr({3})},
         {"auto_pad", str("SAME_UPPER")}},
        2);
  i8.check();
}

TEST(NnBuiltins, GlobalPools) {
  for (OpKind k : {OpKind::GlobalAveragePool, OpKind::GlobalMaxPool, OpKind::GlobalLpPool}) {
    OneOp t;
    t.op(k, {t.in(random(DType::F64, {2, 3, 4, 2, 3}))});
    t.check();
  }
  OneOp lp;
  lp.op(OpKind::GlobalLpPool, {lp.in(random(DType::F16, {1, 2, 5}))}, {{"p", int_attr(1)}});
  lp.check();
}

TEST(NnBuiltins, MaxUnpool) {
  // Indices from a MaxPool over the input MaxUnpool reconstructs.
  OneOp t;
  Value* x = t.in(random(DType::F32, {1, 2, 3, 3}));
  Tensor idx =
      ints({1, 2, 3, 3}, {0, 3, 4, 7, 13, 15, 20, 22, 24, 26, 27, 33, 34, 36, 42, 43, 48, 49});
  Attrs a = {{"kernel_shape", ints_attr({2, 2})},
             {"strides", ints_attr({2, 2})},
             {"pads", ints_attr({1, 1, 0, 0})}};
  t.op(OpKind::MaxUnpool, {x, t.in(idx)}, a);
  t.check();
  OneOp shaped;  // a larger output_shape, given as data
  shaped.op(OpKind::MaxUnpool,
            {shaped.in(random(DType::F32, {1, 2, 3, 3})), shaped.in(idx),
             shaped.in(ints({4}, {1, 2, 7, 6}))},
            a);
  shaped.check();
}

TEST(NnBuiltins, RegionPools) {
  Tensor rois =
      Tensor::from_vector<float>({3, 5}, {0, 0, 0, 4, 5, 1, 1.5f, 2, 7.4f, 6, 0, 6, 6, 20, 20});
  OneOp roi;
  roi.op(OpKind::MaxRoiPool, {roi.in(random(DType::F32, {2, 3, 8, 8})), roi.in(rois)},
         {{"pooled_shape", ints_attr({2, 3})}, {"spatial_scale", float_attr(0.9f)}});
  roi.check();
  OneOp align(10);  // opset 10: output_half_pixel coordinates; max mode
  align.op(
      OpKind::RoiAlign,
      {align.in(random(DType::F64, {2, 2, 6, 7})),
       align.in(Tensor::from_vector<double>({3, 4}, {0, 0, 5, 4, 1.2, 0.5, 3, 6.5, -2, 3, 9, 9})),
       align.in(ints({3}, {1, 0, 1}))},
      {{"mode", str("max")},
       {"output_height", int_attr(3)},
       {"output_width", int_attr(2)},
       {"spatial_scale", float_attr(0.75f)}});
  align.check();
}

// ---------------------------------------------------------------- recurrent layers

TEST(NnBuiltins, RnnBidirectionalWithLengthsAndActivations) {
  OneOp t;
  int64_t S = 4, B = 3, I = 2, H = 3;
  t.op(OpKind::RNN,
       {t.in(random(DType::F32, {S, B, I})), t.in(random(DType::F32, {2, H, I})),
        t.in(random(DType::F32, {2, H, H})), t.in(random(DType::F32, {2, 2 * H})),
        t.in(Tensor::from_vector<int32_t>({B}, {4, 0, 2})), t.in(random(DType::F32, {2, B, H}))},
       {{"direction", str("bidirectional")},
        {"hidden_size", int_attr(H)},
        {"activations", strs({"Relu", "ScaledTanh"})},
        {"activation_alpha", floats_attr({0.7f})},
        {"activation_beta", floats_attr({1.3f})},
        {"clip", float_attr(1.5f)}},
       2);
  t.check();
}

TEST(NnBuiltins, GruLinearBeforeResetBatchMajor) {
  OneOp t(14);
  int64_t S = 3, B = 2, I = 4, H = 2;
  t.op(OpKind::GRU,
       {t.in(random(DType::F64, {B, S, I})), t.in(random(DType::F64, {2, 3 * H, I})),
        t.in(random(DType::F64, {2, 3 * H, H})), t.in(random(DType::F64, {2, 6 * H})),
        t.in(Tensor::from_vector<int64_t>({B}, {2, 3})), t.in(random(DType::F64, {B, 2, H}))},
       {{"direction", str("bidirectional")},
        {"linear_before_reset", int_attr(1)},
        {"layout", int_attr(1)},
        {"activations", strs({"HardSigmoid", "LeakyRelu", "sigmoid", "tanh"})},
        {"activation_alpha", floats_attr({0.3f, 0.1f})},
        {"activation_beta", floats_attr({0.4f})}},
       2);
  t.check();
}

TEST(NnBuiltins, LstmPeepholesInputForgetReverse) {
  OneOp t;
  int64_t S = 5, B = 2, I = 3, H = 4;
  t.op(OpKind::LSTM,
       {t.in(random(DType::F32, {S, B, I})), t.in(random(DType::F32, {1, 4 * H, I})),
        t.in(random(DType::F32, {1, 4 * H, H})), t.in(random(DType::F32, {1, 8 * H})),
        t.in(Tensor::from_vector<int32_t>({B}, {3, 5})), t.in(random(DType::F32, {1, B, H})),
        t.in(random(DType::F32, {1, B, H})), t.in(random(DType::F32, {1, 3 * H}))},
       {{"direction", str("reverse")}, {"input_forget", int_attr(1)}}, 3);
  t.check();
  OneOp bi(14);  // bidirectional, batch-major, f16
  bi.op(OpKind::LSTM,
        {bi.in(random(DType::F16, {B, S, I})), bi.in(random(DType::F16, {2, 4 * H, I})),
         bi.in(random(DType::F16, {2, 4 * H, H}))},
        {{"direction", str("bidirectional")}, {"layout", int_attr(1)}}, 3);
  bi.check();
}

// ---------------------------------------------------------------- signal processing

TEST(NnBuiltins, DftAxesLengthsAndDirections) {
  OneOp t(20);  // axis and dft_length as inputs, zero-padded, inverse, complex
  t.op(OpKind::DFT,
       {t.in(random(DType::F32, {2, 5, 3, 2})), t.in(Tensor::scalar<int64_t>(7)),
        t.in(Tensor::scalar<int64_t>(1))},
       {{"inverse", int_attr(1)}});
  t.check();
  OneOp one(17);  // one-sided, truncated, real, f64
  one.op(OpKind::DFT, {one.in(random(DType::F64, {3, 8, 1})), one.in(Tensor::scalar<int32_t>(6))},
         {{"onesided", int_attr(1)}});
  one.check();
}

TEST(NnBuiltins, StftWithoutWindow) {
  OneOp t;
  t.op(OpKind::STFT,
       {t.in(random(DType::F64, {2, 20, 2})), t.in(Tensor::scalar<int64_t>(3)), nullptr,
        t.in(Tensor::scalar<int64_t>(6))},
       {{"onesided", int_attr(0)}});
  t.check();
}

TEST(NnBuiltins, WindowsAndMelWeights) {
  for (OpKind k : {OpKind::HannWindow, OpKind::HammingWindow, OpKind::BlackmanWindow}) {
    OneOp t;
    t.op(k, {t.in(Tensor::scalar<int32_t>(9))},
         {{"periodic", int_attr(0)}, {"output_datatype", int_attr(11)}});
    t.check();
  }
  OneOp mel;
  mel.op(OpKind::MelWeightMatrix,
         {mel.in(Tensor::scalar<int64_t>(6)), mel.in(Tensor::scalar<int64_t>(32)),
          mel.in(Tensor::scalar<int64_t>(8000)), mel.in(Tensor::scalar<float>(100)),
          mel.in(Tensor::scalar<float>(3500))},
         {{"output_datatype", int_attr(11)}});
  mel.check();
}

TEST(NnBuiltins, NonMaxSuppressionCenterBoxes) {
  OneOp t;
  t.op(OpKind::NonMaxSuppression,
       {t.in(random(DType::F32, {2, 8, 4}, 0, 3)), t.in(random(DType::F32, {2, 3, 8}, 0, 1)),
        t.in(Tensor::scalar<int64_t>(3)), t.in(Tensor::scalar<float>(0.3f)),
        t.in(Tensor::scalar<float>(0.2f))},
       {{"center_point_box", int_attr(1)}});
  t.check();
}

// Empty tensors may come without memory: they are still given inputs, and sums over nothing
// are zero.
TEST(NnBuiltins, EmptyTensors) {
  OneOp mm;
  mm.op(OpKind::MatMul, {mm.in(random(DType::F32, {2, 0})), mm.in(random(DType::F32, {0, 3}))});
  mm.check();
  OneOp conv;
  conv.op(OpKind::Conv,
          {conv.in(random(DType::F32, {0, 2, 4, 4})), conv.in(random(DType::F32, {3, 2, 3, 3}))});
  conv.check();
  OneOp ein;
  ein.op(OpKind::Einsum, {ein.in(random(DType::F64, {3, 0})), ein.in(random(DType::F64, {0, 2}))},
         {{"equation", str("ij,jk->ik")}});
  ein.check();
}

// ---------------------------------------------------------------- TfIdfVectorizer

// An integer-pool TfIdfVectorizer: 1-grams {2, 3, 5, 4}, 2-grams {5 6, 7 8, 6 7, 2 3}, written
// to scattered output columns (6 and 8 stay zero).
Attrs tfidf_attrs(const std::string& mode, int64_t min_n, int64_t max_n, int64_t skip) {
  return {{"mode", str(mode)},
          {"min_gram_length", int_attr(min_n)},
          {"max_gram_length", int_attr(max_n)},
          {"max_skip_count", int_attr(skip)},
          {"ngram_counts", ints_attr({0, 4})},
          {"ngram_indexes", ints_attr({7, 1, 3, 0, 2, 9, 5, 4})},
          {"pool_int64s", ints_attr({2, 3, 5, 4, 5, 6, 7, 8, 6, 7, 2, 3})},
          {"weights", floats_attr({0.5f, 2.f, 1.5f, 3.f, 0.25f, 4.f, 1.f, 0.75f})}};
}

// What the ONNX backend tests leave out: int32 input, IDF and TFIDF with weights, a batch of
// rows, skips with 1-grams counted too.
TEST(NnBuiltins, TfIdfVectorizerModesSkipsAndBatches) {
  for (const char* mode : {"TF", "IDF", "TFIDF"})
    for (DType dt : {DType::I32, DType::I64})
      for (auto [min_n, skip] : {std::pair<int64_t, int64_t>{1, 0}, {1, 2}, {2, 1}, {1, 9}}) {
        for (std::vector<int64_t> dims : {std::vector<int64_t>{3, 9}, {12}}) {
          SCOPED_TRACE(std::string(mode) + " " + dtype_name(dt) + " min " + std::to_string(min_n) +
                       " skip " + std::to_string(skip) + " rank " + std::to_string(dims.size()));
          OneOp t;
          t.op(OpKind::TfIdfVectorizer, {t.in(random(dt, dims, 2, 9, uint32_t(skip + 3)))},
               tfidf_attrs(mode, min_n, 2, skip));
          t.check();
        }
      }
}

// Lengths beyond the pool's are never found; a pool n-gram listed twice counts at its first
// entry; without weights IDF gives 1 for each n-gram present.
TEST(NnBuiltins, TfIdfVectorizerPoolEdges) {
  OneOp t;
  t.op(OpKind::TfIdfVectorizer, {t.in(ints({2, 5}, {2, 2, 3, 7, 2, 3, 3, 3, 1, 2}))},
       {{"mode", str("IDF")},
        {"min_gram_length", int_attr(1)},
        {"max_gram_length", int_attr(4)},
        {"max_skip_count", int_attr(1)},
        {"ngram_counts", ints_attr({0, 3})},
        {"ngram_indexes", ints_attr({0, 1, 2, 3, 1})},
        {"pool_int64s", ints_attr({2, 2, 3, 2, 3, 3, 3})}});
  t.check();
  std::vector<Tensor> got = t.run_compiled();
  ASSERT_EQ(got.size(), 1u);
  // Row 0 holds 2 and 3 (columns 0 and 2; the pool's second 2, column 1, is never counted) and
  // "2 3" (column 3); row 1 holds 2, 3 and "3 3" (column 1, shared with the second 2).
  std::span<const float> y = got[0].span<float>();
  EXPECT_EQ(std::vector<float>(y.begin(), y.end()), (std::vector<float>{1, 0, 1, 1, 1, 1, 1, 0}));
}

// A step whose attributes contradict each other is refused when the model loads, naming the
// problem.
TEST(NnBuiltins, TfIdfVectorizerBadAttributesAreRefused) {
  struct Bad {
    std::string name;
    Attribute value;
    std::string message;
  };
  std::vector<Bad> cases = {
      {"ngram_indexes", ints_attr({7, 1, 3, 0, -2, 9, 5, 4}), "ngram_indexes[4] = -2 is out"},
      {"ngram_indexes", ints_attr({0, 1}), "ngram_indexes has 2 entries for 8 pool n-grams"},
      {"ngram_counts", ints_attr({0, 13}), "(12 items): n-grams of length 1 at [0, 13)"},
      {"ngram_counts", ints_attr({0, 3}), "n-grams of length 2 at [3, 12)"},
      {"ngram_counts", ints_attr({4, 0}), "n-grams of length 1 at [4, 0)"},
      {"weights", floats_attr({1.f, 2.f}), "weights has 2 entries for 8 pool n-grams"},
      {"mode", str("BM25"), "mode must be TF, IDF or TFIDF"},
      {"min_gram_length", int_attr(0), "needs 1 <= min_gram_length (0)"},
      {"max_skip_count", int_attr(-1), "max_skip_count (-1) >= 0"},
      {"pool_int64s", strs({"a"}), "exactly one of pool_strings and pool_int64s is required"},
      {"pool_strings", strs({"a"}), "exactly one of pool_strings and pool_int64s is required"},
  };
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.message);
    GraphBuilder g;
    Node* n = g.g->create_node(OpKind::TfIdfVectorizer, {}, 1, nullptr);
    for (auto& [name, a] : tfidf_attrs("TF", 1, 2, 0)) n->set_attr(name, a);
    n->set_attr(c.name, c.value);
    artifact::ArtifactWriter w;
    w.set_target(testing::target_for(EAVE_HOST_ARCH));
    auto& p = w.main();
    auto x = p.add_input("x", EAVE_DTYPE_I64, {2, 6});
    auto y = p.add_output("y", EAVE_DTYPE_F32, {2, 10});
    p.add_builtin("tfidf", artifact::Builtin::TFIDF_VECTORIZER, {x}, {y}, encode_builtin_attrs(*n));
    try {
      RuntimeModel::load_memory(w.bytes());
      ADD_FAILURE() << "the model loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }

}

// ---------------------------------------------------------------- errors

TEST(NnBuiltins, BadDataIsARunError) {
  OneOp unpool;
  unpool.op(
      OpKind::MaxUnpool,
      {unpool.in(random(DType::F32, {1, 1, 2, 2})), unpool.in(ints({1, 1, 2, 2}, {0, 1, 2, 99}))},
      {{"kernel_shape", ints_attr({2, 2})}, {"strides", ints_attr({2, 2})}});
  EXPECT_NE(unpool.run_error().find("index 99 is out of range"), std::string::npos)
      << unpool.run_error();

  OneOp align;
  align.op(OpKind::RoiAlign,
           {align.in(random(DType::F32, {1, 1, 4, 4})), align.in(random(DType::F32, {1, 4}, 0, 3)),
            align.in(ints({1}, {5}))});
  EXPECT_NE(align.run_error().find("names batch 5"), std::string::npos) << align.run_error();

  OneOp rnn;
  rnn.op(OpKind::RNN,
         {rnn.in(random(DType::F32, {2, 1, 2})), rnn.in(random(DType::F32, {1, 3, 2})),
          rnn.in(random(DType::F32, {1, 3, 3})), nullptr, rnn.in(ints({1}, {3}))},
         {{"hidden_size", int_attr(3)}}, 2);
  EXPECT_NE(rnn.run_error().find("sequence_lens[0] = 3 is outside [0, 2]"), std::string::npos)
      << rnn.run_error();

  OneOp window;
  window.op(OpKind::HannWindow, {window.in(Tensor::scalar<int64_t>(-1))});
  EXPECT_NE(window.run_error().find("size must be an integer"), std::string::npos)
      << window.run_error();
}

// ---------------------------------------------------------------- robustness


// A valid step of each builtin, as a starting point for the random variations below.
struct BaseCase {
  artifact::Builtin op;
  std::vector<std::pair<DType, std::vector<int64_t>>> ins;
  std::vector<std::pair<DType, size_t>> outs;  // dtype and rank
  Attrs attrs;
};

std::vector<BaseCase> base_cases() {
  using B = artifact::Builtin;
  const DType f = DType::F32, u8 = DType::U8, i8 = DType::I8, i64 = DType::I64;
  Attrs k2 = {{"kernel_shape", ints_attr({2, 2})}};
  return {
      {B::MATMUL, {{f, {2, 3, 4}}, {f, {4, 5}}}, {{f, 3}}, {}},
      {B::GEMM, {{f, {3, 4}}, {f, {4, 5}}, {f, {5}}}, {{f, 2}}, {}},
      {B::EINSUM, {{f, {2, 3}}, {f, {3, 4}}}, {{f, 2}}, {{"equation", str("ij,jk->ik")}}},
      {B::DET, {{f, {2, 3, 3}}}, {{f, 1}}, {}},
      {B::MATMUL_INTEGER,
       {{u8, {3, 4}}, {u8, {4, 2}}, {u8, {3}}, {u8, {2}}},
       {{DType::I32, 2}},
       {}},
      {B::QLINEAR_MATMUL,
       {{u8, {2, 3}}, {f, {}}, {u8, {}}, {u8, {3, 2}}, {f, {}}, {u8, {}}, {f, {}}, {u8, {}}},
       {{u8, 2}},
       {}},
      {B::CONV,
       {{f, {1, 2, 5, 5}}, {f, {4, 2, 3, 3}}, {f, {4}}},
       {{f, 4}},
       {{"pads", ints_attr({1, 1, 1, 1})}}},
      {B::CONV_TRANSPOSE,
       {{f, {1, 2, 3, 3}}, {f, {2, 3, 3, 3}}, {f, {3}}},
       {{f, 4}},
       {{"strides", ints_attr({2, 2})}}},
      {B::CONV_INTEGER,
       {{u8, {1, 2, 4, 4}}, {u8, {3, 2, 2, 2}}, {u8, {}}, {u8, {3}}},
       {{DType::I32, 4}},
       {}},
      {B::QLINEAR_CONV,
       {{u8, {1, 2, 4, 4}},
        {f, {}},
        {u8, {}},
        {i8, {3, 2, 2, 2}},
        {f, {3}},
        {i8, {3}},
        {f, {}},
        {u8, {}},
        {DType::I32, {3}}},
       {{u8, 4}},
       {}},
      {B::DEFORM_CONV,
       {{f, {1, 2, 4, 4}}, {f, {2, 2, 2, 2}}, {f, {1, 8, 3, 3}}, {f, {2}}, {f, {1, 4, 3, 3}}},
       {{f, 4}},
       {}},
      {B::AVERAGE_POOL, {{f, {1, 2, 5, 5}}}, {{f, 4}}, k2},
      {B::MAX_POOL, {{f, {1, 2, 5, 5}}}, {{f, 4}, {i64, 4}}, k2},
      {B::LP_POOL, {{f, {1, 2, 5, 5}}}, {{f, 4}}, k2},
      {B::GLOBAL_AVERAGE_POOL, {{f, {1, 2, 3, 3}}}, {{f, 4}}, {}},
      {B::GLOBAL_MAX_POOL, {{f, {1, 2, 3, 3}}}, {{f, 4}}, {}},
      {B::GLOBAL_LP_POOL, {{f, {1, 2, 3, 3}}}, {{f, 4}}, {}},
      {B::MAX_UNPOOL,
       {{f, {1, 1, 2, 2}}, {i64, {1, 1, 2, 2}}, {i64, {4}}},
       {{f, 4}},
       {{"kernel_shape", ints_attr({2, 2})}, {"strides", ints_attr({2, 2})}}},
      {B::MAX_ROI_POOL,
       {{f, {1, 2, 6, 6}}, {f, {2, 5}}},
       {{f, 4}},
       {{"pooled_shape", ints_attr({2, 2})}}},
      {B::ROI_ALIGN, {{f, {1, 2, 6, 6}}, {f, {2, 4}}, {i64, {2}}}, {{f, 4}}, {}},
      {B::RNN,
       {{f, {3, 2, 4}},
        {f, {1, 5, 4}},
        {f, {1, 5, 5}},
        {f, {1, 10}},
        {DType::I32, {2}},
        {f, {1, 2, 5}}},
       {{f, 4}, {f, 3}},
       {{"hidden_size", int_attr(5)}}},
      {B::GRU,
       {{f, {3, 2, 4}}, {f, {1, 15, 4}}, {f, {1, 15, 5}}, {f, {1, 30}}},
       {{f, 4}, {f, 3}},
       {}},
      {B::LSTM,
       {{f, {3, 2, 4}},
        {f, {1, 20, 4}},
        {f, {1, 20, 5}},
        {f, {1, 40}},
        {DType::I32, {2}},
        {f, {1, 2, 5}},
        {f, {1, 2, 5}},
        {f, {1, 15}}},
       {{f, 4}, {f, 3}, {f, 3}},
       {}},
      {B::DFT, {{f, {2, 8, 1}}, {i64, {}}}, {{f, 3}}, {}},
      {B::STFT, {{f, {1, 16, 1}}, {i64, {}}, {f, {4}}}, {{f, 4}}, {}},
      {B::HANN_WINDOW, {{i64, {}}}, {{f, 1}}, {}},
      {B::MEL_WEIGHT_MATRIX, {{i64, {}}, {i64, {}}, {i64, {}}, {f, {}}, {f, {}}}, {{f, 2}}, {}},
      {B::NON_MAX_SUPPRESSION,
       {{f, {1, 6, 4}}, {f, {1, 2, 6}}, {i64, {}}, {f, {}}, {f, {}}},
       {{i64, 2}},
       {}},
      {B::TFIDF_VECTORIZER, {{i64, {2, 6}}}, {{f, 2}}, tfidf_attrs("TFIDF", 1, 2, 1)},
  };
}

// Attributes the builtins read, with values from the useful to the absurd.
Attribute random_attr(const std::string& name, std::mt19937& rng) {
  auto pick = [&](auto... v) {
    std::vector<std::common_type_t<decltype(v)...>> all = {v...};
    return all[rng() % all.size()];
  };
  int64_t huge = int64_t(1) << 40;
  if (name == "auto_pad") return str(pick("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "X"));
  if (name == "direction") return str(pick("forward", "reverse", "bidirectional", "sideways"));
  if (name == "mode") return str(pick("avg", "max", "min", "TF", "IDF", "TFIDF"));
  if (name == "coordinate_transformation_mode")
    return str(pick("half_pixel", "output_half_pixel", "x"));
  if (name == "equation")
    return str(pick("ij,jk->ik", "ij,jk", "...i,i...->...", "ii->i", "ij->ji", "i,j->ij", "ab,bc->",
                    "ij,jk->kk", "a..b", "->"));
  if (name == "activations") {
    std::vector<std::string> v(rng() % 7);
    for (auto& a : v)
      a = pick("Relu", "Tanh", "Sigmoid", "Affine", "HardSigmoid", "Elu", "Softplus", "nope");
    return strs(v);
  }
  if (name == "alpha" || name == "beta" || name == "clip" || name == "spatial_scale")
    return float_attr(pick(-1.f, 0.f, 0.5f, 2.f, 1e30f, std::nanf("")));
  if (name == "activation_alpha" || name == "activation_beta") {
    std::vector<float> v(rng() % 4);
    for (float& x : v) x = pick(-1.f, 0.1f, 2.f);
    return floats_attr(v);
  }
  if (name == "strides" || name == "dilations" || name == "pads" || name == "kernel_shape" ||
      name == "output_padding" || name == "output_shape" || name == "pooled_shape" ||
      name == "ngram_counts" || name == "ngram_indexes" || name == "pool_int64s") {
    std::vector<int64_t> v(rng() % 7);
    for (int64_t& x : v)
      x = pick(int64_t(-1), int64_t(0), int64_t(1), int64_t(2), int64_t(3), int64_t(7), huge);
    return ints_attr(v);
  }
  return int_attr(
      pick(int64_t(-1), int64_t(0), int64_t(1), int64_t(2), int64_t(3), int64_t(7), huge));
}

const char* const kAttrNames[] = {"auto_pad",
                                  "direction",
                                  "mode",
                                  "coordinate_transformation_mode",
                                  "equation",
                                  "activations",
                                  "alpha",
                                  "beta",
                                  "clip",
                                  "spatial_scale",
                                  "activation_alpha",
                                  "activation_beta",
                                  "strides",
                                  "dilations",
                                  "pads",
                                  "kernel_shape",
                                  "output_padding",
                                  "output_shape",
                                  "pooled_shape",
                                  "group",
                                  "ceil_mode",
                                  "count_include_pad",
                                  "storage_order",
                                  "transA",
                                  "transB",
                                  "broadcast",
                                  "axis",
                                  "onesided",
                                  "inverse",
                                  "periodic",
                                  "center_point_box",
                                  "offset_group",
                                  "hidden_size",
                                  "layout",
                                  "linear_before_reset",
                                  "input_forget",
                                  "output_height",
                                  "output_width",
                                  "sampling_ratio",
                                  "p",
                                  "min_gram_length",
                                  "max_gram_length",
                                  "max_skip_count",
                                  "ngram_counts",
                                  "ngram_indexes",
                                  "pool_int64s"};

// Random variations of valid steps (dims, element types, ranks, attributes, data) go straight
// into artifacts, past the compiler's checks: each must load and run, or fail with a status,
// never crash or touch memory it should not (run it under build-asan to see the latter).
TEST(NnBuiltins, RandomStepsFailCleanly) {
  std::mt19937 rng(2024);
  const DType dtypes[] = {DType::F32, DType::F64, DType::F16, DType::I8,
                          DType::U8,  DType::I32, DType::I64};
  int ran = 0, failed = 0;
  for (int iter = 0; iter < 200; ++iter) {
    for (BaseCase c : base_cases()) {
      for (auto& [dt, dims] : c.ins) {
        if (rng() % 8 == 0) dt = dtypes[rng() % 7];
        if (rng() % 8 == 0) dims.resize(rng() % 6, 1);
        for (int64_t& d : dims)
          if (rng() % 5 == 0) d = rng() % 6;
      }
      for (auto& [dt, rank] : c.outs) {
        if (rng() % 10 == 0) dt = dtypes[rng() % 7];
        if (rng() % 10 == 0) rank = rng() % 6;
      }
      for (auto& [name, a] : c.attrs)
        if (rng() % 3 == 0) a = random_attr(name, rng);
      for (int extra = int(rng() % 4); extra > 0; --extra) {
        std::string name = kAttrNames[rng() % std::size(kAttrNames)];
        c.attrs.emplace_back(name, random_attr(name, rng));
      }
      GraphBuilder g(10 + int64_t(rng() % 12));  // the opset some attribute defaults hang on
      Node* n = g.g->create_node(OpKind::Identity, {}, 1, nullptr);
      for (auto& [name, a] : c.attrs) n->set_attr(name, a);
      std::vector<uint8_t> params = encode_builtin_attrs(*n);

      // Inputs with the chosen dims; outputs whose every dim is a RUNTIME symbol (at most 32),
      // so that any shape the builtin computes is accepted or refused by its bounds.
      artifact::ArtifactWriter w;
      w.set_target(testing::target_for(EAVE_HOST_ARCH));
      auto& p = w.main();
      std::vector<artifact::ValueId> ins, outs;
      std::vector<std::pair<std::string, Tensor>> feeds;
      for (size_t k = 0; k < c.ins.size(); ++k) {
        auto [dt, dims] = c.ins[k];
        std::string name = "in" + std::to_string(k);
        ins.push_back(p.add_input(name, to_eave_dtype(dt),
                                  std::vector<artifact::Dim>(dims.begin(), dims.end())));
        feeds.emplace_back(name, random(dt, dims, -3, 9, uint32_t(rng())));
      }
      for (size_t k = 0; k < c.outs.size(); ++k) {
        std::vector<artifact::Dim> dims;
        for (size_t d = 0; d < c.outs[k].second; ++d)
          dims.push_back(artifact::Dim::sym(
              w.add_runtime_symbol("o" + std::to_string(k) + "_" + std::to_string(d), {0, 32})));
        outs.push_back(
            p.add_output("out" + std::to_string(k), to_eave_dtype(c.outs[k].first), dims));
      }
      p.add_builtin("op", c.op, ins, outs, params);
      try {
        RuntimeSession session(RuntimeModel::load_memory(w.bytes()), 1);
        session.run(feeds);
        ++ran;
      } catch (const Error&) {
        ++failed;
      }
    }
  }
  // Enough variations get through the checks to exercise the kernels, not just the checks.
  std::printf("%d variations ran, %d failed cleanly\n", ran, failed);
  EXPECT_GT(ran, failed / 10);
}

// RNN activations travel as a STRINGS attribute; a truncated list is refused.
TEST(NnBuiltins, StringListAttributes) {
  GraphBuilder b;
  Node* n = b.g->create_node(OpKind::LSTM, {}, 1, nullptr);
  n->set_attr("activations", strs({"Sigmoid", "", "Tanh"}));
  std::vector<uint8_t> blob = encode_builtin_attrs(*n);
  ASSERT_EQ(eave_attrs_check(blob.data(), uint32_t(blob.size())), nullptr);
  eave_attr a;
  ASSERT_TRUE(eave_attrs_find(blob.data(), uint32_t(blob.size()), "activations", &a));
  ASSERT_EQ(a.kind, EAVE_ATTR_STRINGS);
  ASSERT_EQ(a.n, 3u);
  uint32_t len;
  const char* s = eave_attr_strings_at(&a, 2, &len);
  EXPECT_EQ(std::string(s, len), "Tanh");
  eave_attr_strings_at(&a, 1, &len);
  EXPECT_EQ(len, 0u);
  eave_status st = eave_attrs_check(blob.data(), uint32_t(blob.size() - 1));
  ASSERT_NE(st, nullptr);
  EXPECT_NE(std::string(eave_status_get_message(st)).find("malformed or truncated"),
            std::string::npos);
  eave_status_release(st);
}

// A Conv step with one operand is refused when the model loads, naming the op.
TEST(NnBuiltins, MalformedStepIsRefusedAtLoad) {
  artifact::ArtifactWriter w;
  w.set_target(testing::target_for(EAVE_HOST_ARCH));
  auto& p = w.main();
  auto x = p.add_input("x", EAVE_DTYPE_F32, {1, 1, 3, 3});
  auto y = p.add_output("y", EAVE_DTYPE_F32, {1, 1, 3, 3});
  p.add_builtin("conv", artifact::Builtin::CONV, {x}, {y});
  try {
    RuntimeModel::load_memory(w.bytes());
    ADD_FAILURE() << "the model loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Conv takes 2 to 3 inputs"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace eave
