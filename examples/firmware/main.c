/* Firmware-style deployment: the model is compiled into this program (`eave compile
 * --emit static-lib` writes tiny_cnn.o and tiny_cnn.h), so there is no file to load and no
 * dynamic loader; the static runtime (libeave_runtime.a) runs it. Only the public header is
 * used. Prints the class probabilities for a synthetic image. */
#include <math.h>
#include <stdio.h>

#include "tiny_cnn.h"

#define CHECK(call)                                                                   \
  do {                                                                                \
    eave_status s_ = (call);                                                          \
    if (s_) {                                                                         \
      fprintf(stderr, "%s failed: %s\n", #call, eave_status_get_message(s_));         \
      eave_status_release(s_);                                                        \
      return 1;                                                                       \
    }                                                                                 \
  } while (0)

static float image[1 * 3 * 32 * 32];

int main(void) {
  for (int i = 0; i < 3 * 32 * 32; ++i) image[i] = (float)sin(0.01 * i);
  eave_model* model = NULL;
  CHECK(eave_model_load_static(&eave_model_tiny_cnn, NULL, &model));
  eave_session* session = NULL;
  CHECK(eave_session_create(model, NULL, &session));
  int64_t dims[4] = {1, 3, 32, 32};
  eave_tensor input = {EAVE_DTYPE_F32, 4, dims, image, sizeof image};
  CHECK(eave_session_bind_input(session, 0, &input));
  CHECK(eave_session_run(session));
  eave_tensor probs;
  CHECK(eave_session_get_output(session, 0, &probs));
  const float* p = probs.data;
  double sum = 0;
  int best = 0;
  for (int k = 0; k < probs.dims[1]; ++k) {
    sum += p[k];
    if (p[k] > p[best]) best = k;
  }
  printf("firmware model: class %d (p = %.4f), probabilities sum %.4f\n", best, p[best], sum);
  eave_session_release(session);
  eave_model_release(model);
  return fabs(sum - 1.0) < 1e-4 ? 0 : 1;
}
