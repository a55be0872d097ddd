/* Making and passing statuses inside the runtime. */
#ifndef EAVE_STATUS_H_
#define EAVE_STATUS_H_

#include "eave/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define EAVE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define EAVE_PRINTF(f, a)
#endif

/* A new status with a formatted message. If there is no memory for it, a static
 * OUT_OF_MEMORY status comes back instead (release ignores it). */
eave_status eave_make_status(eave_status_code code, const char* fmt, ...) EAVE_PRINTF(2, 3);

/* Prefixes the message of `status` with context ("step 3 'Conv_1': "), keeping its code.
 * Returns NULL for NULL. */
eave_status eave_status_annotate(eave_status status, const char* fmt, ...) EAVE_PRINTF(2, 3);

/* The statuses for a malformed artifact and for a data-dependent failure while running. */
#define EAVE_INVALID(...) eave_make_status(EAVE_STATUS_INVALID_ARTIFACT, __VA_ARGS__)
#define EAVE_RUN_ERROR(...) eave_make_status(EAVE_STATUS_RUN_ERROR, __VA_ARGS__)

#define EAVE_RETURN_IF_ERROR(expr) \
  do {                             \
    eave_status status_ = (expr);  \
    if (status_) return status_;   \
  } while (0)

#ifdef __cplusplus
}
#endif

#endif /* EAVE_STATUS_H_ */
