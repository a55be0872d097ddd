#include "import/onnx_importer.h"

#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "import/onnx_shape_fallback.h"
#include "import/onnx_tensor.h"
#include "ir/shape_inference.h"
#include "support/error.h"
#include "support/mapped_file.h"

namespace eave {

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 10;
constexpr int64_t kMaxOpset = 21;

// ---------------------------------------------------------------- functions

using FunctionMap = std::map<std::pair<std::string, std::string>, const onnx::FunctionProto*>;

std::string canonical_domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }

// Expands calls of model-local functions into their bodies, renaming the function's internal
// values so they cannot clash with the caller's, and substituting attribute references.
class FunctionInliner {
 public:
  explicit FunctionInliner(const FunctionMap& fns) : fns_(fns) {}

  void expand(const onnx::NodeProto& n, std::vector<onnx::NodeProto>& out, int depth = 0) {
    auto it = fns_.find({canonical_domain(n.domain()), n.op_type()});
    if (it == fns_.end()) {
      out.push_back(n);
      return;
    }
    EAVE_CHECK(depth < 64, "node '", n.name(), "' (", n.op_type(),
               "): model-local functions call each other recursively");
    const onnx::FunctionProto& f = *it->second;
    std::string prefix = "__" + f.name() + "_" + std::to_string(counter_++) + "_";
    std::unordered_map<std::string, std::string> rename;
    for (int i = 0; i < f.input_size(); ++i)
      rename[f.input(i)] = i < n.input_size() ? n.input(i) : "";
    for (int i = 0; i < f.output_size(); ++i)
      rename[f.output(i)] = i < n.output_size() ? n.output(i) : "";
    std::unordered_map<std::string, const onnx::AttributeProto*> attrs;
    for (const auto& a : n.attribute()) attrs[a.name()] = &a;
    auto map_name = [&](const std::string& s) -> std::string {
      if (s.empty()) return s;
      auto r = rename.find(s);
      return r != rename.end() ? r->second : prefix + s;
    };
    for (const auto& body : f.node()) {
      onnx::NodeProto copy = body;
      for (auto& s : *copy.mutable_input()) s = map_name(s);
      for (auto& s : *copy.mutable_output()) s = map_name(s);
      copy.set_name(n.name() + "/" + body.name());
      copy.clear_attribute();
      for (const auto& a : body.attribute()) {
        if (a.ref_attr_name().empty()) {
          *copy.add_attribute() = a;
          continue;
        }
        // ONNX 1.12's FunctionProto has no attribute defaults: an unset reference stays unset.
        auto x = attrs.find(a.ref_attr_name());
        if (x == attrs.end()) continue;
        const onnx::AttributeProto* src = x->second;
        onnx::AttributeProto* dst = copy.add_attribute();
        *dst = *src;
        dst->set_name(a.name());
      }
      expand(copy, out, depth + 1);
    }
  }

 private:
  const FunctionMap& fns_;
  int64_t counter_ = 0;
};

// ---------------------------------------------------------------- graphs

bool known_domain(const std::string& d) {
  // "eave": the compiler's own ops, in models eave exported (optimized models, test clones).
  return d.empty() || d == "ai.onnx" || d == "ai.onnx.ml" || d == "ai.onnx.preview.training" ||
         d == "eave";
}

class Importer {
 public:
  Importer(std::string base_dir, const ImportOptions& opts, const FunctionMap& fns)
      : tensors_(std::move(base_dir), opts.load_external_data), inliner_(fns) {}

  struct Scope {
    Graph* graph;
    const Scope* parent;
    Value* lookup(const std::string& name) const {
      for (const Scope* s = this; s; s = s->parent)
        if (Value* v = s->graph->find_value(name)) return v;
      return nullptr;
    }
  };

