/* NON_MAX_SUPPRESSION: boxes [B, S, 4], scores [B, C, S], max_output_boxes_per_class?,
 * iou_threshold?, score_threshold? -> selected_indices i64 [K, 3]. For every batch and class
 * it greedily keeps the highest-scoring boxes (score above score_threshold, ties to the lower
 * index) whose IoU with every box kept so far is at most iou_threshold; rows (batch, class,
 * box) come in batch, class, selection order. K is data-dependent: the rows are collected in
 * scratch, then the output is shaped. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

typedef struct candidate {
  double score;
  int64_t box;
} candidate;

/* Higher scores first (NaN last), ties to the lower box index. */
static int by_score(const void* pa, const void* pb) {
  const candidate *a = pa, *b = pb;
  int an = a->score != a->score, bn = b->score != b->score;
  if (an != bn) return an - bn;
  if (!an && a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->box > b->box) - (a->box < b->box);
}

/* Intersection over union of boxes (y1, x1, y2, x2), y1 <= y2, x1 <= x2; 0 when either is
 * empty or they do not overlap. */
static double iou(const double* a, const double* b) {
  double area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
  if (!(area_a > 0 && area_b > 0)) return 0;
  double h = (a[2] < b[2] ? a[2] : b[2]) - (a[0] > b[0] ? a[0] : b[0]);
  double w = (a[3] < b[3] ? a[3] : b[3]) - (a[1] > b[1] ? a[1] : b[1]);
  if (!(h > 0 && w > 0)) return 0;
  return h * w / (area_a + area_b - h * w);
}

eave_status eave_builtin_nms_check(const eave_model* m, const eave_step* step,
                                   const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(eave_nn_check_operands(m, step, "NonMaxSuppression", 2, 5, 2, 1));
  int ok = eave_dtype_is_float(eave_nn_dtype(m, step, 0)) &&
           eave_dtype_is_float(eave_nn_dtype(m, step, 1)) && eave_nn_rank(m, step, 0) == 3 &&
           eave_nn_rank(m, step, 1) == 3 &&
           eave_nn_dtype(m, step, step->input_count) == EAVE_DTYPE_I64 &&
           eave_nn_rank(m, step, step->input_count) == 2;
  return ok ? NULL : EAVE_INVALID("NonMaxSuppression: unsupported element types or ranks");
}

eave_status eave_builtin_nms_run(eave_builtin_ctx* ctx, const uint8_t* params, uint32_t size) {
  eave_tensor_view boxes, scores, y;
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 0, "boxes", &boxes));
  EAVE_RETURN_IF_ERROR(eave_nn_input(ctx, 1, "scores", &scores));
  int64_t nb = boxes.dims[0], ns = boxes.dims[1], nc = scores.dims[1];
  if (boxes.dims[2] != 4 || scores.dims[0] != nb || scores.dims[2] != ns)
    return EAVE_RUN_ERROR("boxes must have shape [B, S, 4] and scores [B, C, S]");
  double max_out, iou_threshold, score_threshold;
  EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 2, "max_output_boxes_per_class", 0, &max_out));
  EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 3, "iou_threshold", 0, &iou_threshold));
  EAVE_RETURN_IF_ERROR(eave_nn_scalar(ctx, 4, "score_threshold", -INFINITY, &score_threshold));
  int center = eave_attr_int(params, size, "center_point_box", 0) != 0;
  int64_t per_class = max_out < (double)ns ? (max_out > 0 ? (int64_t)max_out : 0) : ns;
  if (!per_class) nb = 0; /* nothing to select (and nb * nc * ns may not fit when ns is 0) */

  /* Scratch: a batch's boxes as (y1, x1, y2, x2), a class's candidates, the kept boxes, and
   * all selected rows. */
  double* bx;
  candidate* order;
  int64_t *kept, *rows;
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)ns, 4, sizeof *bx, (void**)&bx));
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)ns, 1, sizeof *order, (void**)&order));
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)ns, 1, sizeof *kept, (void**)&kept));
  EAVE_RETURN_IF_ERROR(eave_nn_scratch(ctx, (uint64_t)(nb * nc), (uint64_t)per_class * 3,
                                       sizeof *rows, (void**)&rows));
  int64_t count = 0;
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t s = 0; s < ns; ++s) {
      double v[4], *o = bx + s * 4;
      for (int j = 0; j < 4; ++j)
        v[j] = eave_elem_f64(boxes.dtype, boxes.data, (uint64_t)((b * ns + s) * 4 + j));
      if (center) { /* (x_center, y_center, width, height) */
        o[0] = v[1] - v[3] / 2, o[1] = v[0] - v[2] / 2, o[2] = v[1] + v[3] / 2,
        o[3] = v[0] + v[2] / 2;
      } else {
        o[0] = v[0] < v[2] ? v[0] : v[2], o[2] = v[0] < v[2] ? v[2] : v[0];
        o[1] = v[1] < v[3] ? v[1] : v[3], o[3] = v[1] < v[3] ? v[3] : v[1];
      }
    }
    for (int64_t c = 0; c < nc; ++c) {
      int64_t n = 0, nk = 0;
      for (int64_t s = 0; s < ns; ++s) {
        double score = eave_elem_f64(scores.dtype, scores.data, (uint64_t)((b * nc + c) * ns + s));
        if (score > score_threshold || score_threshold == -INFINITY)
          order[n++] = (candidate){score, s};
      }
      qsort(order, (size_t)n, sizeof *order, by_score);
      for (int64_t i = 0; i < n && nk < per_class; ++i) {
        int64_t s = order[i].box, keep = 1;
        for (int64_t t = 0; t < nk && keep; ++t)
          keep = iou(bx + s * 4, bx + kept[t] * 4) <= iou_threshold;
        if (!keep) continue;
        kept[nk++] = s;
        rows[count * 3] = b, rows[count * 3 + 1] = c, rows[count * 3 + 2] = s;
        ++count;
      }
    }
  }
  int64_t dims[2] = {count, 3};
  EAVE_RETURN_IF_ERROR(eave_builtin_output_shaped(ctx, 0, 2, dims, &y));
  if (count) memcpy(y.data, rows, (size_t)count * 3 * sizeof *rows);
  return NULL;
}
