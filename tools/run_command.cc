#include <cstdio>
#include <new>

#include "support/error.h"
#include "tools/commands.h"

namespace eave {

int run_command(int (*command)(int, char**), int argc, char** argv) {
  try {
    return command(argc, argv);
  } catch (const Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 2;
  } catch (...) {
    std::fflush(stdout);
    std::fprintf(stderr, "internal error: an unknown exception\n");
    return 2;
  }
}

}  // namespace eave
