/* TFIDF_VECTORIZER: ONNX TfIdfVectorizer, after reference/misc.cc. X (i32/i64 for an integer
 * pool, pool_int64s; strings for a string pool, pool_strings; [C] or [N, C]) -> Y f32 [W] or
 * [N, W], W = max(ngram_indexes) + 1. Each row counts the pool's n-grams of lengths
 * min_gram_length..max_gram_length, taking every (skip+1)-th item for skips 0..max_skip_count
 * (1-grams once); Y holds the counts (TF), the weights of the n-grams present (IDF) or counts
 * times weights (TFIDF) at ngram_indexes.
 * Pool n-grams of length g + 1 are pool[ngram_counts[g] .. ngram_counts[g + 1]); a pool n-gram
 * listed twice counts at its first position, as in the reference. Strings are matched as ids
 * (items_of), so both pools share one matcher.
 *
 * Lookups binary-search each length's n-grams, sorted once per run in scratch, so a row costs
 * O(C * log pool) per length and skip rather than O(C * pool). */
#include <stdio.h>

#include "data.h"

typedef enum tfidf_mode { TFIDF_TF, TFIDF_IDF, TFIDF_TFIDF } tfidf_mode;

/* The validated attributes. */
typedef struct tfidf {
  tfidf_mode mode;
  int64_t min_n, max_n, max_skip;
  int strings;                              /* pool_strings rather than pool_int64s */
  eave_attr pool, counts, indexes, weights; /* weights.n == 0 when absent */
  int64_t ngrams;                           /* pool n-grams, == indexes.n */
  int64_t width;                            /* max(ngram_indexes) + 1 */
} tfidf;

static int find_int(const uint8_t* blob, uint32_t size, const char* name, int64_t* v) {
  eave_attr a;
  if (!eave_attrs_find(blob, size, name, &a) || a.kind != EAVE_ATTR_INT) return 0;
  *v = a.i;
  return 1;
}

static int find_kind(const uint8_t* blob, uint32_t size, const char* name, eave_attr_kind kind,
                     eave_attr* a) {
  return eave_attrs_find(blob, size, name, a) && a->kind == kind;
}

/* Reads and checks every attribute against the others, so that no index the run takes from
 * them is out of bounds: a message in `err` (and 0) if one is missing or inconsistent. Both
 * the load-time check and the run call it. */
