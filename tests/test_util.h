// Helpers for tests that build small graphs by hand and compare models numerically.
#pragma once

#include <gtest/gtest.h>

#include <random>

#include "import/onnx_importer.h"
#include "ir/graph.h"
#include "ir/shape_inference.h"
#include "ir/verifier.h"
#include "reference/interpreter.h"
#include "tools/tolerance.h"

namespace eave::testing {

// Builds a model node by node, inferring types as it goes.
struct GraphBuilder {
  std::unique_ptr<Model> model = std::make_unique<Model>();
  Graph* g;

  explicit GraphBuilder(int64_t opset = 17) {
    model->opsets[""] = opset;
    model->graph = std::make_shared<Graph>("test");
    model->graph->set_model(model.get());
    g = model->graph.get();
  }
  Value* input(const std::string& name, DType dt, std::vector<Dim> dims) {
    return g->add_input(name, Type::tensor(dt, Shape(std::move(dims))));
  }
  Value* ints(const std::string& name, std::vector<int64_t> v) {
    return g->add_constant(g->unique_name(name), Tensor::from_vector<int64_t>({int64_t(v.size())}, v));
  }
  Value* floats(const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
    return g->add_constant(g->unique_name(name), Tensor::from_vector<float>(std::move(dims), v));
  }
  Value* scalar(float v) { return floats("c", {}, {v}); }
  // A constant filled with seeded random values in [-1, 1).
  Value* random(const std::string& name, std::vector<int64_t> dims, uint32_t seed = 1) {
    Tensor t(DType::F32, dims);
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (float& x : t.mutable_span<float>()) x = u(rng);
    return g->add_constant(g->unique_name(name), std::move(t));
  }
  Node* node(OpKind k, std::vector<Value*> ins, std::vector<std::pair<std::string, Attribute>> attrs = {},
             size_t outputs = 1) {
    Node* n = g->create_node(k, std::move(ins), outputs, nullptr);
    for (auto& [name, a] : attrs) n->set_attr(name, a);
    infer_node(*n);
    return n;
  }
  Value* op(OpKind k, std::vector<Value*> ins, std::vector<std::pair<std::string, Attribute>> attrs = {}) {
    return node(k, std::move(ins), std::move(attrs))->output(0);
  }
  void output(Value* v) { g->add_output(v); }
};

// A deep copy, through the ONNX exporter and importer.
inline std::unique_ptr<Model> clone_model(const Model& m) {
  return import_onnx_bytes(export_onnx_bytes(m));
}

inline Tensor random_tensor(DType dt, std::vector<int64_t> dims, uint32_t seed = 7) {
  Tensor t(DType::F32, dims);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  for (float& x : t.mutable_span<float>()) x = u(rng);
  return t.cast(dt);
}

inline size_t count_ops(const Graph& g, OpKind k) {
  size_t n = 0;
  for (const auto& node : g.nodes()) n += node->kind() == k;
  return n;
}

// Runs both models on the same inputs and expects every output to match within `tol`.
inline void expect_same_outputs(const Model& a, const Model& b, const ref::NamedValues& inputs,
                                Tolerance tol = {1e-5, 1e-6}) {
  auto x = ref::run_model(a, inputs);
  auto y = ref::run_model(b, inputs);
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    std::string diff = compare_values(y[i], x[i], tol);
    EXPECT_TRUE(diff.empty()) << "output " << i << ": " << diff;
  }
}

}  // namespace eave::testing
