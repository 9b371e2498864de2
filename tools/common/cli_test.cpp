#include "tools/common/cli.h"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "libfdo/core/error.h"

namespace fdo::tool {
namespace {

TEST(Parse, HelpIsExitZeroAndAUsageErrorExitTwo) {
  CLI::App app{"test"};
  std::string level = "info";
  add_log_level(app, level);
  std::vector<const char*> help = {"test", "--help"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(parse(app, static_cast<int>(help.size()), help.data()), std::optional<int>(0));
  static_cast<void>(::testing::internal::GetCapturedStdout());
  std::vector<const char*> bad = {"test", "--log-level", "loud"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(parse(app, static_cast<int>(bad.size()), bad.data()), std::optional<int>(kUsageError));
  static_cast<void>(::testing::internal::GetCapturedStderr());
  std::vector<const char*> good = {"test", "--log-level", "debug"};
  EXPECT_EQ(parse(app, static_cast<int>(good.size()), good.data()), std::nullopt);
  EXPECT_EQ(level, "debug");
}

TEST(RunReportingErrors, AnyExceptionIsPrintedWithThePrefixAndExitsOne) {
  ::testing::internal::CaptureStderr();
  const int status = run_reporting_errors("fdo-test", []() -> int { throw std::runtime_error("disk gone"); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "fdo-test: disk gone\n");
  EXPECT_EQ(status, kFailure);
  EXPECT_EQ(run_reporting_errors("fdo-test", [] { return 0; }), 0);
}

TEST(CheckOptions, AnErrorIsAUsageErrorNamingTheOption) {
  ::testing::internal::CaptureStderr();
  const std::optional<int> bad =
      check_options("fdo-test serve", []() -> int { throw_body_error("--listen: expected HOST:PORT"); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "fdo-test serve: --listen: expected HOST:PORT\n");
  EXPECT_FALSE(bad.has_value());
  EXPECT_EQ(check_options("fdo-test serve", [] { return 5; }), std::optional<int>(5));
}

}  // namespace
}  // namespace fdo::tool
