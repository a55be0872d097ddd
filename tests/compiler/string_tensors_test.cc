// String tensors in the compiled backend: constants, inputs and outputs through the runtime's
// C API (one `const char*` per element), the data-movement builtins that carry them, and the ops
// that read text (Cast, Equal, Unique, NonZero, StringNormalizer). Every result is compared
// exactly with the reference interpreter.
#include <cmath>
#include <limits>

#include "compiler/compile.h"
#include "tests/compiler/runtime_test_util.h"

namespace eave {
namespace {

using testing::expect_matches_reference;
using testing::GraphBuilder;
using testing::Inputs;

Tensor strings(std::vector<int64_t> dims, std::vector<std::string> v) {
  return Tensor::from_vector<std::string>(std::move(dims), v);
}

std::shared_ptr<RuntimeModel> compile(const Model& m, bool kernels = true) {
  auto copy = testing::clone_model(m);  // compiling rewrites the model
  CompileOptions o;
  o.generate_kernels = kernels;
  return RuntimeModel::load_memory(compile_model(*copy, o).artifact);
}

void expect_reference(const Model& m, const Inputs& inputs) {
  for (bool kernels : {true, false}) {
    SCOPED_TRACE(kernels ? "generated kernels" : "builtins only");
    RuntimeSession s(compile(m, kernels));
    expect_matches_reference(m, s, inputs);
  }
}

std::string compile_error(const Model& m) {
  try {
    compile(m);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(StringTensors, ConstantsAndInputsMoveThroughDataOps) {
  GraphBuilder b;
  Value* x = b.input("x", DType::String, {2, 3});
  Value* c =
      b.g->add_constant("words", strings({2, 3}, {"alpha", "", "gamma", "delta", "ε", "x"}));
  Value* both = b.op(OpKind::Concat, {x, c}, {{"axis", Attribute::of_int(0)}});
  b.output(b.op(OpKind::Transpose, {both}));
  b.output(b.op(OpKind::Gather, {both, b.ints("i", {3, 0, 3})}));
  b.output(b.op(OpKind::Equal, {x, c}));
  Value* cond = b.op(OpKind::Equal, {x, b.g->add_constant("empty", strings({}, {""}))});
  b.output(b.op(OpKind::Where, {cond, c, x}));
  b.output(b.op(OpKind::NonZero, {both}));
  Node* u = b.node(OpKind::Unique, {both}, {}, 4);
  for (size_t k = 0; k < 4; ++k) b.output(u->output(k));
  b.output(c);
  expect_reference(*b.model, {{"x", strings({2, 3}, {"delta", "", "beta", "alpha", "ε", "x"})}});
}

TEST(StringTensors, CastBetweenNumbersAndTextMatchesTheReference) {
  GraphBuilder b;
  Value* f = b.input("f", DType::F32, {12});
  Value* d = b.input("d", DType::F64, {4});
  Value* i = b.input("i", DType::I64, {3});
  Value* h = b.input("h", DType::F16, {2});
  Value* t = b.input("t", DType::String, {6});
  auto to = [](DType dt) {
    return std::pair{std::string("to"), Attribute::of_int(dtype_to_onnx(dt))};
  };
  for (Value* v : {f, d, i, h}) {
    Value* text = b.op(OpKind::Cast, {v}, {to(DType::String)});
    b.output(text);
    b.output(b.op(OpKind::Cast, {text}, {to(v->dtype())}));
  }
  for (DType dt : {DType::F32, DType::I32, DType::U8, DType::Bool, DType::F64})
    b.output(b.op(OpKind::Cast, {t}, {to(dt)}));
  float inf = std::numeric_limits<float>::infinity();
  Tensor fv = Tensor::from_vector<float>(
      {12}, {0.1f, 1e10f, 1e-5f, 123456.f, -0.f, std::nanf(""), -inf, 1.f / 3, 3.4e38f, 1e-45f,
             0.0001f, 0.001f});
  Tensor dv = Tensor::from_vector<double>({4}, {0.1, 1.0 / 3, 1e300, -2.5e-8});
  Tensor iv = Tensor::from_vector<int64_t>(
      {3}, {std::numeric_limits<int64_t>::min(), 0, std::numeric_limits<int64_t>::max()});
  Tensor hv = Tensor::from_vector<float>({2}, {0.333f, -65504.f}).cast(DType::F16);
  Tensor tv = strings({6}, {"1.5", " -2", "0x10", "1e3", "inf", "300"});
  expect_reference(*b.model, {{"f", fv}, {"d", dv}, {"i", iv}, {"h", hv}, {"t", tv}});
}

TEST(StringTensors, TextThatIsNotANumberIsARunError) {
  GraphBuilder b;
  Value* t = b.input("t", DType::String, {2});
  b.output(b.op(OpKind::Cast, {t}, {{"to", Attribute::of_int(dtype_to_onnx(DType::F32))}}));
  RuntimeSession s(compile(*b.model));
  try {
    s.run({{"t", strings({2}, {"1", "seven"})}});
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot convert string 'seven' to f32"), std::string::npos)
        << e.what();
  }
}

TEST(StringTensors, StringNormalizerMatchesTheReference) {
  for (std::string action : {"NONE", "LOWER", "UPPER"})
    for (int64_t sensitive : {0, 1}) {
      SCOPED_TRACE(action + (sensitive ? " case-sensitive" : ""));
      GraphBuilder b;
      Value* x = b.input("x", DType::String, {1, Dim::symbol("n")});
      b.output(b.op(OpKind::StringNormalizer, {x},
                    {{"case_change_action", Attribute::of_string(action)},
                     {"is_case_sensitive", Attribute::of_int(sensitive)},
                     {"stopwords", Attribute::of_strings({"the", "Monday"})}}));
      auto rt = compile(*b.model);
      RuntimeSession s(rt);
      expect_matches_reference(
          *b.model, s, {{"x", strings({1, 5}, {"The", "monday", "Ünïcode", "a", "the"})}});
      // Every word is a stopword: one empty string.
      expect_matches_reference(*b.model, s, {{"x", strings({1, 2}, {"the", "Monday"})}});
    }
}

// Runs make more text than one block of the session's string memory holds, then less: every
// output stays intact until the next run.
TEST(StringTensors, LongTextAcrossRuns) {
  GraphBuilder b;
  Value* x = b.input("x", DType::String, {Dim::symbol("n")});
  b.output(b.op(OpKind::StringNormalizer, {x},
                {{"case_change_action", Attribute::of_string("UPPER")}}));
  RuntimeSession s(compile(*b.model));
  for (int64_t n : {3, 400, 2000, 5}) {
    std::vector<std::string> words;
    for (int64_t k = 0; k < n; ++k)
      words.push_back(std::string(size_t(k % 97 + 1), char('a' + k % 26)));
    expect_matches_reference(*b.model, s, {{"x", strings({n}, words)}});
  }
}

TEST(StringTensors, TfIdfVectorizerWithAStringPoolMatchesTheReference) {
  GraphBuilder b;
  Value* x = b.input("x", DType::String, {2, 6});
  // 1-grams "a", "b", "zz", "a" (listed twice: counts at its first position); 2-grams "a b",
  // "b a", "zz zz".
  b.output(b.op(OpKind::TfIdfVectorizer, {x},
                {{"mode", Attribute::of_string("TFIDF")},
                 {"min_gram_length", Attribute::of_int(1)},
                 {"max_gram_length", Attribute::of_int(2)},
                 {"max_skip_count", Attribute::of_int(1)},
                 {"ngram_counts", Attribute::of_ints({0, 4})},
                 {"ngram_indexes", Attribute::of_ints({6, 0, 3, 1, 2, 5, 4})},
                 {"weights", Attribute::of_floats({1, 2, 3, 4, 5, 6, 7})},
                 {"pool_strings", Attribute::of_strings({"a", "b", "zz", "a", "a", "b", "b", "a",
                                                         "zz", "zz"})}}));
  expect_reference(*b.model, {{"x", strings({2, 6}, {"a", "b", "a", "c", "b", "zz",  //
                                                     "zz", "y", "zz", "b", "", "a"})}});
}

TEST(StringTensors, AnOpThatCannotTakeStringsIsACompileErrorNamingTheNode) {
  GraphBuilder b;
  Value* x = b.input("x", DType::String, {4});
  Node* n = b.node(OpKind::Pad, {x, b.ints("pads", {1, 1})});
  n->set_name("pad_words");
  b.output(n->output(0));
  std::string msg = compile_error(*b.model);
  EXPECT_NE(msg.find("pad_words"), std::string::npos) << msg;
  EXPECT_NE(msg.find("string tensors are not supported"), std::string::npos) << msg;
}

}  // namespace
}  // namespace eave
