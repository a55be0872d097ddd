// The subcommands of the `eave` CLI, one file each (tools/cmd_<name>.cc). Each returns the
// process exit code: 0 ok, 1 user error, 2 internal error (exceptions map to 1 and 2 in main).
#pragma once

namespace eave {

int cmd_compile(int argc, char** argv);
int cmd_run(int argc, char** argv);
int cmd_inspect(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_conformance(int argc, char** argv);
int cmd_run_reference(int argc, char** argv);
int cmd_print(int argc, char** argv);
int cmd_compare(int argc, char** argv);
int cmd_profile(int argc, char** argv);

// Runs a subcommand and maps what escapes it to the exit code: eave::Error (a user error) and
// out-of-memory print "error: ..." and give 1; any other exception prints "internal error: ..."
// and gives 2.
int run_command(int (*command)(int, char**), int argc, char** argv);

}  // namespace eave
