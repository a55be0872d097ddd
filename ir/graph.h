// The graph IR every later stage works on: Model > Graph > Node / Value.
//
// A Graph owns its nodes (kept in topological order after import) and its values. A Value is
// produced by exactly one node output, or is a graph input, or a constant (initializer). Values
// know their uses, so passes can rewrite with replace_all_uses_with. Subgraphs (If/Loop/Scan
// bodies) are graph attributes; a node inside a subgraph may take a Value of an enclosing graph
// as input directly (an outer-scope reference).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ir/attribute.h"
#include "ir/tensor.h"
#include "ir/type.h"

namespace eave {

enum class OpKind : uint16_t {
  Unknown,
#define EAVE_ONNX_OP(Name) Name,
#define EAVE_ML_OP(Name) Name,
#define EAVE_TRAINING_OP(Name) Name,
#define EAVE_INTERNAL_OP(Name) Name,
#include "ir/ops.def"
  NumKinds,
};

const char* op_kind_name(OpKind k);
const char* op_kind_domain(OpKind k);  // "", "ai.onnx.ml", "ai.onnx.preview.training", "eave"
// The kind for (domain, op_type); Unknown if eave does not know it. "ai.onnx" is the same as "".
OpKind op_kind_from(std::string_view domain, std::string_view op_type);

class Node;
class Graph;
struct Model;

struct Use {
  Node* node;
  int index;  // input slot of `node`
};

class Value {
 public:
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  const Type& type() const { return type_; }
  void set_type(Type t) { type_ = std::move(t); }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  void set_shape(Shape s) { type_.shape = std::move(s); }

  Node* producer() const { return producer_; }
  int producer_index() const { return producer_index_; }
  const std::vector<Use>& uses() const { return uses_; }
  bool has_uses() const { return !uses_.empty(); }
  Graph* owner() const { return owner_; }

  // Constant data: initializers and folded constants. Shape inference may also attach data to
  // small integer values it can compute (the output of Shape, say).
  bool is_constant() const { return constant_ != nullptr; }
  const Tensor* constant() const { return constant_.get(); }
  void set_constant(Tensor t) { constant_ = std::make_shared<Tensor>(std::move(t)); }
  void set_constant(std::shared_ptr<const Tensor> t) { constant_ = std::move(t); }
  void clear_constant() { constant_.reset(); }

  // Element values of a small 1-D integer tensor known symbolically (Shape(x) gives [batch,3,..]).
  const std::optional<std::vector<Dim>>& sym_data() const { return sym_data_; }
  void set_sym_data(std::optional<std::vector<Dim>> d) { sym_data_ = std::move(d); }

  bool is_graph_input() const;
  bool is_graph_output() const;
  // Points every use of this value to `other` (including uses as graph outputs).
  void replace_all_uses_with(Value* other);

 private:
  friend class Graph;
  friend class Node;
  std::string name_;
  Type type_;
  Node* producer_ = nullptr;
  int producer_index_ = -1;
  std::vector<Use> uses_;
  Graph* owner_ = nullptr;
  std::shared_ptr<const Tensor> constant_;
  std::optional<std::vector<Dim>> sym_data_;
};

class Node {
 public:
  OpKind kind() const { return kind_; }
  const std::string& op_type() const { return op_type_; }
  const std::string& domain() const { return domain_; }
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  Graph* owner() const { return owner_; }
  // The opset version of this node's domain in the enclosing model (0 if none is declared).
  int64_t opset() const;
  // "node 'conv1' (Conv)": the prefix of every diagnostic about a node.
  std::string describe() const;

  size_t num_inputs() const { return inputs_.size(); }
  // nullptr when the input is absent: past the end, or an empty name in the file.
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  const std::vector<Value*>& inputs() const { return inputs_; }
  void set_input(size_t i, Value* v);
  void add_input(Value* v);
  void set_inputs(std::vector<Value*> vs);

  size_t num_outputs() const { return outputs_.size(); }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  const std::vector<Value*>& outputs() const { return outputs_; }

  const std::vector<std::pair<std::string, Attribute>>& attrs() const { return attrs_; }
  const Attribute* find_attr(std::string_view name) const;
  bool has_attr(std::string_view name) const { return find_attr(name) != nullptr; }
  void set_attr(std::string name, Attribute a);
  void remove_attr(std::string_view name);
  // Typed accessors. Without a default a missing attribute is an Error naming node and
  // attribute; a present one of the wrong kind is always an Error.
  int64_t attr_int(std::string_view name, std::optional<int64_t> dflt = std::nullopt) const;
  float attr_float(std::string_view name, std::optional<float> dflt = std::nullopt) const;
  std::string attr_string(std::string_view name,
                          std::optional<std::string> dflt = std::nullopt) const;
  std::vector<int64_t> attr_ints(std::string_view name,
                                 std::optional<std::vector<int64_t>> dflt = std::nullopt) const;
  std::vector<float> attr_floats(std::string_view name,
                                 std::optional<std::vector<float>> dflt = std::nullopt) const;
  std::vector<std::string> attr_strings(
      std::string_view name, std::optional<std::vector<std::string>> dflt = std::nullopt) const;
  const Tensor& attr_tensor(std::string_view name) const;
  Graph* attr_graph(std::string_view name) const;
  // Every subgraph held by this node's attributes.
  std::vector<Graph*> subgraphs() const;

