#include <cstdio>

#include "import/onnx_importer.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "support/args.h"
#include "tools/commands.h"

namespace eave {

int cmd_print(int argc, char** argv) {
  std::string model_path;
  int64_t max_elems = 8;
  ArgParser p("print", "Imports a model and prints its graph IR.");
  p.positional("MODEL.onnx", &model_path, "the model to print");
  p.option("--max-constant-elements", &max_elems, "print constants up to N elements (default 8)");
  p.example("eave print model.onnx");
  if (!p.parse(argc, argv, 2)) return 0;
  auto model = import_onnx_file(model_path);
  verify(*model);
  PrintOptions po;
  po.max_constant_elements = max_elems;
  std::fputs(print_model(*model, po).c_str(), stdout);
  return 0;
}

}  // namespace eave
