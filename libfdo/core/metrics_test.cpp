#include "libfdo/core/metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "libfdo/core/internal/expect_error.h"

namespace fdo::metrics {
namespace {

TEST(Metrics, EscapesLabelValuesAndHelpAsTheTextFormatSays) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\nd"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_help("back\\slash \"quoted\"\nline"), "back\\\\slash \"quoted\"\\nline");
}

TEST(Metrics, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(1e-9), "1e-09");
  EXPECT_EQ(format_value(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(Metrics, ExposesCountersAndGaugesWithHelpTypeAndLabels) {
  Registry r({{"role", "rendezvous"}});
  Family<Counter>& messages = r.counter("fdo_messages_total", "Messages handled", {"type", "result"});
  messages.with({"TO1.HelloRV", "ok"}).inc();
  messages.with({"TO1.HelloRV", "ok"}).inc(2);
  messages.with({"TO0.Hello", "MESSAGE_BODY_ERROR"}).inc();
  r.gauge("fdo_temperature", "A \"gauge\"\nwith two lines").with({}).set(-1.5);
  EXPECT_EQ(r.expose(),
            "# HELP fdo_messages_total Messages handled\n"
            "# TYPE fdo_messages_total counter\n"
            "fdo_messages_total{role=\"rendezvous\",type=\"TO0.Hello\",result=\"MESSAGE_BODY_ERROR\"} 1\n"
            "fdo_messages_total{role=\"rendezvous\",type=\"TO1.HelloRV\",result=\"ok\"} 3\n"
            "# HELP fdo_temperature A \"gauge\"\\nwith two lines\n"
            "# TYPE fdo_temperature gauge\n"
            "fdo_temperature{role=\"rendezvous\"} -1.5\n");
}

TEST(Metrics, ExposesALabelValueEscaped) {
  Registry r;
  r.counter("fdo_paths_total", "Paths", {"path"}).with({"a\"b\\c\nd"}).inc();
  EXPECT_EQ(r.expose(),
            "# HELP fdo_paths_total Paths\n"
            "# TYPE fdo_paths_total counter\n"
            "fdo_paths_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(Metrics, ExposesAHistogramWithCumulativeBucketsSumAndCount) {
  Registry r;
  const std::array<double, 3> bounds = {0.1, 1, 10};
  Family<Histogram>& runs = r.histogram("fdo_run_duration_seconds", "Run durations", {"protocol"}, bounds);
  Histogram& to1 = runs.with({"to1"});
  for (const double v : {0.05, 0.1, 0.5, 2.0, 20.0}) {
    to1.observe(v);
  }
  EXPECT_EQ(to1.count(), 5u);
  EXPECT_EQ(r.expose(),
            "# HELP fdo_run_duration_seconds Run durations\n"
            "# TYPE fdo_run_duration_seconds histogram\n"
            "fdo_run_duration_seconds_bucket{protocol=\"to1\",le=\"0.1\"} 2\n"
            "fdo_run_duration_seconds_bucket{protocol=\"to1\",le=\"1\"} 3\n"
            "fdo_run_duration_seconds_bucket{protocol=\"to1\",le=\"10\"} 4\n"
            "fdo_run_duration_seconds_bucket{protocol=\"to1\",le=\"+Inf\"} 5\n"
            "fdo_run_duration_seconds_sum{protocol=\"to1\"} 22.65\n"
            "fdo_run_duration_seconds_count{protocol=\"to1\"} 5\n");
}

TEST(Metrics, AFamilyWithoutSeriesStillHasHelpAndType) {
  Registry r;
  r.histogram("fdo_store_commit_seconds", "Commit latency", {}, latency_buckets());
  EXPECT_EQ(r.expose(),
            "# HELP fdo_store_commit_seconds Commit latency\n"
            "# TYPE fdo_store_commit_seconds histogram\n");
}

TEST(Metrics, SampledGaugesAreReadAtEachScrapeAndLeftOutWhenTheyFail) {
  Registry r({{"role", "owner"}});
  int live = 3;
  bool fail = false;
  r.sampled_gauge("fdo_sessions_live", "Runs in progress", [&] {
    if (fail) {
      throw std::runtime_error("store down");
    }
    return static_cast<double>(live);
  });
  EXPECT_NE(r.expose().find("\nfdo_sessions_live{role=\"owner\"} 3\n"), std::string::npos);
  live = 7;
  EXPECT_NE(r.expose().find("\nfdo_sessions_live{role=\"owner\"} 7\n"), std::string::npos);
  fail = true;
  EXPECT_EQ(r.expose(), "");
}

TEST(Metrics, SampledCountersAreTypedAsCountersAndReadAtEachScrape) {
  Registry r({{"role", "rendezvous"}});
  std::uint64_t syncs = 5;
  r.sampled_counter("fdo_store_fdatasync_total", "fdatasync calls", [&] { return static_cast<double>(syncs); });
  EXPECT_EQ(r.expose(),
            "# HELP fdo_store_fdatasync_total fdatasync calls\n"
            "# TYPE fdo_store_fdatasync_total counter\n"
            "fdo_store_fdatasync_total{role=\"rendezvous\"} 5\n");
  syncs = 9;
  EXPECT_NE(r.expose().find("fdo_store_fdatasync_total{role=\"rendezvous\"} 9\n"), std::string::npos);
  test::expect_error([&] { r.sampled_gauge("fdo_store_fdatasync_total", "x", [] { return 0.0; }); },
                     ErrorCode::InternalServerError);
}

TEST(Metrics, RegisteringANameAgainGivesTheSameFamilyOrFails) {
  Registry r;
  Family<Counter>& a = r.counter("fdo_x_total", "X", {"a"});
  EXPECT_EQ(&a, &r.counter("fdo_x_total", "X", {"a"}));
  test::expect_error([&] { r.counter("fdo_x_total", "X", {"b"}); }, ErrorCode::InternalServerError);
  test::expect_error([&] { r.gauge("fdo_x_total", "X", {"a"}); }, ErrorCode::InternalServerError);
  test::expect_error([&] { a.with({"1", "2"}); }, ErrorCode::InternalServerError);
}

TEST(Metrics, RefusesBadNamesAndBuckets) {
  Registry r({{"role", "x"}});
  test::expect_error([&] { r.counter("9lives", "bad"); }, ErrorCode::InternalServerError);
  test::expect_error([&] { r.counter("fdo-dash", "bad"); }, ErrorCode::InternalServerError);
  test::expect_error([&] { r.counter("fdo_ok", "bad", {"a:b"}); }, ErrorCode::InternalServerError);
  test::expect_error([&] { r.counter("fdo_ok", "bad", {"__reserved"}); }, ErrorCode::InternalServerError);
  test::expect_error([&] { r.counter("fdo_ok", "bad", {"role"}); }, ErrorCode::InternalServerError);
  const std::array<double, 2> descending = {1, 0.5};
  test::expect_error([&] { r.histogram("fdo_h", "bad", {}, descending); }, ErrorCode::InternalServerError);
  const std::array<double, 1> one = {1};
  test::expect_error([&] { r.histogram("fdo_h2", "bad", {"le"}, one); }, ErrorCode::InternalServerError);
  test::expect_error([] { Registry bad({{"0x", "y"}}); }, ErrorCode::InternalServerError);
}

TEST(Metrics, CountsEveryIncrementFromManyThreads) {
  Registry r;
  Family<Counter>& c = r.counter("fdo_n_total", "N", {"t"});
  Family<Histogram>& h = r.histogram("fdo_h_seconds", "H", {}, duration_buckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        c.with({std::to_string(i % 3)}).inc();
        h.with({}).observe(0.002 * t);
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_EQ(c.with({"0"}).value() + c.with({"1"}).value() + c.with({"2"}).value(), 4000u);
  EXPECT_EQ(h.with({}).count(), 4000u);
  EXPECT_NE(r.expose().find("fdo_h_seconds_bucket{le=\"+Inf\"} 4000\n"), std::string::npos);
}

}  // namespace
}  // namespace fdo::metrics
