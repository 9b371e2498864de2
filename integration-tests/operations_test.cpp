// docs/operations.md end to end with real processes: GET /health and /ready on every server's protocol listener,
// GET /metrics on its admin listener scraped during and after an fdo-loadgen run (the counters must add up), and the
// JSON and text log lines.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"
#include "libfdo/protocol/dispatcher.h"

namespace fdo::integration {
namespace {

namespace fs = std::filesystem;

std::string text_of(const HttpResponse& r) { return std::string(r.body.begin(), r.body.end()); }

std::string token_in(const fs::path& dir) {
  std::string token = to_string(read_file(dir / "admin-token"));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
    token.pop_back();
  }
  return token;
}

// A scrape in the Prometheus text format 0.0.4, each sample by its series as written ("name{a=\"x\"}"). Every line
// must be a # HELP, a # TYPE or a sample; anything else fails the test.
std::map<std::string, double> parse_exposition(const std::string& text) {
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")"
                                  R"((,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})?) (\S+)$)");
  static const std::regex kType(R"(^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram)$)");
  std::map<std::string, double> out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, kType)) << line;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    const std::string value = m[6].str();
    out[m[1].str()] = value == "+Inf" ? 1e308 : std::strtod(value.c_str(), nullptr);
  }
  return out;
}

double at(const std::map<std::string, double>& samples, const std::string& series) {
  const auto it = samples.find(series);
  EXPECT_NE(it, samples.end()) << "no series " << series;
  return it == samples.end() ? -1 : it->second;
}

std::string messages(const std::string& type, const std::string& result) {
  return R"(fdo_messages_total{role="rendezvous",type=")" + type + R"(",result=")" + result + R"("})";
}

std::string runs(const std::string& protocol, const std::string& result) {
  return R"(fdo_run_duration_seconds_count{role="rendezvous",protocol=")" + protocol + R"(",result=")" + result +
         R"("})";
}

class Operations : public ::testing::Test {
 protected:
  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  // GET /metrics on the admin listener with the token.
  static std::map<std::string, double> scrape(const std::string& admin, const std::string& token) {
    const HttpResponse r = http_request(admin, "GET", "/metrics", {{"Authorization", "Bearer " + token}});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Type").value_or(""), "text/plain; version=0.0.4; charset=utf-8");
    return parse_exposition(text_of(r));
  }

  TempDir m_tmp;
};

