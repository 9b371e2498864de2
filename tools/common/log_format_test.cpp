// tools/common/log_format.h: the JSON lines of --log-format json, and the text lines they replace.

#include "tools/common/log_format.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "tools/common/cli.h"

namespace fdo::tool {
namespace {

TEST(LogFormat, AJsonLineHasEveryKnownFieldEscaped) {
  const log::Record record{.time = "2026-12-01T17:00:00.123Z",
                           .level = log::Level::Warn,
                           .role = "rendezvous",
                           .guid = "00112233445566778899aabbccddeeff",
                           .msg_type = "TO1.ProveToRV",
                           .run_id = "3f2a9c01d4e5b6a7",
                           .correlation_id = "42",
                           .message = "said \"no\"\n\tback\\slash \x01"};
  EXPECT_EQ(json_log_line(record),
            R"({"time":"2026-12-01T17:00:00.123Z","level":"warn","role":"rendezvous",)"
            R"("guid":"00112233445566778899aabbccddeeff","msg_type":"TO1.ProveToRV","run_id":"3f2a9c01d4e5b6a7",)"
            R"("correlation_id":"42","message":"said \"no\"\n\tback\\slash \u0001"})");
}

TEST(LogFormat, FieldsNotKnownAreLeftOutButTheMessageStays) {
  const log::Record record{.time = "2026-12-01T17:00:00.000Z", .level = log::Level::Info, .role = "owner"};
  EXPECT_EQ(json_log_line(record), R"({"time":"2026-12-01T17:00:00.000Z","level":"info","role":"owner","message":""})");
}

TEST(LogFormat, TextIsTheDefaultLine) {
  const log::Record record{.time = "2026-12-01T17:00:00.000Z",
                           .level = log::Level::Error,
                           .role = "manufacturer",
                           .guid = "ab",
                           .msg_type = "DI.AppStart",
                           .message = "failed"};
  EXPECT_EQ(log::format_text(record), "2026-12-01T17:00:00.000Z ERROR manufacturer guid=ab failed");
}

TEST(LogFormat, TheScopeAddsTheRequestFieldsToEveryLine) {
  log::configure(log::Level::Info, "test");
  use_log_format("json");
  ::testing::internal::CaptureStderr();
  log::info("outside");
  {
    const log::Scope scope;
    log::annotate(log::Field::MsgType, "TO0.Hello");
    log::annotate(log::Field::RunId, "abcd");
    log::info("inside");
    {
      const log::Scope inner;
      log::annotate(log::Field::Guid, "0011");
      log::info("nested", "explicit");
    }
    log::info("back");
  }
  log::annotate(log::Field::RunId, "ignored");  // no scope open: nothing to annotate
  log::debug("below the level");
  log::info("after");
  const std::string err = ::testing::internal::GetCapturedStderr();
  use_log_format("text");
  std::vector<std::string> lines;
  for (std::size_t pos = 0; pos < err.size();) {
    const std::size_t nl = err.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    // Drop the time, which the test does not control.
    const std::string line = err.substr(pos, nl - pos);
    ASSERT_EQ(line.rfind(R"({"time":")", 0), 0u) << line;
    lines.push_back(line.substr(line.find(R"(,"level")")));
    pos = nl + 1;
  }
  ASSERT_EQ(lines.size(), 5u) << err;
  EXPECT_EQ(lines[0], R"(,"level":"info","role":"test","message":"outside"})");
  EXPECT_EQ(lines[1], R"(,"level":"info","role":"test","msg_type":"TO0.Hello","run_id":"abcd","message":"inside"})");
  EXPECT_EQ(lines[2], R"(,"level":"info","role":"test","guid":"explicit","message":"nested"})");
  EXPECT_EQ(lines[3], R"(,"level":"info","role":"test","msg_type":"TO0.Hello","run_id":"abcd","message":"back"})");
  EXPECT_EQ(lines[4], R"(,"level":"info","role":"test","message":"after"})");
}

TEST(LogFormat, TheOptionAcceptsTextAndJsonOnly) {
  EXPECT_THROW(use_log_format("xml"), Error);
  CLI::App app{"test"};
  std::string level = "info";
  add_log_level(app, level);
  std::vector<const char*> bad = {"test", "--log-format", "xml"};
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(parse(app, static_cast<int>(bad.size()), bad.data()), std::optional<int>(kUsageError));
  static_cast<void>(::testing::internal::GetCapturedStderr());
  std::vector<const char*> json = {"test", "--log-format", "json", "--log-level", "warn"};
  EXPECT_EQ(parse(app, static_cast<int>(json.size()), json.data()), std::nullopt);
  log::configure(log::parse_level(level), "test");
  ::testing::internal::CaptureStderr();
  log::warn("w");
  const std::string err = ::testing::internal::GetCapturedStderr();
  use_log_format("text");
  EXPECT_NE(err.find(R"("level":"warn","role":"test","message":"w"})"), std::string::npos) << err;
  log::configure(log::Level::Info, "test");
}

}  // namespace
}  // namespace fdo::tool
