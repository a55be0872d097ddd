// Reference kernels: sequences and optionals. A sequence is an ordered list of tensors of one
// element type (shapes may differ); an optional holds a tensor or a sequence, or nothing
// (ValueData::none). SequenceMap runs its body once per sequence position.
#include <algorithm>

#include "reference/util.h"

namespace eave::ref {

namespace {

const std::vector<Tensor>& sequence_input(const KernelContext& ctx, size_t i) {
  const ValueData& v = ctx.value(i);
  ctx.check(v.is_sequence(), "input ", i, " must be a sequence");
  return v.sequence;
}

// A position operand: a scalar int32/int64 in [-n, n - 1], or [-n, n] when `allow_end`
// (insertion may append). Returns it in [0, n].
int64_t position(const KernelContext& ctx, const Tensor& p, int64_t n, bool allow_end) {
  ctx.check((p.dtype() == DType::I32 || p.dtype() == DType::I64) && p.numel() == 1,
            "position must be a scalar int32 or int64 tensor, got ", dtype_name(p.dtype()),
            dims_str(p.dims()));
  int64_t pos = p.as_int(0);
  int64_t hi = allow_end ? n : n - 1;
  ctx.check(pos >= -n && pos <= hi, "position ", pos, " is out of range [", -n, ", ", hi,
            "] for a sequence of ", n, " tensors");
  return pos < 0 ? pos + n : pos;
}

void check_same_dtype(const KernelContext& ctx, const std::vector<Tensor>& seq, const Tensor& t) {
  if (!seq.empty())
    ctx.check(seq[0].dtype() == t.dtype(), "tensor of element type ", dtype_name(t.dtype()),
              " does not match the sequence's ", dtype_name(seq[0].dtype()));
}

void sequence_construct_k(KernelContext& ctx) {
  std::vector<Tensor> seq;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    check_same_dtype(ctx, seq, t);
    seq.push_back(t);
  }
  ctx.set_output(0, ValueData::of_sequence(std::move(seq)));
}

void sequence_empty_k(KernelContext& ctx) {
  int64_t code = ctx.node().attr_int("dtype", 1);
  ctx.check(dtype_from_onnx(int32_t(code)) != DType::Undefined, "dtype ", code,
            " is not a supported element type");
  ctx.set_output(0, ValueData::of_sequence({}));
}

void sequence_at_k(KernelContext& ctx) {
  const std::vector<Tensor>& seq = sequence_input(ctx, 0);
  int64_t at = position(ctx, ctx.input(1), int64_t(seq.size()), false);
  ctx.set_output(0, seq[size_t(at)]);
}

void sequence_insert_k(KernelContext& ctx) {
  std::vector<Tensor> seq = sequence_input(ctx, 0);
  const Tensor& t = ctx.input(1);
  check_same_dtype(ctx, seq, t);
  int64_t n = int64_t(seq.size());
  int64_t at = ctx.has_input(2) ? position(ctx, ctx.input(2), n, true) : n;
  seq.insert(seq.begin() + at, t);
  ctx.set_output(0, ValueData::of_sequence(std::move(seq)));
}

void sequence_erase_k(KernelContext& ctx) {
  std::vector<Tensor> seq = sequence_input(ctx, 0);
  int64_t n = int64_t(seq.size());
  ctx.check(n > 0, "cannot erase from an empty sequence");
  int64_t at = ctx.has_input(1) ? position(ctx, ctx.input(1), n, false) : n - 1;
  seq.erase(seq.begin() + at);
  ctx.set_output(0, ValueData::of_sequence(std::move(seq)));
}

void sequence_length_k(KernelContext& ctx) {
  const std::vector<Tensor>& seq = sequence_input(ctx, 0);
  ctx.set_output(0, Tensor::scalar<int64_t>(int64_t(seq.size())));
}

// split absent: pieces of 1 (squeezed unless keepdims); a scalar: pieces of that size, the last
// one possibly shorter; a 1-D tensor: the piece lengths, summing to the axis length.
void split_to_sequence_k(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.check(x.rank() >= 1, "input must have rank >= 1");
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis", 0), int64_t(x.rank()));
  int64_t len = x.dim(size_t(axis));
  std::vector<Tensor> seq;
  const Tensor* split = ctx.optional_input(1);
  if (!split) {
    bool keepdims = ctx.node().attr_int("keepdims", 1) != 0;
    for (int64_t i = 0; i < len; ++i) {
      Tensor piece = slice_axis(x, axis, i, 1);
      seq.push_back(keepdims ? piece : squeeze_axis(piece, axis));
    }
  } else {
    ctx.check(is_integer(split->dtype()) && split->rank() <= 1,
              "split must be an integer scalar or 1-D tensor, got ", dtype_name(split->dtype()),
              dims_str(split->dims()));
    std::vector<int64_t> sizes;
    if (split->rank() == 0) {
      int64_t chunk = split->as_int(0);
      ctx.check(chunk > 0, "split must be positive, got ", chunk);
      for (int64_t at = 0; at < len; at += chunk) sizes.push_back(std::min(chunk, len - at));
    } else {
      sizes = split->to_int_vector();
      int64_t total = 0;
      for (int64_t s : sizes) {
        ctx.check(s >= 0, "split sizes must not be negative, got ", dims_str(sizes));
        total += s;
      }
      ctx.check(total == len, "split sizes ", dims_str(sizes), " sum to ", total,
                ", but axis ", axis, " has length ", len);
    }
    int64_t at = 0;
    for (int64_t s : sizes) {
      seq.push_back(slice_axis(x, axis, at, s));
      at += s;
    }
  }
  ctx.set_output(0, ValueData::of_sequence(std::move(seq)));
}

// Joins along an existing axis, or with new_axis=1 stacks along a new one.
void concat_from_sequence_k(KernelContext& ctx) {
  const std::vector<Tensor>& seq = sequence_input(ctx, 0);
  ctx.check(!seq.empty(), "the input sequence is empty");
  bool new_axis = ctx.node().attr_int("new_axis", 0) != 0;
  int64_t rank = int64_t(seq[0].rank());
  ctx.check(new_axis || rank >= 1, "cannot concatenate scalars without new_axis=1");
  int64_t axis = normalize_axis(ctx, ctx.node().attr_int("axis"), new_axis ? rank + 1 : rank);
  std::vector<Tensor> parts;
  for (const Tensor& t : seq) {
    ctx.check(int64_t(t.rank()) == rank, "sequence tensors have ranks ", rank, " and ", t.rank());
    parts.push_back(new_axis ? unsqueeze_axis(t, axis) : t);
  }
  ctx.set_output(0, concat_axis(ctx, parts, axis));
}

// Inputs (sequence, extra...): each extra is a sequence of the same length, read per position,
// or anything else, passed whole. Every body output becomes a sequence.
void sequence_map_k(KernelContext& ctx) {
  const Graph& body = *ctx.node().attr_graph("body");
  const std::vector<Tensor>& first = sequence_input(ctx, 0);
  size_t n = first.size();
  for (size_t j = 1; j < ctx.num_inputs(); ++j) {
    const ValueData& v = ctx.value(j);
    if (v.is_sequence())
      ctx.check(v.sequence.size() == n, "input sequence ", j, " has ", v.sequence.size(),
                " tensors, input 0 has ", n);
  }
  ctx.check(body.inputs().size() == ctx.num_inputs(), "body takes ", body.inputs().size(),
            " inputs, the node has ", ctx.num_inputs());
  ctx.check(body.outputs().size() == ctx.num_outputs(), "body returns ", body.outputs().size(),
            " values, the node has ", ctx.num_outputs(), " outputs");
  std::vector<std::vector<Tensor>> outs(ctx.num_outputs());
  for (size_t i = 0; i < n; ++i) {
    std::vector<ValueData> in;
    in.push_back(first[i]);
    for (size_t j = 1; j < ctx.num_inputs(); ++j) {
      const ValueData& v = ctx.value(j);
      in.push_back(v.is_sequence() ? ValueData(v.sequence[i]) : v);
    }
    std::vector<ValueData> out = ctx.run_subgraph(body, std::move(in));
    for (size_t k = 0; k < out.size(); ++k) {
      ctx.check(out[k].is_tensor(), "body output ", k, " must be a tensor");
      outs[k].push_back(std::move(out[k].tensor));
    }
  }
  for (size_t k = 0; k < outs.size(); ++k)
    ctx.set_output(k, ValueData::of_sequence(std::move(outs[k])));
}

// ---------------------------------------------------------------- optionals

void optional_k(KernelContext& ctx) {
  if (const ValueData* v = ctx.maybe_value(0)) {
    ctx.set_output(0, *v);
    return;
  }
  const Attribute* type = ctx.node().find_attr("type");
  ctx.check(type && type->kind == AttrKind::Type,
            "an Optional without an input needs the 'type' attribute");
  ctx.set_output(0, ValueData::none(type->type));
}

// An absent input (opset 18+) counts as empty; a plain tensor or sequence as present.
void optional_has_element_k(KernelContext& ctx) {
  const ValueData* v = ctx.maybe_value(0);
  ctx.set_output(0, Tensor::scalar<bool>(v && !v->is_none()));
}

void optional_get_element_k(KernelContext& ctx) {
  const ValueData* v = ctx.maybe_value(0);
  ctx.check(v && !v->is_none(), "the input optional is empty");
  ctx.set_output(0, *v);
}

}  // namespace

void register_sequence_kernels(KernelRegistry& r) {
  r.add(OpKind::SequenceConstruct, sequence_construct_k);
  r.add(OpKind::SequenceEmpty, sequence_empty_k);
  r.add(OpKind::SequenceAt, sequence_at_k);
  r.add(OpKind::SequenceInsert, sequence_insert_k);
  r.add(OpKind::SequenceErase, sequence_erase_k);
  r.add(OpKind::SequenceLength, sequence_length_k);
  r.add(OpKind::SplitToSequence, split_to_sequence_k);
  r.add(OpKind::ConcatFromSequence, concat_from_sequence_k);
  r.add(OpKind::SequenceMap, sequence_map_k);
  r.add(OpKind::Optional, optional_k);
  r.add(OpKind::OptionalHasElement, optional_has_element_k);
  r.add(OpKind::OptionalGetElement, optional_get_element_k);
}

}  // namespace eave::ref
