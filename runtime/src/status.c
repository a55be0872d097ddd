#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct eave_status_object {
  eave_status_code code;
  char message[];
};

/* Returned when there is no memory for a status; never freed. */
static struct {
  eave_status_code code;
  char message[48];
} oom_status = {EAVE_STATUS_OUT_OF_MEMORY, "out of memory (while reporting an error)"};

static eave_status make_status_v(eave_status_code code, const char* prefix, const char* fmt,
                                 va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  size_t plen = strlen(prefix);
  if (n < 0) n = 0;
  eave_status s = malloc(sizeof *s + plen + (size_t)n + 1);
  if (!s) return (eave_status)&oom_status;
  s->code = code;
  memcpy(s->message, prefix, plen);
  vsnprintf(s->message + plen, (size_t)n + 1, fmt, ap);
  return s;
}

eave_status eave_make_status(eave_status_code code, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  eave_status s = make_status_v(code, "", fmt, ap);
  va_end(ap);
  return s;
}

eave_status eave_status_annotate(eave_status status, const char* fmt, ...) {
  if (!status || status == (eave_status)&oom_status) return status;
  char prefix[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  eave_status s = eave_make_status(status->code, "%s%s", prefix, status->message);
  eave_status_release(status);
  return s;
}

eave_status_code eave_status_get_code(eave_status status) {
  return status ? status->code : EAVE_STATUS_OK;
}

const char* eave_status_get_message(eave_status status) { return status ? status->message : ""; }

const char* eave_status_code_name(eave_status_code code) {
  switch (code) {
    case EAVE_STATUS_OK: return "OK";
    case EAVE_STATUS_INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case EAVE_STATUS_NOT_FOUND: return "NOT_FOUND";
    case EAVE_STATUS_INVALID_ARTIFACT: return "INVALID_ARTIFACT";
    case EAVE_STATUS_UNSUPPORTED: return "UNSUPPORTED";
    case EAVE_STATUS_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case EAVE_STATUS_FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case EAVE_STATUS_RUN_ERROR: return "RUN_ERROR";
    case EAVE_STATUS_IO_ERROR: return "IO_ERROR";
    case EAVE_STATUS_INTERNAL: return "INTERNAL";
  }
  return "UNKNOWN";
}

void eave_status_release(eave_status status) {
  if (status && status != (eave_status)&oom_status) free(status);
}
