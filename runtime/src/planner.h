/* The arena memory planner: greedy best-fit by size over live ranges. Plain C with no runtime
 * state: the compiler's writer links it to plan nominal shapes, and a session calls it again
 * when a run's shapes outgrow that plan, so both sides place values the same way. */
#ifndef EAVE_PLANNER_H_
#define EAVE_PLANNER_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eave_plan_item {
  uint64_t size; /* bytes; 0 is not placed (offset 0) */
  int32_t first; /* live range in steps, inclusive; first < 0 is not placed */
  int32_t last;
  uint64_t offset; /* out: a multiple of `alignment` */
} eave_plan_item;

/* Places the items so that no two whose live ranges overlap share a byte, largest first, each
 * in the smallest gap that holds it (or after the last conflicting item). `alignment` is a
 * power of two; `scratch` holds 2 * count entries. Deterministic: the same items give the
 * same plan everywhere. Returns 0 with *arena_size set, or -1 if the sizes overflow. */
int eave_plan_arena(eave_plan_item* items, uint32_t count, uint64_t alignment, uint32_t* scratch,
                    uint64_t* arena_size);

#ifdef __cplusplus
}
#endif

#endif /* EAVE_PLANNER_H_ */
