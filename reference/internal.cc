// Reference kernels: eave's own ops (domain "eave"), which graph passes insert.
#include "reference/util.h"

namespace eave::ref {

namespace {

void check_k(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  ctx.check(c.numel() == 1, "condition must have one element, got shape ", dims_str(c.dims()));
  if (c.as_int(0) == 0) ::eave::fail(ctx.node().attr_string("message", "check failed"));
}

}  // namespace

void register_internal_kernels(KernelRegistry& r) { r.add(OpKind::Check, check_k); }

}  // namespace eave::ref
