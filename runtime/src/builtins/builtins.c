#include "builtin.h"

static const eave_builtin_desc registry[] = {
#define EAVE_BUILTIN(id, NAME, fn) {id, #NAME, eave_builtin_##fn##_check, eave_builtin_##fn##_run},
#include "builtins.def"
#undef EAVE_BUILTIN
};

const eave_builtin_desc* eave_builtin_find(uint32_t id) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; ++i)
    if (registry[i].id == id) return &registry[i];
  return NULL;
}

const eave_value* eave_step_value(const eave_model* m, const eave_step* step, uint32_t k) {
  int32_t v = m->operands[step->operands + k];
  return v < 0 ? NULL : &m->values[v];
}
