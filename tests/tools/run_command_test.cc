// The CLI's exit codes: 0 ok, 1 for a user error (eave::Error, out of memory), 2 for anything
// else (a bug), with the message on stderr.
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "support/error.h"
#include "tools/commands.h"

namespace eave {
namespace {

int ok(int, char**) { return 0; }
int user_error(int, char**) { fail("node 'x' (Relu): expected a tensor"); }
int invariant(int, char**) { internal_fail("broken invariant"); }
int std_error(int, char**) { throw std::out_of_range("vector::at"); }
int oom(int, char**) { throw std::bad_alloc(); }
int odd(int, char**) { throw 42; }

TEST(RunCommand, MapsExceptionsToExitCodes) {
  char arg0[] = "eave";
  char* argv[] = {arg0, nullptr};
  EXPECT_EQ(run_command(ok, 1, argv), 0);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_command(user_error, 1, argv), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "error: node 'x' (Relu): expected a tensor\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_command(oom, 1, argv), 1);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "error: out of memory\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_command(invariant, 1, argv), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "internal error: broken invariant\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_command(std_error, 1, argv), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "internal error: vector::at\n");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run_command(odd, 1, argv), 2);
  ::testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace eave