static int tfidf_parse(const uint8_t* blob, uint32_t size, tfidf* t, char* err, size_t err_size) {
  eave_attr mode;
  if (!find_kind(blob, size, "mode", EAVE_ATTR_STRING, &mode))
    return snprintf(err, err_size, "mode (a string) is required"), 0;
  static const char* const kModes[] = {"TF", "IDF", "TFIDF"};
  int m = -1;
  for (int i = 0; i < 3; ++i)
    if (mode.n == strlen(kModes[i]) && !memcmp(mode.data, kModes[i], mode.n)) m = i;
  if (m < 0) return snprintf(err, err_size, "mode must be TF, IDF or TFIDF"), 0;
  t->mode = (tfidf_mode)m;
  if (!find_int(blob, size, "min_gram_length", &t->min_n) ||
      !find_int(blob, size, "max_gram_length", &t->max_n) ||
      !find_int(blob, size, "max_skip_count", &t->max_skip))
    return snprintf(err, err_size,
                    "min_gram_length, max_gram_length and max_skip_count are required"),
           0;
  if (t->min_n < 1 || t->min_n > t->max_n || t->max_skip < 0)
    return snprintf(err, err_size,
                    "needs 1 <= min_gram_length (%lld) <= max_gram_length (%lld) and "
                    "max_skip_count (%lld) >= 0",
                    (long long)t->min_n, (long long)t->max_n, (long long)t->max_skip),
           0;
  eave_attr any;
  t->strings = find_kind(blob, size, "pool_strings", EAVE_ATTR_STRINGS, &t->pool);
  if (t->strings == eave_attrs_find(blob, size, "pool_int64s", &any) ||
      (!t->strings && !find_kind(blob, size, "pool_int64s", EAVE_ATTR_INTS, &t->pool)))
    return snprintf(err, err_size, "exactly one of pool_strings and pool_int64s is required"), 0;
  if (!find_kind(blob, size, "ngram_counts", EAVE_ATTR_INTS, &t->counts) ||
      !find_kind(blob, size, "ngram_indexes", EAVE_ATTR_INTS, &t->indexes))
    return snprintf(err, err_size, "ngram_counts and ngram_indexes are required"), 0;

  int64_t pool = t->pool.n;
  t->ngrams = 0;
  for (uint32_t g = 0; g < t->counts.n; ++g) {
    int64_t len = (int64_t)g + 1, begin = eave_attr_ints_at(&t->counts, g);
    int64_t end = g + 1 < t->counts.n ? eave_attr_ints_at(&t->counts, g + 1) : pool;
    if (begin < 0 || begin > end || end > pool || (end - begin) % len)
      return snprintf(err, err_size,
                      "ngram_counts does not split the pool (%lld items): n-grams of "
                      "length %lld at [%lld, %lld)",
                      (long long)pool, (long long)len, (long long)begin, (long long)end),
             0;
    t->ngrams += (end - begin) / len;
  }
  if ((int64_t)t->indexes.n != t->ngrams)
    return snprintf(err, err_size, "ngram_indexes has %u entries for %lld pool n-grams",
                    t->indexes.n, (long long)t->ngrams),
           0;
  t->width = 0;
  for (uint32_t i = 0; i < t->indexes.n; ++i) {
    int64_t v = eave_attr_ints_at(&t->indexes, i);
    if (v < 0 || v == INT64_MAX)
      return snprintf(err, err_size, "ngram_indexes[%u] = %lld is out of range", i, (long long)v),
             0;
    if (v + 1 > t->width) t->width = v + 1;
  }
  memset(&t->weights, 0, sizeof t->weights);
  if (eave_attrs_find(blob, size, "weights", &any)) {
    if (any.kind != EAVE_ATTR_FLOATS)
      return snprintf(err, err_size, "weights must be a list of floats"), 0;
    if (any.n && (int64_t)any.n != t->ngrams)
      return snprintf(err, err_size, "weights has %u entries for %lld pool n-grams", any.n,
                      (long long)t->ngrams),
             0;
    t->weights = any;
  }
  return 1;
}

eave_status eave_builtin_tfidf_vectorizer_check(const eave_model* m, const eave_step* step,
                                                const uint8_t* params) {
  EAVE_RETURN_IF_ERROR(eave_data_check(m, step, "TfIdfVectorizer", 1, 1, "*|*"));
  const eave_value *x = eave_step_value(m, step, 0), *y = eave_step_value(m, step, 1);
  if (x->rank != 1 && x->rank != 2)
    return EAVE_INVALID("TfIdfVectorizer: input must have shape [C] or [N, C]");
  if (y->dtype != EAVE_DTYPE_F32 || y->rank != x->rank)
    return EAVE_INVALID("TfIdfVectorizer: output must be f32 of the input's rank");
  tfidf t;
  char err[160];
  if (!tfidf_parse(params, step->params_size, &t, err, sizeof err))
    return EAVE_INVALID("TfIdfVectorizer: %s", err);
  if (t.strings ? x->dtype != EAVE_DTYPE_STRING
                : x->dtype != EAVE_DTYPE_I32 && x->dtype != EAVE_DTYPE_I64)
    return EAVE_INVALID("TfIdfVectorizer: input dtype %s does not match the pool",
                        eave_dtype_name((eave_dtype)x->dtype));
  return NULL;
}

/* The pool n-grams of one length: ids [id0, id0 + count), n-gram id at pool position
 * begin + (id - id0) * len. */
typedef struct ngram_group {
  const int64_t* pool;
  int64_t begin, id0, count, len;
} ngram_group;

