/* A firmware-style program: the model (program, weights and kernels) is linked in, so it runs
 * with no file system and no ELF loader. Uses only the public header and model.h. */
#include <eave/runtime.h>
#include <stdio.h>

#include "model.h"

static int failed(eave_status st, const char* what) {
  if (!st) return 0;
  printf("static_lib: %s: %s\n", what, eave_status_get_message(st));
  eave_status_release(st);
  return 1;
}

int main(void) {
  eave_model* model = NULL;
  eave_session* session = NULL;
  float x[8] = {0, 1, 2, 3, -1, -2, 0.5f, 10};
  float y[8] = {0};
  int64_t dims[1] = {8};
  eave_tensor input = {EAVE_DTYPE_F32, 1, dims, x, sizeof x};
  if (failed(eave_model_load_static(&hello_model, NULL, &model), "load") ||
      failed(eave_session_create(model, NULL, &session), "session") ||
      failed(eave_session_bind_input(session, 0, &input), "bind input") ||
      failed(eave_session_bind_output(session, 0, y, sizeof y), "bind output") ||
      failed(eave_session_run(session), "run"))
    return 1;
  int bad = 0;
  for (int i = 0; i < 8; ++i) bad |= y[i] != x[i] * x[i] + 1.0f;
  eave_session_release(session);
  eave_model_release(model);
  printf("static model: %s\n", bad ? "WRONG RESULTS" : "OK");
  return bad;
}