  void import_graph(const onnx::GraphProto& gp, Graph& g, const Scope* parent) {
    Scope scope{&g, parent};
    std::string where = "graph '" + gp.name() + "'";
    for (const auto& init : gp.initializer()) {
      EAVE_CHECK(!init.name().empty(), where, ": an initializer has no name");
      EAVE_CHECK(!g.find_value(init.name()), where, ": initializer '", init.name(),
                 "' is defined twice");
      g.add_constant(init.name(), tensors_.from_proto(init, "initializer '" + init.name() + "'"));
    }
    for (const auto& sp : gp.sparse_initializer()) {
      std::string name = sp.values().name();
      EAVE_CHECK(!name.empty(), where, ": a sparse initializer has no name");
      g.add_constant(name, tensors_.from_sparse_proto(sp, "sparse initializer '" + name + "'"));
    }
    for (const auto& in : gp.input()) {
      if (g.find_value(in.name())) continue;  // an initializer listed as input (IR < 4 style)
      EAVE_CHECK(!in.name().empty(), where, ": a graph input has no name");
      g.add_input(in.name(), type_from_proto(in.type(), "input '" + in.name() + "'"));
    }

    std::vector<onnx::NodeProto> nodes;
    for (const auto& n : gp.node()) inliner_.expand(n, nodes);

    // Define every output first: nodes may come in any order, and subgraphs may read values
    // that nodes later in the list produce.
    std::vector<std::vector<Value*>> outputs(nodes.size());
    for (size_t k = 0; k < nodes.size(); ++k) {
      const auto& n = nodes[k];
      if (n.op_type() == "Constant" && known_domain(n.domain())) continue;
      for (const auto& name : n.output()) {
        if (name.empty()) {
          outputs[k].push_back(nullptr);
          continue;
        }
        EAVE_CHECK(!g.find_value(name), "node '", n.name(), "' (", n.op_type(), "): output '",
                   name, "' is already defined in ", where);
        outputs[k].push_back(g.add_value(name));
      }
    }
    for (size_t k = 0; k < nodes.size(); ++k) {
      const auto& n = nodes[k];
      if (n.op_type() == "Constant" && known_domain(n.domain())) import_constant_node(n, g);
    }
    for (size_t k = 0; k < nodes.size(); ++k) {
      const auto& n = nodes[k];
      if (n.op_type() == "Constant" && known_domain(n.domain())) continue;
      import_node(n, g, scope, outputs[k]);
    }
    for (const auto& out : gp.output()) {
      Value* v = scope.lookup(out.name());
      EAVE_CHECK(v, where, ": output '", out.name(),
                 "' is not produced by any node, graph input or initializer");
      Type t = type_from_proto(out.type(), "output '" + out.name() + "'");
      if (t.known() && !v->type().known()) v->set_type(std::move(t));
      g.add_output(v);
    }
    for (const auto& vi : gp.value_info()) {
      Value* v = g.find_value(vi.name());
      if (!v || v->type().known()) continue;
      v->set_type(type_from_proto(vi.type(), "value_info '" + vi.name() + "'"));
    }
    g.topo_sort();
  }

 private:
  void import_constant_node(const onnx::NodeProto& n, Graph& g) {
    std::string what = "node '" + n.name() + "' (Constant)";
    EAVE_CHECK(n.output_size() == 1 && !n.output(0).empty(), what, ": needs exactly one output");
    EAVE_CHECK(n.attribute_size() == 1, what, ": needs exactly one value attribute, has ",
               n.attribute_size());
    EAVE_CHECK(!g.find_value(n.output(0)), what, ": output '", n.output(0),
               "' is already defined");
    const auto& a = n.attribute(0);
    const std::string& an = a.name();
    Tensor t;
    if (an == "value") {
      t = tensors_.from_proto(a.t(), what);
    } else if (an == "sparse_value") {
      t = tensors_.from_sparse_proto(a.sparse_tensor(), what);
    } else if (an == "value_float") {
      t = Tensor::scalar(a.f());
    } else if (an == "value_floats") {
      t = Tensor::from_vector<float>({a.floats_size()}, {a.floats().begin(), a.floats().end()});
    } else if (an == "value_int") {
      t = Tensor::scalar<int64_t>(a.i());
    } else if (an == "value_ints") {
      t = Tensor::from_vector<int64_t>({a.ints_size()}, {a.ints().begin(), a.ints().end()});
    } else if (an == "value_string") {
      t = Tensor::scalar<std::string>(a.s());
    } else if (an == "value_strings") {
      t = Tensor::from_vector<std::string>({a.strings_size()},
                                           {a.strings().begin(), a.strings().end()});
    } else {
      fail(what, ": unknown value attribute '", an, "'");
    }
    Value* v = g.add_constant(n.output(0), std::move(t));
    (void)v;
  }

