// Writes the smoke model (test_models.h) for one architecture:
//   make_test_artifact ARCH KERNELS.so OUT.eave [EXTRA_FEATURE]
// EXTRA_FEATURE adds a required CPU feature (the cross test uses "v" to check the error).
#include <cstdio>
#include <exception>

#include "tests/runtime/test_models.h"

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5) {
    std::fprintf(stderr, "usage: make_test_artifact ARCH KERNELS.so OUT.eave [FEATURE]\n");
    return 2;
  }
  try {
    eave::artifact::ArtifactWriter w;
    eave::artifact::Target t = eave::testing::target_for(argv[1]);
    if (argc == 5) t.features.push_back(argv[4]);
    w.set_target(t);
    w.set_code(eave::testing::read_file(argv[2]));
    eave::testing::build_smoke_model(w);
    w.write_file(argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_test_artifact: %s\n", e.what());
    return 1;
  }
  return 0;
}