 private:
  friend class Graph;
  const Attribute& attr_of_kind(std::string_view name, AttrKind kind) const;
  OpKind kind_ = OpKind::Unknown;
  std::string op_type_;
  std::string domain_;
  std::string name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<std::pair<std::string, Attribute>> attrs_;
  Graph* owner_ = nullptr;
  std::list<std::unique_ptr<Node>>::iterator self_;
};

class Graph {
 public:
  using NodeList = std::list<std::unique_ptr<Node>>;

  explicit Graph(std::string name = "main");
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  Model* model() const;
  void set_model(Model* m) { model_ = m; }
  // For subgraphs: the node holding this graph as an attribute (nullptr for the main graph).
  Node* parent_node() const { return parent_node_; }
  Graph* parent_graph() const;
  void set_parent_node(Node* n) { parent_node_ = n; }

  // --- values
  Value* add_value(std::string name, Type type = {});
  Value* add_constant(std::string name, Tensor data);
  Value* add_input(std::string name, Type type);
  void add_output(Value* v) { outputs_.push_back(v); }
  const std::vector<Value*>& inputs() const { return inputs_; }
  const std::vector<Value*>& outputs() const { return outputs_; }
  void set_inputs(std::vector<Value*> vs) { inputs_ = std::move(vs); }
  void set_output(size_t i, Value* v) { outputs_.at(i) = v; }
  void set_outputs(std::vector<Value*> vs) { outputs_ = std::move(vs); }
  // Values created in this graph (inputs, constants, node outputs), in creation order.
  std::vector<Value*> values() const;
  // A value named `name` created in this graph (not enclosing ones), or nullptr.
  Value* find_value(std::string_view name) const;
  // A name not yet used in this graph or any graph enclosing it, starting with `prefix`.
  std::string unique_name(std::string_view prefix);
  // Deletes values of this graph that nothing produces, uses or lists (keeps inputs and outputs).
  void remove_dead_values();

  // --- nodes
  // Appends a node; creates `num_outputs` fresh values named after the node if `outputs` is empty.
  Node* add_node(OpKind kind, std::vector<Value*> inputs, std::vector<Value*> outputs,
                 std::string name = "");
  Node* add_node(std::string domain, std::string op_type, std::vector<Value*> inputs,
                 std::vector<Value*> outputs, std::string name = "");
  // Creates a node with fresh output values and inserts it before `pos` (nullptr: at the end).
  Node* create_node(OpKind kind, std::vector<Value*> inputs, size_t num_outputs, Node* pos,
                    std::string name = "");
  // Moves an existing node of this graph to just before `pos` (nullptr: to the end).
  void move_before(Node* n, Node* pos);
  // Removes a node. Its outputs must have no remaining uses; they stay as unproduced values
  // until remove_dead_values().
  void erase_node(Node* n);
  const NodeList& nodes() const { return nodes_; }
  size_t num_nodes() const { return nodes_.size(); }
  // Sorts nodes so that every node follows the producers of its inputs (and of values its
  // subgraphs read from this graph). Keeps the original order where it is free to. Throws an
  // Error naming a node on a cycle, or on an input nothing produces.
  void topo_sort();

 private:
  friend class Node;
  Node* insert_node(std::unique_ptr<Node> n, Node* pos);

  std::string name_;
  Model* model_ = nullptr;
  Node* parent_node_ = nullptr;
  NodeList nodes_;
  std::vector<std::unique_ptr<Value>> values_;
  std::unordered_map<std::string, Value*> by_name_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  int64_t name_counter_ = 0;
};

struct Model {
  int64_t ir_version = 8;
  std::map<std::string, int64_t> opsets;  // domain ("" is ai.onnx) -> version
  std::string producer_name;
  std::string producer_version;
  std::string domain;
  std::string doc_string;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::shared_ptr<Graph> graph;

  int64_t opset(const std::string& domain) const;
};

// Calls f(graph) for `g` and every subgraph nested in it, parents before children.
void walk_graphs(Graph& g, const std::function<void(Graph&)>& f);

}  // namespace eave