  Attribute attribute_from_proto(const onnx::AttributeProto& a, const std::string& what,
                                 Graph& g, const Scope& scope) {
    using AP = onnx::AttributeProto;
    AP::AttributeType type = a.type();
    if (type == AP::UNDEFINED) {
      // Files from IR version 1 leave the type out: infer it from the field that is set.
      if (a.has_f()) type = AP::FLOAT;
      else if (a.has_i()) type = AP::INT;
      else if (a.has_s()) type = AP::STRING;
      else if (a.has_t()) type = AP::TENSOR;
      else if (a.has_g()) type = AP::GRAPH;
      else if (a.floats_size()) type = AP::FLOATS;
      else if (a.ints_size()) type = AP::INTS;
      else if (a.strings_size()) type = AP::STRINGS;
      else if (a.tensors_size()) type = AP::TENSORS;
      else if (a.graphs_size()) type = AP::GRAPHS;
      else fail(what, ": attribute '", a.name(), "' has no type and no value");
    }
    std::string aw = what + ", attribute '" + a.name() + "'";
    switch (type) {
      case AP::FLOAT: return Attribute::of_float(a.f());
      case AP::INT: return Attribute::of_int(a.i());
      case AP::STRING: return Attribute::of_string(a.s());
      case AP::TENSOR: return Attribute::of_tensor(tensors_.from_proto(a.t(), aw));
      case AP::SPARSE_TENSOR:
        return Attribute::of_tensor(tensors_.from_sparse_proto(a.sparse_tensor(), aw));
      case AP::GRAPH: return Attribute::of_graph(import_subgraph(a.g(), scope, aw));
      case AP::FLOATS: return Attribute::of_floats({a.floats().begin(), a.floats().end()});
      case AP::INTS: return Attribute::of_ints({a.ints().begin(), a.ints().end()});
      case AP::STRINGS: return Attribute::of_strings({a.strings().begin(), a.strings().end()});
      case AP::TENSORS: {
        Attribute r;
        r.kind = AttrKind::Tensors;
        for (const auto& t : a.tensors()) r.tensors.push_back(tensors_.from_proto(t, aw));
        return r;
      }
      case AP::GRAPHS: {
        Attribute r;
        r.kind = AttrKind::Graphs;
        for (const auto& sg : a.graphs()) r.graphs.push_back(import_subgraph(sg, scope, aw));
        return r;
      }
      case AP::TYPE_PROTO: {
        Attribute r;
        r.kind = AttrKind::Type;
        r.type = type_from_proto(a.tp(), aw);
        return r;
      }
      case AP::TYPE_PROTOS: {
        Attribute r;
        r.kind = AttrKind::Types;
        for (const auto& t : a.type_protos()) r.types.push_back(type_from_proto(t, aw));
        return r;
      }
      default:
        fail(aw, ": attribute type ", int(type), " is not supported");
    }
  }

  std::shared_ptr<Graph> import_subgraph(const onnx::GraphProto& gp, const Scope& scope,
                                         const std::string& what) {
    auto sub = std::make_shared<Graph>(gp.name().empty() ? "body" : gp.name());
    // The parent node is set once the node exists; until then lookups go through `scope`.
    import_graph(gp, *sub, &scope);
    return sub;
  }

  void import_node(const onnx::NodeProto& n, Graph& g, const Scope& scope,
                   const std::vector<Value*>& outputs) {
    std::string domain = canonical_domain(n.domain());
    std::string what = "node '" + n.name() + "' (" + (domain.empty() ? "" : domain + ".") +
                       n.op_type() + ")";
    if (!known_domain(domain)) {
      fail(what, ": custom domain '", domain, "' is not supported (op '", n.op_type(),
           "'); only ai.onnx, ai.onnx.ml and model-local functions are");
    }
    OpKind kind = op_kind_from(domain, n.op_type());
    if (kind == OpKind::Unknown)
      fail(what, ": unknown op '", n.op_type(), "' in domain ",
           domain.empty() ? "ai.onnx" : domain);
    std::vector<Value*> inputs;
    for (const auto& in : n.input()) {
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      Value* v = scope.lookup(in);
      EAVE_CHECK(v, what, ": input '", in,
                 "' is not produced by any node, graph input or initializer");
      inputs.push_back(v);
    }
    Node* node = g.add_node(domain, n.op_type(), std::move(inputs), outputs, n.name());
    for (const auto& a : n.attribute()) {
      EAVE_CHECK(a.ref_attr_name().empty(), what, ": attribute '", a.name(),
                 "' refers to a function attribute outside a function");
      node->set_attr(a.name(), attribute_from_proto(a, what, g, scope));
    }
    for (Graph* sub : node->subgraphs()) sub->set_parent_node(node);
  }

  OnnxTensorReader tensors_;
  FunctionInliner inliner_;
};

