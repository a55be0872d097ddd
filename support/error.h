// Errors by layer: a user-facing `Error` (bad model, bad input, unsupported feature) carries a
// message that names the node, op or field at fault; `InternalError` marks a broken invariant,
// i.e. a bug in eave. The CLI maps them to exit codes 1 and 2.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace eave {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// Concatenates anything streamable: str_cat("node '", name, "': rank ", r).
template <class... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <class... Args>
[[noreturn]] void fail(Args&&... args) {
  throw Error(str_cat(std::forward<Args>(args)...));
}

template <class... Args>
[[noreturn]] void internal_fail(Args&&... args) {
  throw InternalError(str_cat(std::forward<Args>(args)...));
}

#define EAVE_CHECK(cond, ...)                 \
  do {                                        \
    if (!(cond)) ::eave::fail(__VA_ARGS__);   \
  } while (0)

#define EAVE_ASSERT(cond)                                                                   \
  do {                                                                                      \
    if (!(cond))                                                                            \
      ::eave::internal_fail(__FILE__, ":", __LINE__, ": internal invariant failed: " #cond); \
  } while (0)

}  // namespace eave
