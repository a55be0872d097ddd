// Shape inference: sequences. The other sequence and optional ops go to the ONNX fallback; the
// rule here knows one thing it does not: a sequence that SequenceEmpty made holds nothing yet,
// so its unknown element shape takes no part in what the elements are once one is inserted.
#include "ir/shape_inference.h"

namespace eave {

namespace {

void sequence_insert_rule(InferContext& c) {
  const Type& seq = c.input_type(0);
  const Type& t = c.input_type(1);
  const Node* producer = c.node().input(0)->producer();
  bool fresh = producer && producer->kind() == OpKind::SequenceEmpty;
  Type elem = fresh || !seq.elem ? t : join_types(*seq.elem, t);
  c.set_output_type(0, Type::sequence(elem));
}

}  // namespace

void register_sequence_infer_rules(std::vector<InferFn>& r) {
  r[size_t(OpKind::SequenceInsert)] = sequence_insert_rule;
}

}  // namespace eave
