// Shape inference: If, Loop and Scan. Their subgraphs are inferred with input types derived
// from the node's inputs; results that may differ between branches or iterations get fresh
// dims where they disagree.
#include "ir/shape_inference.h"

namespace eave {

namespace {

// Infers subgraph g of c's node with the same options (the fallback for ops eave has no rule
// for applies inside subgraphs too).
void infer_sub(const InferContext& c, Graph& g, const std::vector<Type>& inputs) {
  for (size_t i = 0; i < g.inputs().size() && i < inputs.size(); ++i)
    if (inputs[i].known()) g.inputs()[i]->set_type(inputs[i]);
  infer_shapes(g, c.options() ? *c.options() : InferOptions{});
}

// A branch whose inference fails cannot run with these input shapes (exporters branch on
// shapes: the branch for another sample rate, another chunk size). If only one branch fails,
// the If is typed by the other, and the failure is recorded on the node (kUnreachableBranch:
// "then" or "else", kUnreachableReason: why) for a pass to turn into a run-time check.
void if_rule(InferContext& c) {
  Graph* then_g = c.node().attr_graph("then_branch");
  Graph* else_g = c.node().attr_graph("else_branch");
  std::string failed[2];
  Graph* branches[2] = {then_g, else_g};
  for (int b = 0; b < 2; ++b) {
    try {
      infer_sub(c, *branches[b], {});
    } catch (const Error& e) {
      failed[b] = e.what();
    }
  }
  if (!failed[0].empty() && !failed[1].empty()) throw Error(failed[0]);
  c.node().remove_attr(kUnreachableBranch);
  c.node().remove_attr(kUnreachableReason);
  for (int b = 0; b < 2; ++b) {
    if (failed[b].empty()) continue;
    c.node().set_attr(kUnreachableBranch, Attribute::of_string(b == 0 ? "then" : "else"));
    c.node().set_attr(kUnreachableReason, Attribute::of_string(failed[b]));
  }
  c.check(then_g->outputs().size() == c.num_outputs() && else_g->outputs().size() == c.num_outputs(),
          "branches must produce ", c.num_outputs(), " outputs");
  for (size_t i = 0; i < c.num_outputs(); ++i) {
    const Type& t = then_g->outputs()[i]->type();
    const Type& e = else_g->outputs()[i]->type();
    c.set_output_type(i, !failed[0].empty() ? e : !failed[1].empty() ? t : join_types(t, e));
  }
}

void loop_rule(InferContext& c) {
  Graph* body = c.node().attr_graph("body");
  size_t carried = c.num_inputs() >= 2 ? c.num_inputs() - 2 : 0;
  std::vector<Type> ins = {Type::tensor(DType::I64, Shape(std::vector<Dim>{})),
                           Type::tensor(DType::Bool, Shape(std::vector<Dim>{}))};
  // A sequence that starts empty (SequenceEmpty) holds nothing yet: its elements are what the
  // body inserts, so it starts from an element type that joins as nothing.
  std::vector<Type> seeds;
  for (size_t i = 0; i < carried; ++i) {
    const Value* v = c.node().input(2 + i);
    bool fresh = v && v->producer() && v->producer()->kind() == OpKind::SequenceEmpty;
    seeds.push_back(fresh ? Type::sequence(Type{}) : c.input_type(2 + i));
    ins.push_back(seeds.back());
  }
  infer_sub(c, *body, ins);
  // Carried values whose shapes change across iterations get fresh dims.
  for (size_t i = 0; i < carried && 1 + i < body->outputs().size(); ++i) {
    Type t = join_types(seeds[i], body->outputs()[1 + i]->type());
    if (t.elem && !t.elem->known()) t = c.input_type(2 + i);  // the body inserts nothing
    if (!(t == ins[2 + i])) {
      ins[2 + i] = t;
      infer_sub(c, *body, ins);
    }
    c.set_output_type(i, t);
  }
  Dim trips = fresh_dim("loop");
  for (size_t j = 1 + carried; j < body->outputs().size(); ++j) {
    const Type& t = body->outputs()[j]->type();
    if (t.is_tensor() && t.shape.has_rank()) {
      std::vector<Dim> dims = {trips};
      dims.insert(dims.end(), t.shape.dims().begin(), t.shape.dims().end());
      c.set_output(carried + (j - 1 - carried), t.dtype, Shape(std::move(dims)));
    } else if (t.is_tensor()) {
      c.set_output(carried + (j - 1 - carried), t.dtype, Shape());
    }
  }
}

void scan_rule(InferContext& c) {
  Graph* body = c.node().attr_graph("body");
  int64_t num_scan_inputs = c.node().attr_int("num_scan_inputs");
  bool v8 = c.opset() < 9;
  size_t first = v8 ? 1 : 0;  // opset 8 has sequence_lens first
  size_t n_in = c.num_inputs() - first;
  size_t n_state = n_in - size_t(num_scan_inputs);
  std::vector<int64_t> in_axes = c.node().attr_ints("scan_input_axes",
                                                    std::vector<int64_t>(size_t(num_scan_inputs), 0));
  c.check(in_axes.size() == size_t(num_scan_inputs), "scan_input_axes has ", in_axes.size(),
          " entries for ", num_scan_inputs, " scan inputs");
  std::vector<Type> ins;
  for (size_t i = 0; i < n_state; ++i) {
    Type t = c.input_type(first + i);
    if (v8 && t.is_tensor() && t.shape.has_rank() && t.shape.rank() > 0) {
      std::vector<Dim> d(t.shape.dims().begin() + 1, t.shape.dims().end());
      t.shape = Shape(std::move(d));
    }
    ins.push_back(t);
  }
  Dim seq = fresh_dim("scan");
  Dim batch;
  for (size_t i = 0; i < size_t(num_scan_inputs); ++i) {
    Type t = c.input_type(first + n_state + i);
    if (t.is_tensor() && t.shape.has_rank()) {
      std::vector<Dim> d = t.shape.dims();
      c.check(d.size() >= (v8 ? 2u : 1u), "scan input ", i, " has shape ", t.shape.str(),
              ", without ", v8 ? "batch and sequence axes" : "a sequence axis");
      size_t drop = v8 ? 1 : size_t(c.axis(in_axes[i], int64_t(d.size())));
      if (v8) {
        seq = d[1];
        batch = d[0];
        d.erase(d.begin(), d.begin() + 2);
      } else {
        seq = d[drop];
        d.erase(d.begin() + long(drop));
      }
      t.shape = Shape(std::move(d));
    }
    ins.push_back(t);
  }
  infer_sub(c, *body, ins);
  for (size_t i = 0; i < n_state && i < body->outputs().size(); ++i)
    c.set_output_type(i, c.input_type(first + i));
  std::vector<int64_t> out_axes = c.node().attr_ints("scan_output_axes", std::vector<int64_t>{});
  for (size_t j = n_state; j < body->outputs().size() && j < c.num_outputs(); ++j) {
    const Type& t = body->outputs()[j]->type();
    if (!t.is_tensor() || !t.shape.has_rank()) continue;
    std::vector<Dim> d = t.shape.dims();
    if (v8) {
      d.insert(d.begin(), seq);
      d.insert(d.begin(), batch);
    } else {
      int64_t ax = j - n_state < out_axes.size() ? out_axes[j - n_state] : 0;
      if (ax < 0) ax += int64_t(d.size()) + 1;
      d.insert(d.begin() + ax, seq);
    }
    c.set_output(j, t.dtype, Shape(std::move(d)));
  }
}

// Inputs (sequence, extra...): the body takes an element of each sequence and the rest whole;
// each output is a sequence of what the body gives.
void sequence_map_rule(InferContext& c) {
  Graph* body = c.node().attr_graph("body");
  std::vector<Type> ins;  // the body's declared input types win: elements' shapes may differ
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    Type t = c.has_input(i) ? c.input_type(i) : Type{};
    bool declared = i < body->inputs().size() && body->inputs()[i]->type().known();
    ins.push_back(declared ? Type{} : t.kind == TypeKind::Sequence && t.elem ? *t.elem : t);
  }
  infer_sub(c, *body, ins);
  for (size_t k = 0; k < c.num_outputs() && k < body->outputs().size(); ++k)
    if (body->outputs()[k]->type().known())
      c.set_output_type(k, Type::sequence(body->outputs()[k]->type()));
}

}  // namespace

void register_control_flow_infer_rules(std::vector<InferFn>& r) {
  r[size_t(OpKind::If)] = if_rule;
  r[size_t(OpKind::Loop)] = loop_rule;
  r[size_t(OpKind::Scan)] = scan_rule;
  r[size_t(OpKind::SequenceMap)] = sequence_map_rule;
}

}  // namespace eave
