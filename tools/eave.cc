// The `eave` command-line tool: dispatches to one subcommand per file.
#include <cstdio>
#include <cstring>
#include <string>

#include "lowering/mlir_kernel_generator.h"
#include "support/error.h"
#include "tools/commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

constexpr Command kCommands[] = {
    {"compile", eave::cmd_compile, "compile an ONNX model into a .eave artifact"},
    {"run", eave::cmd_run, "run a .eave artifact with the runtime"},
    {"bench", eave::cmd_bench, "time a .eave artifact: median, p90, min latency, peak RSS"},
    {"inspect", eave::cmd_inspect, "describe a .eave artifact: signature, target, steps, memory"},
    {"compare", eave::cmd_compare, "compare a compiled model with the reference, value by value"},
    {"profile", eave::cmd_profile, "time each step of a .eave artifact; Chrome trace output"},
    {"run-reference", eave::cmd_run_reference, "run a model with the reference interpreter"},
    {"conformance", eave::cmd_conformance, "run the ONNX backend test suite"},
    {"print", eave::cmd_print, "print a model's graph IR"},
};

void usage(FILE* f) {
  std::fprintf(f, "usage: eave <command> [options]\n\ncommands:\n");
  for (const auto& c : kCommands) std::fprintf(f, "  %-16s %s\n", c.name, c.summary);
  std::fprintf(f,
               "\nexamples:\n"
               "  eave compile model.onnx -o model.eave\n"
               "  eave run model.eave --input x=x.npy --output-dir out/\n"
               "  eave compare model.onnx --against onnxruntime\n"
               "  eave profile model.eave --trace model.trace.json\n"
               "\nRun 'eave <command> --help' for a command's options and examples.\n"
               "Exit codes: 0 ok, 1 user error (the message says what to fix), 2 internal "
               "error.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  eave::use_mlir_kernel_generator();
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) == 0) return eave::run_command(c.run, argc, argv);
  }
  std::fprintf(stderr, "error: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 1;
}