static int64_t pool_at(const ngram_group* g, int64_t id, int64_t t) {
  return g->pool[g->begin + (id - g->id0) * g->len + t];
}

/* Compares entry i of a STRINGS attribute with the `n` bytes at s: bytes first, then length. */
static int text_cmp(const eave_attr* pool, int64_t i, const char* s, size_t n) {
  uint32_t len;
  const char* p = eave_attr_strings_at(pool, (uint32_t)i, &len);
  int c = memcmp(p, s, len < n ? len : n);
  return c ? c : (len > n) - (len < n);
}

static int text_less(const void* pool, int64_t a, int64_t b) {
  uint32_t len;
  const char* s = eave_attr_strings_at(pool, (uint32_t)b, &len);
  return text_cmp(pool, a, s, len) < 0;
}

/* The items n-grams are made of, as int64: an integer pool and input as they are; for a string
 * pool, each pool string's rank among the pool's distinct strings, and each input string the
 * rank of the equal pool string, or -1. */
static eave_status items_of(eave_data_op* op, const tfidf* t, const eave_tensor_view* x,
                            int64_t** pool, int64_t** xs) {
  uint64_t np = t->pool.n, nx = eave_view_numel(x);
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, np, pool));
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, nx, xs));
  if (!t->strings) {
    for (uint64_t i = 0; i < np; ++i) (*pool)[i] = eave_attr_ints_at(&t->pool, (uint32_t)i);
    for (uint64_t i = 0; i < nx; ++i) (*xs)[i] = eave_elem_i64(x->dtype, x->data, i);
    return NULL;
  }
  int64_t* order;
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, 2 * np, &order));
  for (uint64_t i = 0; i < np; ++i) order[i] = (int64_t)i;
  eave_sort(order, order + np, np, text_less, &t->pool);
  for (uint64_t k = 0, rank = 0; k < np; ++k) {
    if (k && text_less(&t->pool, order[k - 1], order[k])) ++rank;
    (*pool)[order[k]] = (int64_t)rank;
  }
  for (uint64_t i = 0; i < nx; ++i) {
    const char* s = eave_string_at(x->data, i);
    size_t n = strlen(s);
    uint64_t lo = 0, hi = np;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo) / 2;
      if (text_cmp(&t->pool, order[mid], s, n) < 0) lo = mid + 1;
      else hi = mid;
    }
    (*xs)[i] = lo < np && !text_cmp(&t->pool, order[lo], s, n) ? (*pool)[order[lo]] : -1;
  }
  return NULL;
}

static int ngram_less(const void* ctx, int64_t a, int64_t b) {
  const ngram_group* g = ctx;
  for (int64_t t = 0; t < g->len; ++t) {
    int64_t va = pool_at(g, a, t), vb = pool_at(g, b, t);
    if (va != vb) return va < vb;
  }
  return 0;
}

/* The first (lowest) id in sorted[0, count) whose n-gram equals the `len` items of x from
 * `at`, `step` apart; -1 if none does. */
static int64_t ngram_find(const ngram_group* g, const int64_t* sorted, const int64_t* x,
                          int64_t at, int64_t step) {
  int64_t lo = 0, hi = g->count; /* lower bound: the first n-gram not below the window */
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2, below = 0;
    for (int64_t t = 0; t < g->len; ++t) {
      int64_t p = pool_at(g, sorted[mid], t);
      int64_t v = x[at + t * step];
      if (p != v) {
        below = p < v;
        break;
      }
    }
    if (below) lo = mid + 1;
    else hi = mid;
  }
  if (lo == g->count) return -1;
  for (int64_t t = 0; t < g->len; ++t)
    if (pool_at(g, sorted[lo], t) != x[at + t * step])
      return -1;
  return sorted[lo];
}

