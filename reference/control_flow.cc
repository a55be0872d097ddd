// Reference kernels: control flow. If runs one of two branch graphs; Loop runs its body while a
// trip count and/or a condition allow, carrying values (tensors, sequences or empty optionals)
// from one iteration to the next and stacking per-iteration scan outputs; Scan runs its body
// over slices of its scan inputs (opset 8 with a batch axis and sequence_lens, opset 9+ with
// per-input axes and directions). Bodies read enclosing values through run_subgraph.
#include <algorithm>
#include <limits>

#include "reference/util.h"

namespace eave::ref {

namespace {

// A condition operand: a bool tensor with a single element.
bool condition(const KernelContext& ctx, const ValueData& v, const char* what) {
  ctx.check(v.is_tensor(), what, " must be a bool tensor");
  const Tensor& t = v.tensor;
  ctx.check(t.dtype() == DType::Bool && t.numel() == 1, what,
            " must be a bool tensor with one element, got ", dtype_name(t.dtype()),
            dims_str(t.dims()));
  return t.data<bool>()[0];
}

// Stacks per-iteration tensors along a new axis `axis` of the result. With no iterations the
// element shape and type come from the body's declared output `decl` (a [0] tensor when the
// declaration leaves them open).
Tensor stack(const KernelContext& ctx, const std::vector<Tensor>& parts, int64_t axis,
             const Value* decl, const char* what) {
  if (parts.empty()) {
    DType dt = decl && decl->dtype() != DType::Undefined ? decl->dtype() : DType::F32;
    std::vector<int64_t> dims;
    bool known = decl && decl->shape().has_rank();
    for (size_t d = 0; known && d < decl->shape().rank(); ++d) {
      known = decl->shape()[d].is_const();
      if (known) dims.push_back(decl->shape()[d].value());
    }
    if (!known) dims.clear();
    dims.insert(dims.begin() + std::min<int64_t>(axis, int64_t(dims.size())), 0);
    return Tensor(dt, dims);
  }
  std::vector<Tensor> expanded;
  for (const Tensor& p : parts) {
    ctx.check(p.dims() == parts[0].dims() && p.dtype() == parts[0].dtype(), what,
              " must have the same type and shape in every iteration, got ",
              dtype_name(parts[0].dtype()), dims_str(parts[0].dims()), " and ",
              dtype_name(p.dtype()), dims_str(p.dims()));
    expanded.push_back(unsqueeze_axis(p, axis));
  }
  return concat_axis(ctx, expanded, axis);
}

// ---------------------------------------------------------------- If

void if_k(KernelContext& ctx) {
  bool c = condition(ctx, ctx.value(0), "cond");
  const Graph& branch = *ctx.node().attr_graph(c ? "then_branch" : "else_branch");
  std::vector<ValueData> outs = ctx.run_subgraph(branch, {});
  ctx.check(outs.size() == ctx.num_outputs(), c ? "then_branch" : "else_branch", " returns ",
            outs.size(), " values, the node has ", ctx.num_outputs(), " outputs");
  for (size_t i = 0; i < outs.size(); ++i) ctx.set_output(i, std::move(outs[i]));
}

// ---------------------------------------------------------------- Loop

// Inputs (M, cond, v_initial...), body (iter, cond, v...) -> (cond, v..., scan...),
// outputs (v_final..., scan_stacked...).
void loop_k(KernelContext& ctx) {
  const Graph& body = *ctx.node().attr_graph("body");
  ctx.check(ctx.num_inputs() >= 2, "needs inputs M and cond (either may be empty)");
  size_t n_carried = ctx.num_inputs() - 2;
  ctx.check(body.inputs().size() == n_carried + 2, "body takes ", body.inputs().size(),
            " inputs, expected 2 + ", n_carried, " loop-carried values");
  ctx.check(body.outputs().size() >= n_carried + 1, "body returns ", body.outputs().size(),
            " values, expected at least 1 + ", n_carried, " loop-carried values");
  size_t n_scan = body.outputs().size() - 1 - n_carried;
  ctx.check(ctx.num_outputs() <= n_carried + n_scan, "has ", ctx.num_outputs(),
            " outputs, the body yields ", n_carried, " loop-carried values and ", n_scan,
            " scan outputs");

  int64_t max_trips = std::numeric_limits<int64_t>::max();
  if (const Tensor* m = ctx.optional_input(0)) {
    ctx.check(m->numel() == 1 && is_integer(m->dtype()),
              "M must be an integer tensor with one element, got ", dtype_name(m->dtype()),
              dims_str(m->dims()));
    max_trips = m->as_int(0);
  }
  bool cond = ctx.has_input(1) ? condition(ctx, ctx.value(1), "cond") : true;

  std::vector<ValueData> carried;
  for (size_t i = 0; i < n_carried; ++i) {
    const ValueData* v = ctx.maybe_value(2 + i);
    carried.push_back(v ? *v : ValueData::none(body.inputs()[2 + i]->type()));
  }
  std::vector<std::vector<Tensor>> scans(n_scan);
  for (int64_t iter = 0; iter < max_trips && cond; ++iter) {
    std::vector<ValueData> in;
    in.push_back(Tensor::scalar<int64_t>(iter));
    in.push_back(Tensor::scalar<bool>(cond));
    for (ValueData& v : carried) in.push_back(std::move(v));
    std::vector<ValueData> out = ctx.run_subgraph(body, std::move(in));
    cond = condition(ctx, out[0], "the body's cond output");
    for (size_t i = 0; i < n_carried; ++i) carried[i] = std::move(out[1 + i]);
    for (size_t k = 0; k < n_scan; ++k) {
      ValueData& s = out[1 + n_carried + k];
      ctx.check(s.is_tensor(), "scan output ", k, " must be a tensor");
      scans[k].push_back(std::move(s.tensor));
    }
  }
  for (size_t i = 0; i < n_carried && i < ctx.num_outputs(); ++i)
    ctx.set_output(i, std::move(carried[i]));
  for (size_t k = 0; k < n_scan && n_carried + k < ctx.num_outputs(); ++k)
    ctx.set_output(n_carried + k,
                   stack(ctx, scans[k], 0, body.outputs()[1 + n_carried + k], "scan output"));
}

// ---------------------------------------------------------------- Scan

// Opset 9+: inputs (state..., scan_input...), body (state..., slice...) -> (state..., out...).
void scan9_k(KernelContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = *node.attr_graph("body");
  int64_t m = node.attr_int("num_scan_inputs");
  ctx.check(m >= 0 && size_t(m) <= ctx.num_inputs(), "num_scan_inputs ", m,
            " exceeds the number of inputs ", ctx.num_inputs());
  size_t n_state = ctx.num_inputs() - size_t(m);
  size_t n_in = size_t(m);
  ctx.check(body.inputs().size() == n_state + n_in, "body takes ", body.inputs().size(),
            " inputs, expected ", n_state, " state values and ", n_in, " scan inputs");
  ctx.check(body.outputs().size() >= n_state, "body returns ", body.outputs().size(),
            " values, expected at least ", n_state, " state values");
  size_t n_out = body.outputs().size() - n_state;

  auto per_input = [&](const char* name, size_t n) {
    std::vector<int64_t> v = node.attr_ints(name, std::vector<int64_t>(n, 0));
    ctx.check(v.size() == n, name, " has ", v.size(), " entries, expected ", n);
    return v;
  };
  std::vector<int64_t> in_axes = per_input("scan_input_axes", n_in);
  std::vector<int64_t> in_dirs = per_input("scan_input_directions", n_in);
  std::vector<int64_t> out_axes = per_input("scan_output_axes", n_out);
  std::vector<int64_t> out_dirs = per_input("scan_output_directions", n_out);

  std::vector<const Tensor*> xs;
  int64_t steps = -1;
  for (size_t j = 0; j < n_in; ++j) {
    const Tensor& x = ctx.input(n_state + j);
    ctx.check(x.rank() >= 1, "scan input ", j, " must have rank >= 1");
    in_axes[j] = normalize_axis(ctx, in_axes[j], int64_t(x.rank()));
    int64_t len = x.dim(size_t(in_axes[j]));
    ctx.check(steps < 0 || len == steps, "scan inputs have different lengths ", steps, " and ",
              len, " along their scan axes");
    steps = len;
    xs.push_back(&x);
  }
  ctx.check(steps >= 0, "needs at least one scan input");

  std::vector<ValueData> state;
  for (size_t i = 0; i < n_state; ++i) state.push_back(ctx.value(i));
  std::vector<std::vector<Tensor>> outs(n_out);
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<ValueData> in = std::move(state);
    for (size_t j = 0; j < n_in; ++j) {
      int64_t at = in_dirs[j] ? steps - 1 - t : t;
      in.push_back(squeeze_axis(slice_axis(*xs[j], in_axes[j], at, 1), in_axes[j]));
    }
    std::vector<ValueData> out = ctx.run_subgraph(body, std::move(in));
    state.assign(std::make_move_iterator(out.begin()),
                 std::make_move_iterator(out.begin() + long(n_state)));
    for (size_t k = 0; k < n_out; ++k) {
      ValueData& s = out[n_state + k];
      ctx.check(s.is_tensor(), "scan output ", k, " must be a tensor");
      outs[k].push_back(std::move(s.tensor));
    }
  }
  for (size_t i = 0; i < n_state && i < ctx.num_outputs(); ++i)
    ctx.set_output(i, std::move(state[i]));
  for (size_t k = 0; k < n_out && n_state + k < ctx.num_outputs(); ++k) {
    if (out_dirs[k]) std::reverse(outs[k].begin(), outs[k].end());
    const Shape& decl = body.outputs()[n_state + k]->shape();
    int64_t rank = !outs[k].empty() ? int64_t(outs[k][0].rank())
                   : decl.has_rank() ? int64_t(decl.rank())
                                     : 0;
    int64_t axis = normalize_axis(ctx, out_axes[k], rank + 1);
    ctx.set_output(n_state + k,
                   stack(ctx, outs[k], axis, body.outputs()[n_state + k], "scan output"));
  }
}

// Opset 8: inputs (sequence_lens?, state..., scan_input...), all with a leading batch axis; scan
// inputs scan along axis 1. Each batch entry runs separately for its own length; scan outputs
// are zero past that length.
void scan8_k(KernelContext& ctx) {
  const Node& node = ctx.node();
  const Graph& body = *node.attr_graph("body");
  int64_t m = node.attr_int("num_scan_inputs");
  ctx.check(ctx.num_inputs() >= 1 && m >= 0 && size_t(m) <= ctx.num_inputs() - 1,
            "num_scan_inputs ", m, " exceeds the number of inputs after sequence_lens");
  size_t n_in = size_t(m);
  size_t n_state = ctx.num_inputs() - 1 - n_in;
  ctx.check(body.inputs().size() == n_state + n_in, "body takes ", body.inputs().size(),
            " inputs, expected ", n_state, " state values and ", n_in, " scan inputs");
  ctx.check(body.outputs().size() >= n_state, "body returns ", body.outputs().size(),
            " values, expected at least ", n_state, " state values");
  size_t n_out = body.outputs().size() - n_state;
  std::vector<int64_t> dirs = node.attr_ints("directions", std::vector<int64_t>(n_in, 0));
  ctx.check(dirs.size() == n_in, "directions has ", dirs.size(), " entries, expected ", n_in);

  int64_t batch = -1, max_len = -1;
  auto check_batch = [&](const Tensor& t, const char* what, size_t i) {
    ctx.check(t.rank() >= 1, what, " ", i, " must have a batch axis");
    ctx.check(batch < 0 || t.dim(0) == batch, what, " ", i, " has batch size ", t.dim(0),
              ", expected ", batch);
    batch = t.dim(0);
  };
  for (size_t i = 0; i < n_state; ++i) check_batch(ctx.input(1 + i), "state input", i);
  for (size_t j = 0; j < n_in; ++j) {
    const Tensor& x = ctx.input(1 + n_state + j);
    check_batch(x, "scan input", j);
    ctx.check(x.rank() >= 2, "scan input ", j, " must have rank >= 2 (batch, sequence, ...)");
    ctx.check(max_len < 0 || x.dim(1) == max_len, "scan inputs have different lengths");
    max_len = x.dim(1);
  }
  ctx.check(batch >= 0 && max_len >= 0, "needs at least one scan input");
  std::vector<int64_t> lens(size_t(batch), max_len);
  if (const Tensor* sl = ctx.optional_input(0)) {
    ctx.check(sl->numel() == batch, "sequence_lens has ", sl->numel(), " entries, expected ",
              batch);
    for (int64_t b = 0; b < batch; ++b) {
      lens[size_t(b)] = sl->as_int(b);
      ctx.check(lens[size_t(b)] >= 0 && lens[size_t(b)] <= max_len, "sequence_lens[", b,
                "] = ", lens[size_t(b)], " is outside [0, ", max_len, "]");
    }
  }

  std::vector<std::vector<Tensor>> final_state(n_state);
  std::vector<std::vector<std::vector<Tensor>>> steps(n_out);  // [output][batch][step]
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<ValueData> state;
    for (size_t i = 0; i < n_state; ++i)
      state.push_back(squeeze_axis(slice_axis(ctx.input(1 + i), 0, b, 1), 0));
    for (auto& s : steps) s.emplace_back();
    int64_t len = lens[size_t(b)];
    for (int64_t t = 0; t < len; ++t) {
      std::vector<ValueData> in = std::move(state);
      for (size_t j = 0; j < n_in; ++j) {
        Tensor row = squeeze_axis(slice_axis(ctx.input(1 + n_state + j), 0, b, 1), 0);
        int64_t at = dirs[j] ? len - 1 - t : t;
        in.push_back(squeeze_axis(slice_axis(row, 0, at, 1), 0));
      }
      std::vector<ValueData> out = ctx.run_subgraph(body, std::move(in));
      state.assign(std::make_move_iterator(out.begin()),
                   std::make_move_iterator(out.begin() + long(n_state)));
      for (size_t k = 0; k < n_out; ++k) {
        ctx.check(out[n_state + k].is_tensor(), "scan output ", k, " must be a tensor");
        steps[k].back().push_back(std::move(out[n_state + k].tensor));
      }
    }
    for (size_t i = 0; i < n_state; ++i) {
      ctx.check(state[i].is_tensor(), "state output ", i, " must be a tensor");
      final_state[i].push_back(state[i].tensor);
    }
  }
  for (size_t i = 0; i < n_state && i < ctx.num_outputs(); ++i)
    ctx.set_output(i, stack(ctx, final_state[i], 0, body.outputs()[i], "state output"));
  for (size_t k = 0; k < n_out && n_state + k < ctx.num_outputs(); ++k) {
    // Steps past an entry's length are zeros shaped like the steps that ran.
    const Tensor* first = nullptr;
    for (const auto& per_batch : steps[k])
      if (!first && !per_batch.empty()) first = &per_batch[0];
    if (!first) {
      Tensor empty = stack(ctx, {}, 0, body.outputs()[n_state + k], "scan output");
      std::vector<int64_t> dims = empty.dims();
      dims.insert(dims.begin(), batch);
      dims[1] = max_len;
      ctx.set_output(n_state + k, Tensor(empty.dtype(), dims));
      continue;
    }
    DType dt = first->dtype();
    std::vector<int64_t> step_dims = first->dims();
    std::vector<Tensor> rows;
    for (auto& per_batch : steps[k]) {
      while (int64_t(per_batch.size()) < max_len) per_batch.push_back(Tensor(dt, step_dims));
      rows.push_back(stack(ctx, per_batch, 0, nullptr, "scan output"));
    }
    ctx.set_output(n_state + k, stack(ctx, rows, 0, nullptr, "scan output"));
  }
}

void scan_k(KernelContext& ctx) {
  if (ctx.opset() < 9) scan8_k(ctx);
  else scan9_k(ctx);
}

}  // namespace

void register_control_flow_kernels(KernelRegistry& r) {
  r.add(OpKind::If, if_k);
  r.add(OpKind::Loop, loop_k);
  r.add(OpKind::Scan, scan_k);
}

}  // namespace eave::ref
