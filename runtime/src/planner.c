#include "planner.h"

static int placed(const eave_plan_item* it) { return it->size > 0 && it->first >= 0; }

static int overlaps(const eave_plan_item* a, const eave_plan_item* b) {
  return a->first <= b->last && b->first <= a->last;
}

/* Does item a go before item b: larger first, then earlier start, then lower index. */
static int goes_before(const eave_plan_item* items, uint32_t a, uint32_t b) {
  if (items[a].size != items[b].size) return items[a].size > items[b].size;
  if (items[a].first != items[b].first) return items[a].first < items[b].first;
  return a < b;
}

int eave_plan_arena(eave_plan_item* items, uint32_t count, uint64_t alignment, uint32_t* scratch,
                    uint64_t* arena_size) {
  uint32_t* order = scratch;             /* items to place, in placement order */
  uint32_t* by_offset = scratch + count; /* items placed so far, by offset */
  uint32_t n = 0, np = 0;
  uint64_t total = 0, mask = alignment - 1;
  for (uint32_t i = 0; i < count; ++i) {
    items[i].offset = 0;
    if (!placed(&items[i])) continue;
    if (items[i].size > UINT64_MAX - mask) return -1;
    uint32_t k = n++;
    for (; k > 0 && goes_before(items, i, order[k - 1]); --k) order[k] = order[k - 1];
    order[k] = i;
  }
  for (uint32_t o = 0; o < n; ++o) {
    eave_plan_item* it = &items[order[o]];
    uint64_t size = (it->size + mask) & ~mask;
    uint64_t cursor = 0, best = 0, best_gap = UINT64_MAX;
    int found = 0;
    for (uint32_t p = 0; p < np; ++p) {
      const eave_plan_item* other = &items[by_offset[p]];
      if (!overlaps(it, other)) continue;
      if (other->offset >= cursor) {
        uint64_t gap = other->offset - cursor;
        if (gap >= size && gap < best_gap) best = cursor, best_gap = gap, found = 1;
      }
      uint64_t end = other->offset + ((other->size + mask) & ~mask);
      if (end > cursor) cursor = end;
    }
    it->offset = found ? best : cursor;
    if (it->offset > UINT64_MAX - size) return -1;
    if (it->offset + size > total) total = it->offset + size;
    uint32_t k = np++;
    for (; k > 0 && items[by_offset[k - 1]].offset > it->offset; --k)
      by_offset[k] = by_offset[k - 1];
    by_offset[k] = order[o];
  }
  *arena_size = total;
  return 0;
}
