#include "import/onnx_shape_fallback.h"

#include <map>

#include "import/onnx_tensor.h"
#include "onnx/defs/schema.h"
#include "onnx/defs/shape_inference.h"
#include "support/error.h"

namespace eave {

namespace {

bool attr_to_proto(const std::string& name, const Attribute& a, onnx::AttributeProto* p) {
  using AP = onnx::AttributeProto;
  p->set_name(name);
  switch (a.kind) {
    case AttrKind::Float: p->set_type(AP::FLOAT); p->set_f(a.f); return true;
    case AttrKind::Int: p->set_type(AP::INT); p->set_i(a.i); return true;
    case AttrKind::String: p->set_type(AP::STRING); p->set_s(a.s); return true;
    case AttrKind::Tensor: p->set_type(AP::TENSOR); tensor_to_proto(a.t, "", p->mutable_t()); return true;
    case AttrKind::Floats:
      p->set_type(AP::FLOATS);
      for (float f : a.floats) p->add_floats(f);
      return true;
    case AttrKind::Ints:
      p->set_type(AP::INTS);
      for (int64_t i : a.ints) p->add_ints(i);
      return true;
    case AttrKind::Strings:
      p->set_type(AP::STRINGS);
      for (const auto& s : a.strings) p->add_strings(s);
      return true;
    case AttrKind::Type: p->set_type(AP::TYPE_PROTO); type_to_proto(a.type, p->mutable_tp()); return true;
    default: return false;  // graphs and lists of them: ops with subgraphs have eave rules
  }
}

class Context : public onnx::InferenceContext {
 public:
  explicit Context(Node& n) : n_(n) {
    for (const auto& [name, a] : n.attrs()) {
      onnx::AttributeProto p;
      if (attr_to_proto(name, a, &p)) attrs_[name] = std::move(p);
    }
    for (size_t i = 0; i < n.num_inputs(); ++i) {
      Value* v = n.input(i);
      in_types_.emplace_back();
      in_data_.emplace_back();
      in_sym_.emplace_back();
      if (!v) continue;
      if (v->type().known()) {
        type_to_proto(v->type(), &in_types_.back());
        remember_dims(v->type());
      }
      if (const Tensor* t = v->constant(); t && t->numel() <= 4096) tensor_to_proto(*t, "", &in_data_.back());
      if (v->sym_data()) {
        for (const Dim& d : *v->sym_data()) {
          auto* dp = in_sym_.back().add_dim();
          if (d.is_const()) dp->set_dim_value(d.value());
          else {
            dp->set_dim_param(d.str());
            dims_by_name_.emplace(d.str(), d);
          }
        }
      }
    }
    out_types_.resize(n.num_outputs());
  }

  const onnx::AttributeProto* getAttribute(const std::string& name) const override {
    auto it = attrs_.find(name);
    return it == attrs_.end() ? nullptr : &it->second;
  }
  size_t getNumInputs() const override { return n_.num_inputs(); }
  const onnx::TypeProto* getInputType(size_t i) const override {
    if (i >= in_types_.size() || !n_.input(i) || !n_.input(i)->type().known()) return nullptr;
    return &in_types_[i];
  }
  const onnx::TensorProto* getInputData(size_t i) const override {
    if (i >= in_data_.size() || !n_.input(i) || !n_.input(i)->constant() ||
        n_.input(i)->constant()->numel() > 4096)
      return nullptr;
    return &in_data_[i];
  }
  size_t getNumOutputs() const override { return n_.num_outputs(); }
  onnx::TypeProto* getOutputType(size_t i) override { return &out_types_.at(i); }
  onnx::GraphInferencer* getGraphAttributeInferencer(const std::string&) override { return nullptr; }
  const onnx::SparseTensorProto* getInputSparseData(size_t) const override { return nullptr; }
  const onnx::TensorShapeProto* getSymbolicInput(size_t i) const override {
    if (i >= in_sym_.size() || !n_.input(i) || !n_.input(i)->sym_data()) return nullptr;
    return &in_sym_[i];
  }

  void apply() {
    for (size_t i = 0; i < out_types_.size(); ++i) {
      Value* v = n_.output(i);
      if (!v || out_types_[i].value_case() == onnx::TypeProto::VALUE_NOT_SET) continue;
      Type t = type_from_proto(out_types_[i], n_.describe());
      v->set_type(rename(t));
    }
  }

 private:
  void remember_dims(const Type& t) {
    if (t.kind == TypeKind::Tensor && t.shape.has_rank()) {
      for (const Dim& d : t.shape.dims())
        if (!d.is_const()) dims_by_name_.emplace(d.str(), d);
    } else if (t.elem) {
      remember_dims(*t.elem);
    }
  }

  // type_from_proto turned dim_param strings into plain symbols; map them back to the
  // expressions they were printed from.
  Type rename(Type t) {
    if (t.kind == TypeKind::Tensor && t.shape.has_rank()) {
      std::vector<Dim> dims = t.shape.dims();
      for (Dim& d : dims) {
        if (!d.is_symbol()) continue;
        auto it = dims_by_name_.find(d.symbol_name());
        if (it != dims_by_name_.end()) d = it->second;
      }
      t.shape = Shape(std::move(dims));
    } else if (t.elem) {
      t.elem = std::make_shared<Type>(rename(*t.elem));
    }
    return t;
  }

  Node& n_;
  std::map<std::string, onnx::AttributeProto> attrs_;
  std::vector<onnx::TypeProto> in_types_;
  std::vector<onnx::TensorProto> in_data_;
  std::vector<onnx::TensorShapeProto> in_sym_;
  std::vector<onnx::TypeProto> out_types_;
  std::map<std::string, Dim> dims_by_name_;
};

}  // namespace

bool onnx_infer_node(Node& n) {
  std::string domain = n.domain().empty() ? onnx::ONNX_DOMAIN : n.domain();
  int64_t version = n.opset();
  if (version <= 0) version = 1;
  const onnx::OpSchema* schema =
      onnx::OpSchemaRegistry::Schema(n.op_type(), int(version), domain);
  if (!schema || !schema->has_type_and_shape_inference_function()) return false;
  if (!n.subgraphs().empty()) return false;
  Context ctx(n);
  try {
    schema->GetTypeAndShapeInferenceFunction()(ctx);
  } catch (const onnx::InferenceError& e) {
    fail(n.describe(), ": ", e.what());
  }
  ctx.apply();
  return true;
}

}  // namespace eave