TEST_F(Operations, RendezvousMetricsAddUpOverALoadRunAndItsJsonLogsCarryTheRequestFields) {
  if (!has_binary("fdo-loadgen")) {
    GTEST_SKIP() << "fdo-loadgen not built";
  }
  ServerProcess rv("fdo-rendezvous", {"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen",
                                      "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"});
  const std::string admin = rv.admin_url();
  ASSERT_FALSE(admin.empty()) << rv.log();
  // The token is made at the first serve, 0600.
  struct stat st {};
  ASSERT_EQ(::stat(path("rv/admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string token = token_in(path("rv"));

  // /health and /ready on the protocol listener need no token; /metrics is only on the admin one, with the token.
  EXPECT_EQ(text_of(http_request(rv.url(), "GET", "/health")), "ok\n");
  EXPECT_EQ(text_of(http_request(rv.url(), "GET", "/ready")), "ready\n");
  EXPECT_EQ(http_request(rv.url(), "GET", "/metrics").status, 404);
  EXPECT_EQ(http_request(admin, "GET", "/metrics").status, 401);
  EXPECT_EQ(http_request(admin, "GET", "/metrics", {{"Authorization", "Bearer x" + token}}).status, 401);
  EXPECT_EQ(http_request(admin, "POST", "/fdo/101/msg/30", {{"Content-Type", "application/cbor"}}).status, 500);

  // The load: `to1` registers N devices by TO0, then runs N TO1 look-ups; scrapes run beside it.
  constexpr int kRuns = 12;
  std::atomic<bool> done{false};
  RunResult load;
  std::thread loadgen([&] {
    load = run_tool("fdo-loadgen", {"to1", "--url", rv.url(), "--devices", std::to_string(kRuns), "--concurrency", "3",
                                    "--ceiling-ms", "10", "--http-floor-requests", "0", "--json"});
    done = true;
  });
  int scrapes = 0;
  std::map<std::string, double> previous;
  while (!done) {
    const std::map<std::string, double> now = scrape(admin, token);
    for (const auto& [series, value] : now) {
      // Counters and histogram counts never go back, and a histogram's _count is its +Inf bucket.
      if (series.rfind("fdo_messages_total", 0) == 0 || series.rfind("fdo_http_requests_total", 0) == 0 ||
          series.find("_count{") != std::string::npos) {
        const auto before = previous.find(series);
        EXPECT_TRUE(before == previous.end() || before->second <= value) << series;
      }
    }
    previous = now;
    ++scrapes;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  loadgen.join();
  ASSERT_EQ(load.exit_code, 0) << load.describe();
  EXPECT_GT(scrapes, 0);

  std::map<std::string, double> m = scrape(admin, token);
  EXPECT_EQ(at(m, messages("TO0.Hello", "ok")), kRuns);
  EXPECT_EQ(at(m, messages("TO0.OwnerSign", "ok")), kRuns);
  EXPECT_EQ(at(m, messages("TO1.HelloRV", "ok")), kRuns);
  EXPECT_EQ(at(m, messages("TO1.ProveToRV", "ok")), kRuns);
  EXPECT_EQ(at(m, runs("to0", "ok")), kRuns);
  EXPECT_EQ(at(m, runs("to1", "ok")), kRuns);
  EXPECT_EQ(at(m, R"(fdo_run_duration_seconds_bucket{role="rendezvous",protocol="to1",result="ok",le="+Inf"})"),
            kRuns);
  EXPECT_GT(at(m, R"(fdo_run_duration_seconds_sum{role="rendezvous",protocol="to1",result="ok"})"), 0);
  EXPECT_EQ(at(m, R"(fdo_store_commit_seconds_count{role="rendezvous"})"), 4 * kRuns);  // one per message
  EXPECT_EQ(at(m, R"(fdo_to0_registrations_live{role="rendezvous"})"), kRuns);
  EXPECT_EQ(at(m, R"(fdo_sessions_live{role="rendezvous"})"), 0);
  // 4 FDO messages a device, and the /health and /ready above.
  EXPECT_EQ(at(m, R"(fdo_http_requests_total{role="rendezvous",listener="protocol",status="200"})"), 4 * kRuns + 2);

  // Errors are counted under their code: a TO1.ProveToRV with an unknown token, a TO1.HelloRV that is not CBOR,
  // and a TO0 run that fails at its second message (its duration is observed under the code).
  EXPECT_EQ(post_message(rv.url(), 32, Bytes{0x80}, std::string("Bearer no-such-run")).status, 500);
  EXPECT_EQ(post_message(rv.url(), 30, Bytes{0xff}).status, 500);
  const HttpResponse hello = post_message(rv.url(), 20, Bytes{0x80});
  const std::string authorization = expect_ok(hello, 21);
  EXPECT_EQ(post_message(rv.url(), 22, Bytes{0x01}, authorization).status, 500);
  m = scrape(admin, token);
  EXPECT_EQ(at(m, messages("TO1.ProveToRV", "INVALID_JWT_TOKEN")), 1);
  EXPECT_EQ(at(m, messages("TO1.HelloRV", "MESSAGE_BODY_ERROR")), 1);
  EXPECT_EQ(at(m, messages("TO0.Hello", "ok")), kRuns + 1);
  EXPECT_EQ(at(m, messages("TO0.OwnerSign", "MESSAGE_BODY_ERROR")), 1);
  EXPECT_EQ(at(m, runs("to0", "MESSAGE_BODY_ERROR")), 1);
  EXPECT_EQ(at(m, runs("to0", "ok")), kRuns);
  EXPECT_EQ(at(m, R"(fdo_http_requests_total{role="rendezvous",listener="protocol",status="500"})"), 3);
  EXPECT_GE(at(m, R"(fdo_http_requests_total{role="rendezvous",listener="admin",status="200"})"), scrapes + 1);
  EXPECT_GE(at(m, R"(fdo_http_requests_total{role="rendezvous",listener="admin",status="401"})"), 2);
  rv.stop();

  // Every line on stderr is one JSON object with the time, level, role and message; stdout has the two URL lines.
  const std::string log = rv.log();
  const std::string session_token = authorization.substr(std::string("Bearer ").size());
  EXPECT_EQ(log.find(session_token), std::string::npos) << "a session token reached the log";
  EXPECT_EQ(log.find(token), std::string::npos) << "the admin token reached the log";
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");
  const std::regex hex16("[0-9a-f]{16}");
  std::istringstream lines(log);
  std::string line;
  int json_lines = 0;
  int answered = 0;
  int access = 0;
  bool rejected_with_correlation = false;
  bool failed_run_named = false;
  const std::string failed_run = protocol::run_id(session_token);
  while (std::getline(lines, line)) {
    if (line.rfind("listening on ", 0) == 0 || line.rfind("admin listening on ", 0) == 0) {
      continue;
    }
    const Json j = Json::parse(line);
    ++json_lines;
    EXPECT_TRUE(std::regex_match(j["time"].str(), rfc3339)) << line;
    const std::string level = j["level"].str();
    EXPECT_TRUE(level == "error" || level == "warn" || level == "info" || level == "debug") << line;
    EXPECT_EQ(j["role"].str(), "rendezvous") << line;
    const std::string message = j["message"].str();
    EXPECT_FALSE(message.empty()) << line;
    if (message.rfind("TO1.ProveToRV from ", 0) == 0 && message.find(" -> TO1.RVRedirect") != std::string::npos) {
      // The dispatcher's line of an answered message: its type, the device, the run.
      ++answered;
      EXPECT_EQ(j["msg_type"].str(), "TO1.ProveToRV") << line;
      EXPECT_EQ(j["guid"].str().size(), 32u) << line;
      EXPECT_TRUE(std::regex_match(j["run_id"].str(), hex16)) << line;
    }
    if (message.rfind("http: POST /fdo/101/msg/", 0) == 0) {
      ++access;
      EXPECT_NE(message.find(" bytes "), std::string::npos) << line;
      EXPECT_NE(message.find(" ms from 127.0.0.1"), std::string::npos) << line;
    }
    if (message.find("rejected [correlation id ") != std::string::npos && j.has("correlation_id")) {
      rejected_with_correlation |= message.find("[correlation id " + j["correlation_id"].str() + "]") !=
                                   std::string::npos;
    }
    if (j.has("run_id") && j["run_id"].str() == failed_run && j.has("msg_type") &&
        j["msg_type"].str() == "TO0.OwnerSign") {
      failed_run_named = true;
    }
  }
  EXPECT_GT(json_lines, 4 * kRuns);
  EXPECT_EQ(answered, kRuns);
  EXPECT_EQ(access, 4 * kRuns + 5);  // every FDO request of the load, and the five above (one on the admin listener)
  EXPECT_TRUE(rejected_with_correlation) << log;
  EXPECT_TRUE(failed_run_named) << "the failed TO0 run's lines carry its run id";
}

TEST_F(Operations, ManufacturerAndOwnerServeHealthReadyAndMetricsAndLogTextByDefault) {
  ASSERT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")}).exit_code, 0);
  ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", path("owner")}).exit_code, 0);
  ServerProcess mfg("fdo-manufacturer", {"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen",
                                         "127.0.0.1:0", "--rv", "http://127.0.0.1:9"});
  ServerProcess owner("fdo-owner",
                      {"serve", "--dir", path("owner"), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"});
  for (const auto& [server, dir, role] : {std::tuple<ServerProcess*, std::string, std::string>{&mfg, "mfg", "manufacturer"},
                                          {&owner, "owner", "owner"}}) {
    EXPECT_EQ(text_of(http_request(server->url(), "GET", "/health")), "ok\n") << role;
    EXPECT_EQ(text_of(http_request(server->url(), "GET", "/ready")), "ready\n") << role;
    const std::string admin = server->admin_url();
    ASSERT_FALSE(admin.empty()) << server->log();
    EXPECT_EQ(http_request(admin, "GET", "/metrics").status, 401) << role;
    const std::map<std::string, double> m = scrape(admin, token_in(path(dir)));
    EXPECT_EQ(at(m, "fdo_sessions_live{role=\"" + role + "\"}"), 0) << role;
    EXPECT_EQ(at(m, "fdo_http_requests_total{role=\"" + role + "\",listener=\"protocol\",status=\"200\"}"), 2) << role;
    EXPECT_EQ(m.count("fdo_to0_registrations_live{role=\"" + role + "\"}"), 0u) << role;
  }
  mfg.stop();
  // Text lines by default: "TIME LEVEL ROLE message".
  const std::regex text_line(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN|INFO|DEBUG) manufacturer .+)");
  std::istringstream lines(mfg.log());
  std::string line;
  int text_lines = 0;
  while (std::getline(lines, line)) {
    if (line.find("listening on ") == 0 || line.find("admin listening on ") == 0) {
      continue;
    }
    EXPECT_TRUE(std::regex_match(line, text_line)) << line;
    ++text_lines;
  }
  EXPECT_GT(text_lines, 0);
}

}  // namespace
}  // namespace fdo::integration