std::unique_ptr<Model> import_model_proto(const onnx::ModelProto& mp, const std::string& base_dir,
                                          const ImportOptions& opts, const std::string& what) {
  EAVE_CHECK(mp.has_graph(), what, ": not an ONNX model (no graph)");
  EAVE_CHECK(mp.ir_version() > 0, what, ": not an ONNX model (no IR version)");
  if (mp.ir_version() < kMinIrVersion || mp.ir_version() > kMaxIrVersion)
    fail(what, ": IR version ", mp.ir_version(), " is not supported (eave reads ", kMinIrVersion,
         " to ", kMaxIrVersion, ")");
  auto model = std::make_unique<Model>();
  model->ir_version = mp.ir_version();
  for (const auto& o : mp.opset_import()) {
    std::string d = canonical_domain(o.domain());
    if (d.empty() && (o.version() < 1 || o.version() > kMaxOpset))
      fail(what, ": unsupported opset ", o.version(), " for domain ai.onnx (eave supports 1 to ",
           kMaxOpset, ")");
    model->opsets[d] = o.version();
  }
  if (mp.opset_import_size() == 0) model->opsets[""] = 1;  // IR version 3 default
  model->producer_name = mp.producer_name();
  model->producer_version = mp.producer_version();
  model->domain = mp.domain();
  model->doc_string = mp.doc_string();
  model->model_version = mp.model_version();
  for (const auto& kv : mp.metadata_props()) model->metadata.emplace_back(kv.key(), kv.value());

  FunctionMap fns;
  for (const auto& f : mp.functions()) fns[{canonical_domain(f.domain()), f.name()}] = &f;

  model->graph = std::make_shared<Graph>(mp.graph().name().empty() ? "main" : mp.graph().name());
  model->graph->set_model(model.get());
  Importer imp(base_dir, opts, fns);
  imp.import_graph(mp.graph(), *model->graph, nullptr);
  if (opts.infer_shapes) {
    InferOptions io;
    io.fallback = onnx_infer_node;
    infer_shapes(*model->graph, io);
  }
  return model;
}

// ---------------------------------------------------------------- export

class Exporter {
 public:
  void graph_to_proto(const Graph& g, onnx::GraphProto* gp) {
    gp->set_name(g.name());
    for (const Value* v : g.inputs()) value_info(v, gp->add_input());
    for (const Value* v : g.values()) {
      if (!v->is_constant() || v->producer() || v->is_graph_input()) continue;
      tensor_to_proto(*v->constant(), v->name(), gp->add_initializer());
    }
    for (const auto& n : g.nodes()) {
      onnx::NodeProto* np = gp->add_node();
      np->set_name(n->name());
      np->set_op_type(n->op_type());
      if (!n->domain().empty()) np->set_domain(n->domain());
      for (const Value* v : n->inputs()) np->add_input(v ? v->name() : "");
      for (const Value* v : n->outputs()) np->add_output(v ? v->name() : "");
      for (const auto& [name, a] : n->attrs()) attr_to_proto(name, a, np->add_attribute());
      for (const Value* v : n->outputs())
        if (v && v->type().known() && !v->is_graph_output()) value_info(v, gp->add_value_info());
    }
    for (const Value* v : g.outputs()) value_info(v, gp->add_output());
  }

 private:
  void value_info(const Value* v, onnx::ValueInfoProto* vi) {
    vi->set_name(v->name());
    if (v->type().known()) type_to_proto(v->type(), vi->mutable_type());
  }

  void attr_to_proto(const std::string& name, const Attribute& a, onnx::AttributeProto* ap) {
    using AP = onnx::AttributeProto;
    ap->set_name(name);
    switch (a.kind) {
      case AttrKind::Float: ap->set_type(AP::FLOAT); ap->set_f(a.f); break;
      case AttrKind::Int: ap->set_type(AP::INT); ap->set_i(a.i); break;
      case AttrKind::String: ap->set_type(AP::STRING); ap->set_s(a.s); break;
      case AttrKind::Tensor: ap->set_type(AP::TENSOR); tensor_to_proto(a.t, "", ap->mutable_t()); break;
      case AttrKind::Graph: ap->set_type(AP::GRAPH); graph_to_proto(*a.g, ap->mutable_g()); break;
      case AttrKind::Type: ap->set_type(AP::TYPE_PROTO); type_to_proto(a.type, ap->mutable_tp()); break;
      case AttrKind::Floats:
        ap->set_type(AP::FLOATS);
        for (float f : a.floats) ap->add_floats(f);
        break;
      case AttrKind::Ints:
        ap->set_type(AP::INTS);
        for (int64_t i : a.ints) ap->add_ints(i);
        break;
      case AttrKind::Strings:
        ap->set_type(AP::STRINGS);
        for (const auto& s : a.strings) ap->add_strings(s);
        break;
      case AttrKind::Tensors:
        ap->set_type(AP::TENSORS);
        for (const auto& t : a.tensors) tensor_to_proto(t, "", ap->add_tensors());
        break;
      case AttrKind::Graphs:
        ap->set_type(AP::GRAPHS);
        for (const auto& g : a.graphs) graph_to_proto(*g, ap->add_graphs());
        break;
      case AttrKind::Types:
        ap->set_type(AP::TYPE_PROTOS);
        for (const auto& t : a.types) type_to_proto(t, ap->add_type_protos());
        break;
    }
  }
};

