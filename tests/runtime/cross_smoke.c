/* The cross-target smoke test: built with a Debian cross compiler together with the runtime
 * sources (plain C11) and run under qemu-user on the smoke artifact (test_models.h).
 *
 *   cross_smoke MODEL.eave                  run it and check the output
 *   cross_smoke MODEL.eave --expect TEXT    expect loading to fail with TEXT in the message */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eave/runtime.h"

static int fail(eave_status st, const char* what) {
  printf("cross_smoke: %s: %s\n", what, eave_status_get_message(st));
  eave_status_release(st);
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--expect") == 0)) {
    printf("usage: cross_smoke MODEL.eave [--expect TEXT]\n");
    return 2;
  }
  eave_model* model = NULL;
  eave_status st = eave_model_load_file(argv[1], NULL, &model);
  if (argc == 4) {
    int ok = st && strstr(eave_status_get_message(st), argv[3]) != NULL;
    printf("cross_smoke: load %s: %s\n", ok ? "failed as expected" : "did not fail as expected",
           st ? eave_status_get_message(st) : "OK");
    eave_status_release(st);
    eave_model_release(model);
    return ok ? 0 : 1;
  }
  if (st) return fail(st, "load");
  eave_session_options options;
  eave_session_options_initialize(&options);
  options.threads = 3;
  eave_session* session = NULL;
  if ((st = eave_session_create(model, &options, &session))) return fail(st, "session");
  int bad = 0;
  for (int64_t batch = 1; batch <= 33; batch += 8) {
    float x[33 * 16];
    int64_t dims[2] = {batch, 16};
    for (int i = 0; i < batch * 16; ++i) x[i] = 0.01f * (float)(i % 97) - 0.3f;
    eave_tensor t = {EAVE_DTYPE_F32, 2, dims, x, sizeof x};
    eave_tensor z;
    if ((st = eave_session_bind_input(session, 0, &t)) || (st = eave_session_run(session)) ||
        (st = eave_session_get_output(session, 0, &z)))
      return fail(st, "run");
    for (int i = 0; i < batch * 16; ++i) {
      float want = 2.0f * (expf(x[i]) + 0.5f * (float)(i % 16));
      float got = ((const float*)z.data)[i];
      if (fabsf(got - want) > 1e-5f * fabsf(want)) {
        printf("cross_smoke: batch %lld element %d: got %g, want %g\n", (long long)batch, i, got,
               want);
        bad = 1;
        break;
      }
    }
  }
  eave_session_release(session);
  eave_model_release(model);
  printf("cross_smoke: %s\n", bad ? "FAILED" : "OK");
  return bad;
}
