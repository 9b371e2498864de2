#include "tools/common/cli.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
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

TEST(Nearest, SuggestsALikelyTypoAndNothingFarOff) {
  const std::vector<std::string> options = {"--json", "--dir", "--credential", "--help"};
  EXPECT_EQ(nearest("--jsn", options), std::optional<std::string>("--json"));
  EXPECT_EQ(nearest("--dri", options), std::optional<std::string>("--dir"));  // a swap is one edit
  EXPECT_EQ(nearest("--credentail", options), std::optional<std::string>("--credential"));
  EXPECT_EQ(nearest("--frobnicate", options), std::nullopt);
  EXPECT_EQ(nearest("--json", options), std::nullopt);  // not a typo
  EXPECT_EQ(nearest("x", {"di", "to1"}), std::nullopt);
  EXPECT_EQ(nearest("shwo", {"di", "show", "to1"}), std::optional<std::string>("show"));
}

TEST(DescribeException, FilesystemErrorsNameThePathOnOneLine) {
  const std::filesystem::filesystem_error fs("cannot open", "/nowhere/x",
                                             std::make_error_code(std::errc::no_such_file_or_directory));
  EXPECT_EQ(describe_exception(fs), "/nowhere/x: No such file or directory");
  EXPECT_EQ(describe_exception(std::runtime_error("two\nlines")), "two lines");
}

TEST(ErrorKind, NamesWhereAFailureArose) {
  EXPECT_EQ(error_kind(ErrorSource::Peer), "peer");
  EXPECT_EQ(error_kind(ErrorSource::Transport), "transport");
  EXPECT_EQ(error_kind(ErrorSource::Local), "refused");
}

TEST(Parse, VersionPrintsNameAndProjectVersion) {
  CLI::App app{"test"};
  setup_app(app, "fdo-test");
  std::vector<const char*> args = {"fdo-test", "--version"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(parse(app, static_cast<int>(args.size()), args.data()), std::optional<int>(0));
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "fdo-test " + std::string(version()) + "\n");
  EXPECT_FALSE(version().empty());
}

TEST(Parse, AnUnknownOptionNamesTheNearestAndExitsTwo) {
  CLI::App app{"test"};
  setup_app(app, "fdo-test");
  CLI::App* show = app.add_subcommand("show", "Show");
  bool json = false;
  show->add_flag("--json", json);
  std::vector<const char*> args = {"fdo-test", "show", "--jsn"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(parse(app, static_cast<int>(args.size()), args.data()), std::optional<int>(kUsageError));
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "fdo-test show: unknown option --jsn; did you mean --json?\n");
}

TEST(GuidValidator, AcceptsBothFormsAndNamesTheBadText) {
  const CLI::Validator v = guid_validator();
  std::string hex = "ac00da6107e8405eacc494aef3f68966";
  std::string uuid = "ac00da61-07e8-405e-acc4-94aef3f68966";
  std::string bad = "ac00da61";
  EXPECT_EQ(v(hex), "");
  EXPECT_EQ(v(uuid), "");
  EXPECT_NE(v(bad).find("GUID 'ac00da61'"), std::string::npos) << v(bad);
}

}  // namespace
}  // namespace fdo::tool