onnx::ModelProto model_to_proto(const Model& m) {
  onnx::ModelProto mp;
  mp.set_ir_version(m.ir_version);
  std::map<std::string, int64_t> opsets = m.opsets;
  walk_graphs(*m.graph, [&](Graph& g) {
    for (const auto& n : g.nodes())
      if (n->domain() == "eave") opsets.emplace("eave", 1);
  });
  for (const auto& [d, v] : opsets) {
    auto* o = mp.add_opset_import();
    o->set_domain(d);
    o->set_version(v);
  }
  mp.set_producer_name(m.producer_name.empty() ? "eave" : m.producer_name);
  mp.set_producer_version(m.producer_version);
  mp.set_domain(m.domain);
  mp.set_doc_string(m.doc_string);
  mp.set_model_version(m.model_version);
  for (const auto& [k, v] : m.metadata) {
    auto* p = mp.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  }
  Exporter().graph_to_proto(*m.graph, mp.mutable_graph());
  return mp;
}

}  // namespace

std::unique_ptr<Model> import_onnx_bytes(std::string_view bytes, const std::string& base_dir,
                                         const ImportOptions& opts) {
  onnx::ModelProto mp;
  parse_proto(mp, bytes.data(), bytes.size(), "model");
  return import_model_proto(mp, base_dir, opts, "model");
}

std::unique_ptr<Model> import_onnx_file(const std::string& path, const ImportOptions& opts) {
  auto file = MappedFile::open(path);
  onnx::ModelProto mp;
  parse_proto(mp, file->data(), file->size(), "'" + path + "'");
  std::string dir = std::filesystem::path(path).parent_path().string();
  return import_model_proto(mp, dir.empty() ? "." : dir, opts, "'" + path + "'");
}

std::string export_onnx_bytes(const Model& m) {
  onnx::ModelProto mp = model_to_proto(m);
  std::string out;
  EAVE_CHECK(mp.SerializeToString(&out),
             "cannot serialize the model (over protobuf's 2 GB limit?)");
  return out;
}

void export_onnx_file(const Model& m, const std::string& path) {
  onnx::ModelProto mp = model_to_proto(m);
  if (mp.ByteSizeLong() > size_t(INT_MAX) - 1024) {
    // Too large for one protobuf: move every large tensor into one external data file.
    std::string data_name = std::filesystem::path(path).filename().string() + ".data";
    std::string data;
    std::function<void(onnx::GraphProto*)> externalize = [&](onnx::GraphProto* gp) {
      for (auto& t : *gp->mutable_initializer()) move_to_external(t, data_name, data);
      for (auto& n : *gp->mutable_node())
        for (auto& a : *n.mutable_attribute()) {
          if (a.has_g()) externalize(a.mutable_g());
          for (auto& sg : *a.mutable_graphs()) externalize(&sg);
        }
    };
    externalize(mp.mutable_graph());
    std::string dir = std::filesystem::path(path).parent_path().string();
    write_file((dir.empty() ? "" : dir + "/") + data_name, data);
  }
  std::string out;
  EAVE_CHECK(mp.SerializeToString(&out), "cannot serialize the model to '", path, "'");
  write_file(path, out);
}

ValueData read_onnx_value_file(const std::string& path, const Type& expected) {
  std::string bytes = read_file(path);
  std::string dir = std::filesystem::path(path).parent_path().string();
  return value_data_from_bytes(bytes, expected, dir, "'" + path + "'");
}

std::string read_onnx_value_name(const std::string& path) {
  std::string bytes = read_file(path);
  return value_name_from_bytes(bytes);
}

}  // namespace eave