EAVE_DATA_RUN(tfidf_vectorizer) {
  tfidf t;
  char err[160];
  if (!tfidf_parse(op->attrs, op->attrs_size, &t, err, sizeof err))
    return EAVE_RUN_ERROR("%s", err);
  const eave_tensor_view* x = &op->in[0];
  if (x->rank != 1 && x->rank != 2) return EAVE_RUN_ERROR("input must have shape [C] or [N, C]");
  int64_t rows = x->rank == 2 ? x->dims[0] : 1, cols = x->dims[x->rank - 1];
  int64_t dims[2] = {rows, t.width};
  eave_tensor_view y;
  EAVE_RETURN_IF_ERROR(eave_out(op, 0, x->rank, x->rank == 2 ? dims : dims + 1, &y));
  if (eave_empty(&y)) return NULL;
  float* out = y.data;
  memset(out, 0, (size_t)y.bytes);
  if (!t.ngrams || !cols) return NULL;

  /* Scratch: ids sorted by n-gram within each length, the sort's buffer, counts per id. */
  int64_t *sorted, *tmp, *count, *pool, *xs;
  EAVE_RETURN_IF_ERROR(items_of(op, &t, x, &pool, &xs));
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, (uint64_t)t.ngrams, &sorted));
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, (uint64_t)t.ngrams, &tmp));
  EAVE_RETURN_IF_ERROR(eave_scratch_i64(op, (uint64_t)t.ngrams, &count));
  /* Lengths past max_gram_length (or past the pool's) are never looked up. */
  uint32_t lengths = t.max_n < (int64_t)t.counts.n ? (uint32_t)t.max_n : t.counts.n;
  int64_t id = 0;
  for (uint32_t g = 0; g < t.counts.n; ++g) {
    int64_t begin = eave_attr_ints_at(&t.counts, g);
    int64_t end = g + 1 < t.counts.n ? eave_attr_ints_at(&t.counts, g + 1) : (int64_t)t.pool.n;
    ngram_group grp = {pool, begin, id, (end - begin) / (g + 1), (int64_t)g + 1};
    for (int64_t i = 0; i < grp.count; ++i) sorted[id + i] = id + i;
    /* Stable: equal n-grams keep ascending ids, so a lookup finds the first one. */
    if (g < lengths) eave_sort(sorted + id, tmp, (uint64_t)grp.count, ngram_less, &grp);
    id += grp.count;
  }

  for (int64_t row = 0; row < rows; ++row) {
    memset(count, 0, (size_t)t.ngrams * sizeof *count);
    id = 0;
    for (uint32_t g = 0; g < lengths; ++g) {
      int64_t begin = eave_attr_ints_at(&t.counts, g);
      int64_t end = g + 1 < t.counts.n ? eave_attr_ints_at(&t.counts, g + 1) : (int64_t)t.pool.n;
      ngram_group grp = {pool, begin, id, (end - begin) / (g + 1), (int64_t)g + 1};
      id += grp.count;
      if (grp.len < t.min_n || !grp.count) continue;
      int64_t max_skip = grp.len == 1 ? 0 : t.max_skip;
      /* skip stops growing once the n-gram spans the row, so span never overflows. */
      for (int64_t skip = 0; skip <= max_skip; ++skip) {
        int64_t span = (grp.len - 1) * (skip + 1);
        if (span >= cols) break;
        for (int64_t start = 0; start + span < cols; ++start) {
          int64_t hit = ngram_find(&grp, sorted + grp.id0, xs, row * cols + start, skip + 1);
          if (hit >= 0) ++count[hit];
        }
      }
    }
    for (int64_t i = 0; i < t.ngrams; ++i) {
      if (!count[i]) continue;
      double w = t.weights.n ? eave_attr_floats_at(&t.weights, (uint32_t)i) : 1.0;
      double c = (double)count[i];
      double v = t.mode == TFIDF_TF ? c : t.mode == TFIDF_IDF ? w : c * w;
      out[row * t.width + eave_attr_ints_at(&t.indexes, (uint32_t)i)] = (float)v;
    }
  }
  return NULL;
}
