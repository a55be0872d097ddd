/* What the control-flow steps (control_flow.c) use of the executor (executor.c). Internal. */
#ifndef EAVE_EXECUTOR_H_
#define EAVE_EXECUTOR_H_

#include "session.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline int eave_value_is_list(const eave_value* v) { return v->kind != EAVE_VALUE_TENSOR; }

static inline const char* eave_value_name(const eave_model* m, uint32_t v) {
  return eave_model_string(m, m->values[v].name);
}

/* Runs program p with its slots bound in S->refs; `depth` counts enclosing programs. */
eave_status eave_exec_program(eave_session* S, uint32_t p, int depth);

/* Places value v of program p: evaluates its dims and gives it memory (or its list). */
eave_status eave_exec_resolve(eave_session* S, uint32_t p, uint32_t v);

/* Places the step's input operands. */
eave_status eave_exec_resolve_inputs(eave_session* S, uint32_t p, const eave_step* st);

/* Value v of program p takes the shape a step produced: every undefined RUNTIME symbol of p
 * among its dims is defined from `dims`, the value is placed, and each dim must then agree,
 * or the run fails naming the value and the axis. */
eave_status eave_exec_shape_value(eave_session* S, uint32_t p, uint32_t v, uint32_t rank,
                                  const int64_t* dims);

/* Sets `ref` to pass value v (already placed) as a nested program input. */
void eave_exec_pass_value(eave_session* S, uint32_t v, eave_tensor_ref* ref);

/* Element 0 of a one-element integer or bool tensor; -1 if it is not one. */
int eave_exec_read_scalar(uint32_t dtype, const void* data, uint64_t bytes, int64_t* out);

/* The value of a declared dim if it is known now (a constant or a defined symbol), else
 * `otherwise`. */
int64_t eave_exec_dim_or(const eave_session* S, int64_t dim, int64_t otherwise);

/* Step `step`'s scratch with `buffers` buffers and `lists` lists, made on its first run. */
eave_status eave_exec_step_scratch(eave_session* S, uint32_t step, uint32_t buffers,
                                   uint32_t lists, eave_step_scratch** out);

/* The control-flow steps (control_flow.c). `step` indexes the model's step table. */
eave_status eave_run_if(eave_session* S, uint32_t p, uint32_t step, int depth);
eave_status eave_run_loop(eave_session* S, uint32_t p, uint32_t step, int depth);
eave_status eave_run_scan(eave_session* S, uint32_t p, uint32_t step, int depth);
eave_status eave_run_sequence_map(eave_session* S, uint32_t p, uint32_t step, int depth);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_EXECUTOR_H_ */
