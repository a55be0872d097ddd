// The compiler's side of a static-lib build, by hand: describes the program that runs
// kernels.c's kernel and writes it as C source (model_data.c) and a header (model.h).
//   make_model OUT_DIR ARCH
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include "codegen/artifact_writer.h"
#include "tests/runtime/test_models.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_model OUT_DIR ARCH\n");
    return 2;
  }
  try {
    using namespace eave::artifact;
    ArtifactWriter w;
    w.set_target(eave::testing::target_for(argv[2]));  // no code: the kernels are linked in
    ProgramBuilder& p = w.main();
    ValueId x = p.add_input("x", EAVE_DTYPE_F32, {8});
    ValueId y = p.add_output("y", EAVE_DTYPE_F32, {8});
    p.add_kernel("square_plus_one", 0, 8, {x}, {y});
    std::string dir = argv[1];
    std::ofstream(dir + "/model_data.c") << w.static_model_source("hello_model", "hello_kernels");
    std::ofstream(dir + "/model.h") << ArtifactWriter::static_model_header("hello_model");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
