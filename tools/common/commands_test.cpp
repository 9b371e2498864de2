#include "tools/common/commands.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libfdo/core/error.h"

namespace fdo::tool {
namespace {

// Runs `commands` on a command line given as words (argv[0] first).
int run(Commands& commands, std::vector<std::string> words) {
  std::vector<char*> argv;
  for (std::string& w : words) {
    argv.push_back(w.data());
  }
  return commands.run(static_cast<int>(argv.size()), argv.data());
}

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() : m_app("fdo-test: a tool", "fdo-test"), m_commands(m_app, "test") {
    CLI::App& ok = m_commands.add("ok", "Succeeds", [this] {
      ++m_ran;
      return 0;
    });
    ok.add_option("--n", m_n, "A number");
    m_commands.add("fail", "Throws", []() -> int { throw_invalid("the check failed"); });
    m_commands.add("status", "Returns 1 without throwing", [] { return kFailure; });
  }

  CLI::App m_app;
  Commands m_commands;
  int m_ran = 0;
  int m_n = 0;
};

TEST_F(CommandsTest, RunsTheChosenSubcommandOnce) {
  EXPECT_EQ(run(m_commands, {"fdo-test", "ok", "--n", "7", "--log-level", "warn"}), 0);
  EXPECT_EQ(m_ran, 1);
  EXPECT_EQ(m_n, 7);
}

TEST_F(CommandsTest, ActionStatusIsTheExitStatus) {
  EXPECT_EQ(run(m_commands, {"fdo-test", "status"}), kFailure);
}

TEST_F(CommandsTest, ThrownErrorIsPrintedWithToolAndSubcommandAndExitsOne) {
  ::testing::internal::CaptureStderr();
  const int status = run(m_commands, {"fdo-test", "fail"});
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, kFailure);
  EXPECT_EQ(err, "fdo-test fail: the check failed\n");
}

TEST_F(CommandsTest, UsageErrorsExitTwo) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(m_commands, {"fdo-test"}), kUsageError);
  EXPECT_EQ(run(m_commands, {"fdo-test", "ok", "--bogus"}), kUsageError);
  EXPECT_EQ(run(m_commands, {"fdo-test", "ok", "--log-level", "loud"}), kUsageError);
  static_cast<void>(::testing::internal::GetCapturedStderr());
  EXPECT_EQ(m_ran, 0);
}

TEST_F(CommandsTest, HelpExitsZeroAndListsLogLevel) {
  ::testing::internal::CaptureStdout();
  const int status = run(m_commands, {"fdo-test", "ok", "--help"});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("--log-level"), std::string::npos) << out;
  EXPECT_EQ(m_ran, 0);
}

}  // namespace
}  // namespace fdo::tool
