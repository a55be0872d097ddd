#include "ir/printer.h"

#include <cstdio>
#include <sstream>

namespace eave {

namespace {

void print_graph_into(std::ostringstream& os, const Graph& g, const PrintOptions& opts,
                      int indent);

std::string value_ref(const Value* v) { return v ? "%" + v->name() : "<none>"; }

std::string float_str(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", f);
  return buf;
}

std::string tensor_values(const Tensor& t, const PrintOptions& opts) {
  if (t.numel() > opts.max_constant_elements) return "";
  std::string s = " = [";
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (i) s += ",";
    if (t.dtype() == DType::String)
      s += "\"" + t.strings()[size_t(i)] + "\"";
    else if (is_float(t.dtype()))
      s += float_str(t.as_double(i));
    else
      s += std::to_string(t.as_int(i));
  }
  return s + "]";
}

template <class T, class F>
std::string list(const std::vector<T>& v, F f) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += f(v[i]);
  }
  return s + "]";
}

void print_attr(std::ostringstream& os, const Attribute& a, const PrintOptions& opts,
                int indent) {
  switch (a.kind) {
    case AttrKind::Float: os << float_str(a.f); break;
    case AttrKind::Int: os << a.i; break;
    case AttrKind::String: os << '"' << a.s << '"'; break;
    case AttrKind::Tensor:
      os << "tensor " << dtype_name(a.t.dtype()) << dims_str(a.t.dims())
         << tensor_values(a.t, opts);
      break;
    case AttrKind::Graph: print_graph_into(os, *a.g, opts, indent); break;
    case AttrKind::Type: os << a.type.str(); break;
    case AttrKind::Floats: os << list(a.floats, [](float f) { return float_str(f); }); break;
    case AttrKind::Ints: os << list(a.ints, [](int64_t i) { return std::to_string(i); }); break;
    case AttrKind::Strings:
      os << list(a.strings, [](const std::string& s) { return "\"" + s + "\""; });
      break;
    case AttrKind::Tensors: os << "<" << a.tensors.size() << " tensors>"; break;
    case AttrKind::Graphs:
      os << "[";
      for (size_t i = 0; i < a.graphs.size(); ++i) {
        if (i) os << ", ";
        print_graph_into(os, *a.graphs[i], opts, indent);
      }
      os << "]";
      break;
    case AttrKind::Types: os << list(a.types, [](const Type& t) { return t.str(); }); break;
  }
}

void print_graph_into(std::ostringstream& os, const Graph& g, const PrintOptions& opts,
                      int indent) {
  std::string pad(size_t(indent), ' ');
  os << "graph " << g.name() << "(";
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    if (i) os << ", ";
    os << value_ref(g.inputs()[i]) << ": " << g.inputs()[i]->type().str();
  }
  os << ") -> (";
  for (size_t i = 0; i < g.outputs().size(); ++i) {
    if (i) os << ", ";
    os << value_ref(g.outputs()[i]) << ": " << g.outputs()[i]->type().str();
  }
  os << ") {\n";
  for (Value* v : g.values()) {
    if (!v->is_constant() || v->producer() || v->is_graph_input()) continue;
    os << pad << "  " << value_ref(v) << " = const " << v->type().str()
       << tensor_values(*v->constant(), opts) << "\n";
  }
  for (const auto& n : g.nodes()) {
    os << pad << "  ";
    for (size_t i = 0; i < n->num_outputs(); ++i) {
      if (i) os << ", ";
      const Value* v = n->output(i);
      os << value_ref(v);
      if (v) os << ": " << v->type().str();
    }
    if (n->num_outputs()) os << " = ";
    if (!n->domain().empty()) os << n->domain() << ".";
    os << n->op_type() << "(";
    for (size_t i = 0; i < n->num_inputs(); ++i) {
      if (i) os << ", ";
      os << value_ref(n->input(i));
    }
    os << ")";
    if (!n->attrs().empty()) {
      os << " {";
      bool first = true;
      for (const auto& [name, a] : n->attrs()) {
        if (!first) os << ", ";
        first = false;
        os << name << " = ";
        print_attr(os, a, opts, indent + 2);
      }
      os << "}";
    }
    if (!n->name().empty()) os << "  # " << n->name();
    os << "\n";
  }
  os << pad << "  return";
  for (size_t i = 0; i < g.outputs().size(); ++i) os << (i ? ", " : " ") << value_ref(g.outputs()[i]);
  os << "\n" << pad << "}";
}

}  // namespace

std::string print_graph(const Graph& g, const PrintOptions& opts) {
  std::ostringstream os;
  print_graph_into(os, g, opts, 0);
  os << "\n";
  return os.str();
}

std::string print_model(const Model& m, const PrintOptions& opts) {
  std::ostringstream os;
  os << "# ir_version " << m.ir_version << ", opsets";
  for (const auto& [d, v] : m.opsets) os << " " << (d.empty() ? "ai.onnx" : d) << ":" << v;
  if (!m.producer_name.empty()) os << ", producer " << m.producer_name << " " << m.producer_version;
  os << "\n";
  return os.str() + print_graph(*m.graph, opts);
}

}  // namespace eave
