#include "ir/graph.h"

#include <algorithm>
#include <functional>
#include <queue>
#include <unordered_set>

#include "support/error.h"

namespace eave {

namespace {

struct OpInfo {
  const char* name;
  const char* domain;
};

constexpr OpInfo kOps[] = {
    {"Unknown", ""},
#define EAVE_ONNX_OP(Name) {#Name, ""},
#define EAVE_ML_OP(Name) {#Name, "ai.onnx.ml"},
#define EAVE_TRAINING_OP(Name) {#Name, "ai.onnx.preview.training"},
#define EAVE_INTERNAL_OP(Name) {#Name, "eave"},
#include "ir/ops.def"
};
static_assert(std::size(kOps) == size_t(OpKind::NumKinds));

std::string_view canonical_domain(std::string_view d) { return d == "ai.onnx" ? "" : d; }

}  // namespace

const char* op_kind_name(OpKind k) { return kOps[size_t(k)].name; }
const char* op_kind_domain(OpKind k) { return kOps[size_t(k)].domain; }

OpKind op_kind_from(std::string_view domain, std::string_view op_type) {
  static const auto* table = [] {
    auto* m = new std::map<std::pair<std::string, std::string>, OpKind>();
    for (size_t i = 1; i < std::size(kOps); ++i) (*m)[{kOps[i].domain, kOps[i].name}] = OpKind(i);
    return m;
  }();
  auto it = table->find({std::string(canonical_domain(domain)), std::string(op_type)});
  return it == table->end() ? OpKind::Unknown : it->second;
}

// ---------------------------------------------------------------- Value

bool Value::is_graph_input() const {
  if (!owner_) return false;
  const auto& in = owner_->inputs();
  return std::find(in.begin(), in.end(), this) != in.end();
}

bool Value::is_graph_output() const {
  if (!owner_) return false;
  const auto& out = owner_->outputs();
  return std::find(out.begin(), out.end(), this) != out.end();
}

void Value::replace_all_uses_with(Value* other) {
  EAVE_ASSERT(other != this);
  std::vector<Use> uses = uses_;
  for (const Use& u : uses) u.node->set_input(size_t(u.index), other);
  if (owner_) {
    for (size_t i = 0; i < owner_->outputs().size(); ++i)
      if (owner_->outputs()[i] == this) owner_->set_output(i, other);
  }
}

// ---------------------------------------------------------------- Node

int64_t Node::opset() const {
  const Model* m = owner_ ? owner_->model() : nullptr;
  return m ? m->opset(domain_) : 0;
}

std::string Node::describe() const {
  std::string d = domain_.empty() ? op_type_ : domain_ + "." + op_type_;
  return "node '" + name_ + "' (" + d + ")";
}

void Node::set_input(size_t i, Value* v) {
  EAVE_ASSERT(i < inputs_.size());
  if (Value* old = inputs_[i]) {
    auto& u = old->uses_;
    for (auto it = u.begin(); it != u.end(); ++it) {
      if (it->node == this && it->index == int(i)) {
        u.erase(it);
        break;
      }
    }
  }
  inputs_[i] = v;
  if (v) v->uses_.push_back({this, int(i)});
}

void Node::add_input(Value* v) {
  inputs_.push_back(nullptr);
  set_input(inputs_.size() - 1, v);
}

void Node::set_inputs(std::vector<Value*> vs) {
  for (size_t i = 0; i < inputs_.size(); ++i) set_input(i, nullptr);
  inputs_.clear();
  for (Value* v : vs) add_input(v);
}

const Attribute* Node::find_attr(std::string_view name) const {
  for (const auto& [n, a] : attrs_)
    if (n == name) return &a;
  return nullptr;
}

void Node::set_attr(std::string name, Attribute a) {
  for (auto& [n, old] : attrs_) {
    if (n == name) {
      old = std::move(a);
      return;
    }
  }
  attrs_.emplace_back(std::move(name), std::move(a));
}

void Node::remove_attr(std::string_view name) {
  std::erase_if(attrs_, [&](const auto& p) { return p.first == name; });
}

const Attribute& Node::attr_of_kind(std::string_view name, AttrKind kind) const {
  const Attribute* a = find_attr(name);
  EAVE_CHECK(a, describe(), ": missing required attribute '", name, "'");
  EAVE_CHECK(a->kind == kind, describe(), ": attribute '", name, "' should be ",
             attr_kind_name(kind), " but is ", attr_kind_name(a->kind));
  return *a;
}

int64_t Node::attr_int(std::string_view name, std::optional<int64_t> dflt) const {
  if (dflt && !has_attr(name)) return *dflt;
  return attr_of_kind(name, AttrKind::Int).i;
}

float Node::attr_float(std::string_view name, std::optional<float> dflt) const {
  if (dflt && !has_attr(name)) return *dflt;
  const Attribute* a = find_attr(name);
  // Some exporters write integer-valued float attributes as ints.
  if (a && a->kind == AttrKind::Int) return float(a->i);
  return attr_of_kind(name, AttrKind::Float).f;
}

std::string Node::attr_string(std::string_view name, std::optional<std::string> dflt) const {
  if (dflt && !has_attr(name)) return *dflt;
  return attr_of_kind(name, AttrKind::String).s;
}

std::vector<int64_t> Node::attr_ints(std::string_view name,
                                     std::optional<std::vector<int64_t>> dflt) const {
  if (dflt && !has_attr(name)) return *dflt;
  return attr_of_kind(name, AttrKind::Ints).ints;
}

std::vector<float> Node::attr_floats(std::string_view name,
                                     std::optional<std::vector<float>> dflt) const {
  if (dflt && !has_attr(name)) return *dflt;
  return attr_of_kind(name, AttrKind::Floats).floats;
}

std::vector<std::string> Node::attr_strings(std::string_view name,
                                            std::optional<std::vector<std::string>> dflt) const {
  if (dflt && !has_attr(name)) return *dflt;
  return attr_of_kind(name, AttrKind::Strings).strings;
}

const Tensor& Node::attr_tensor(std::string_view name) const {
  return attr_of_kind(name, AttrKind::Tensor).t;
}

Graph* Node::attr_graph(std::string_view name) const {
  return attr_of_kind(name, AttrKind::Graph).g.get();
}

std::vector<Graph*> Node::subgraphs() const {
  std::vector<Graph*> out;
  for (const auto& [n, a] : attrs_) {
    if (a.kind == AttrKind::Graph && a.g) out.push_back(a.g.get());
    if (a.kind == AttrKind::Graphs)
      for (const auto& g : a.graphs)
        if (g) out.push_back(g.get());
  }
  return out;
}

// ---------------------------------------------------------------- Graph

Graph::Graph(std::string name) : name_(std::move(name)) {}

Graph::~Graph() {
  // Drop uses first so that destroying nodes never touches freed values of another graph.
  for (auto& n : nodes_)
    for (size_t i = 0; i < n->inputs_.size(); ++i) n->set_input(i, nullptr);
  // Subgraphs die with their nodes and unregister uses of this graph's values: keep the values
  // alive until then.
  nodes_.clear();
}

Model* Graph::model() const {
  if (model_) return model_;
  Graph* p = parent_graph();
  return p ? p->model() : nullptr;
}

Graph* Graph::parent_graph() const { return parent_node_ ? parent_node_->owner() : nullptr; }

Value* Graph::add_value(std::string name, Type type) {
  auto v = std::make_unique<Value>();
  v->name_ = std::move(name);
  v->type_ = std::move(type);
  v->owner_ = this;
  Value* raw = v.get();
  if (!raw->name_.empty()) by_name_[raw->name_] = raw;
  values_.push_back(std::move(v));
  return raw;
}

Value* Graph::add_constant(std::string name, Tensor data) {
  Type t = Type::tensor(data.dtype(), Shape::from_ints(data.dims()));
  Value* v = add_value(std::move(name), std::move(t));
  v->set_constant(std::move(data));
  return v;
}

Value* Graph::add_input(std::string name, Type type) {
  Value* v = add_value(std::move(name), std::move(type));
  inputs_.push_back(v);
  return v;
}

std::vector<Value*> Graph::values() const {
  std::vector<Value*> out;
  out.reserve(values_.size());
  for (const auto& v : values_) out.push_back(v.get());
  return out;
}

Value* Graph::find_value(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : it->second;
}

std::string Graph::unique_name(std::string_view prefix) {
  auto taken = [&](const std::string& n) {
    for (const Graph* g = this; g; g = g->parent_graph())
      if (g->find_value(n)) return true;
    return false;
  };
  std::string base(prefix);
  if (!base.empty() && !taken(base)) return base;
  for (;;) {
    std::string n = base + "_" + std::to_string(name_counter_++);
    if (!taken(n)) return n;
  }
}

void Graph::remove_dead_values() {
  std::unordered_set<Value*> keep(inputs_.begin(), inputs_.end());
  keep.insert(outputs_.begin(), outputs_.end());
  std::erase_if(values_, [&](const std::unique_ptr<Value>& v) {
    bool dead = !v->producer_ && v->uses_.empty() && !keep.count(v.get());
    if (dead && !v->name_.empty()) {
      auto it = by_name_.find(v->name_);
      if (it != by_name_.end() && it->second == v.get()) by_name_.erase(it);
    }
    return dead;
  });
}

Node* Graph::insert_node(std::unique_ptr<Node> n, Node* pos) {
  n->owner_ = this;
  Node* raw = n.get();
  auto where = pos ? pos->self_ : nodes_.end();
  EAVE_ASSERT(!pos || pos->owner_ == this);
  raw->self_ = nodes_.insert(where, std::move(n));
  for (Graph* g : raw->subgraphs()) g->set_parent_node(raw);
  return raw;
}

Node* Graph::add_node(OpKind kind, std::vector<Value*> inputs, std::vector<Value*> outputs,
                      std::string name) {
  return add_node(op_kind_domain(kind), op_kind_name(kind), std::move(inputs),
                  std::move(outputs), std::move(name));
}

Node* Graph::add_node(std::string domain, std::string op_type, std::vector<Value*> inputs,
                      std::vector<Value*> outputs, std::string name) {
  auto n = std::make_unique<Node>();
  if (domain == "ai.onnx") domain.clear();
  n->kind_ = op_kind_from(domain, op_type);
  n->domain_ = std::move(domain);
  n->op_type_ = std::move(op_type);
  n->name_ = std::move(name);
  Node* raw = insert_node(std::move(n), nullptr);
  for (Value* v : inputs) raw->add_input(v);
  for (size_t i = 0; i < outputs.size(); ++i) {
    Value* v = outputs[i];
    if (v) {
      EAVE_ASSERT(v->owner_ == this);
      EAVE_CHECK(!v->producer_, raw->describe(), ": output '", v->name(),
                 "' is already produced by ", v->producer_->describe());
      v->producer_ = raw;
      v->producer_index_ = int(i);
    }
    raw->outputs_.push_back(v);
  }
  return raw;
}

Node* Graph::create_node(OpKind kind, std::vector<Value*> inputs, size_t num_outputs, Node* pos,
                         std::string name) {
  if (name.empty()) name = unique_name(op_kind_name(kind));
  std::vector<Value*> outs;
  for (size_t i = 0; i < num_outputs; ++i)
    outs.push_back(add_value(unique_name(name + "_out" + (i ? std::to_string(i) : ""))));
  Node* n = add_node(kind, std::move(inputs), std::move(outs), std::move(name));
  if (pos) move_before(n, pos);
  return n;
}

void Graph::move_before(Node* n, Node* pos) {
  EAVE_ASSERT(n->owner_ == this && (!pos || pos->owner_ == this));
  auto where = pos ? pos->self_ : nodes_.end();
  nodes_.splice(where, nodes_, n->self_);
}

void Graph::erase_node(Node* n) {
  EAVE_ASSERT(n->owner_ == this);
  for (Value* out : n->outputs_) {
    if (!out) continue;
    EAVE_ASSERT(out->uses_.empty());
    out->producer_ = nullptr;
    out->producer_index_ = -1;
  }
  for (size_t i = 0; i < n->inputs_.size(); ++i) n->set_input(i, nullptr);
  nodes_.erase(n->self_);
}

namespace {

// Values of graph `g` that node `n` reads, directly or from inside its subgraphs.
void reads_from(const Node& n, const Graph& g, std::vector<Value*>& out) {
  for (Value* v : n.inputs())
    if (v && v->owner() == &g) out.push_back(v);
  for (Graph* sub : n.subgraphs()) {
    for (const auto& inner : sub->nodes()) reads_from(*inner, g, out);
    for (Value* v : sub->outputs())
      if (v && v->owner() == &g) out.push_back(v);
  }
}

}  // namespace

void Graph::topo_sort() {
  std::vector<Node*> order;
  std::unordered_map<Node*, size_t> index;
  for (auto& n : nodes_) {
    index[n.get()] = order.size();
    order.push_back(n.get());
  }
  std::vector<std::vector<size_t>> consumers(order.size());
  std::vector<size_t> pending(order.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) {
    std::vector<Value*> reads;
    reads_from(*order[i], *this, reads);
    std::unordered_set<Node*> seen;
    for (Value* v : reads) {
      Node* p = v->producer();
      if (!p) continue;
      EAVE_ASSERT(p->owner_ == this);
      if (!seen.insert(p).second) continue;
      consumers[index[p]].push_back(i);
      ++pending[i];
    }
  }
  std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
  for (size_t i = 0; i < order.size(); ++i)
    if (pending[i] == 0) ready.push(i);
  std::vector<size_t> sorted;
  while (!ready.empty()) {
    size_t i = ready.top();
    ready.pop();
    sorted.push_back(i);
    for (size_t c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (sorted.size() != order.size()) {
    for (size_t i = 0; i < order.size(); ++i)
      if (pending[i]) fail("graph '", name_, "' has a cycle through ", order[i]->describe());
  }
  for (size_t i : sorted) move_before(order[i], nullptr);
}

int64_t Model::opset(const std::string& d) const {
  auto it = opsets.find(d == "ai.onnx" ? "" : d);
  return it == opsets.end() ? 0 : it->second;
}

void walk_graphs(Graph& g, const std::function<void(Graph&)>& f) {
  f(g);
  for (const auto& n : g.nodes())
    for (Graph* sub : n->subgraphs()) walk_graphs(*sub, f);
}

}  // namespace eave
