// Past one machine (docs/scaling.md "Two instances behind HAProxy"): two instances each of fdo-manufacturer,
// fdo-rendezvous and fdo-owner on one PostgreSQL cluster (libfdo/storage/postgres_test_support.h), each role behind
// HAProxy, round-robin per request and no stickiness, so consecutive messages of one run go to different instances.
// The HAProxy and server configs are the repository's docs/examples/two-instances/ files with this test's ports and
// databases put in. Label `postgres`; haproxy comes from scripts/setup.sh.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/storage/postgres_test_support.h"

namespace fdo::integration {
namespace {

using storage::test::postgres_cluster;

const std::filesystem::path kExamples = std::filesystem::path(FDO_SOURCE_DIR) / "docs/examples/two-instances";
const std::filesystem::path kHaproxy = "/usr/sbin/haproxy";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The example file with each `from` replaced by its `to`; a `from` the file does not hold fails the test, so the
// documented file and what the test runs cannot drift apart.
std::string render(const std::string& name, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string text = read_text(kExamples / name);
  EXPECT_FALSE(text.empty()) << (kExamples / name);
  for (const auto& [from, to] : values) {
    std::size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << name << " no longer holds " << from;
    for (; at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

// A port nothing listens on now (HAProxy binds it a moment later).
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string hostport(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// The runs (run_id) an instance served messages of, from its JSON log (docs/operations.md "Logs"), for the message
// types whose name starts with `prefix` ("DI.", "TO0.", …).
std::set<std::string> runs_served(const ServerProcess& server, const std::string& prefix) {
  std::set<std::string> runs;
  std::istringstream lines(server.log());
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') {
      continue;
    }
    const Json j = Json::parse(line);
    if (j.has("msg_type") && j.has("run_id") && j["msg_type"].str().starts_with(prefix)) {
      runs.insert(j["run_id"].str());
    }
  }
  return runs;
}

// What post_from() read: the status and the Message-Type header.
struct RawAnswer {
  int status = 0;
  std::string message_type;
};

// POST /fdo/101/msg/<type> from the local address `source` (any 127.x.y.z is this host), so that HAProxy's
// X-Forwarded-For names a client other than itself; `extra` header lines are sent as given.
RawAnswer post_from(const std::string& source, std::uint16_t port, int type, const Bytes& body,
                    const std::vector<std::string>& extra = {}) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    if (fd >= 0) {
      ::close(fd);
    }
    throw std::runtime_error("cannot connect from " + source);
  }
  std::string request = "POST /fdo/101/msg/" + std::to_string(type) + " HTTP/1.1\r\nHost: " + hostport(port) +
                        "\r\nContent-Type: application/cbor\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\n";
  for (const std::string& h : extra) {
    request += h + "\r\n";
  }
  request += "\r\n" + std::string(body.begin(), body.end());
  for (std::size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  RawAnswer out;
  if (answer.starts_with("HTTP/1.1 ") && answer.size() >= 12) {
    out.status = std::stoi(answer.substr(9, 3));
  }
  // HAProxy sends header names in lower case (HTTP field names are case-insensitive).
  std::string head = answer.substr(0, answer.find("\r\n\r\n"));
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
  const std::size_t at = head.find("\r\nmessage-type: ");
  if (at != std::string::npos) {
    const std::size_t start = at + 16;
    out.message_type = head.substr(start, head.find("\r\n", start) - start);
  }
  return out;
}

// One role: two instances on one database, sharing a state directory (the same keys).
struct Role {
  std::string name;       // "manufacturer", "rendezvous", "owner"
  std::string db;         // its database in the test cluster
  std::uint16_t frontend = 0;
  std::unique_ptr<ServerProcess> a;
  std::unique_ptr<ServerProcess> b;
  [[nodiscard]] std::string url() const { return "http://" + hostport(frontend); }
};

class TwoInstances : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kHaproxy)) << kHaproxy << " is missing: run scripts/setup.sh";
    {
      std::ofstream out(password_file());
      out << storage::test::PostgresCluster::kPassword << "\n";
    }
    ::chmod(password_file().c_str(), 0600);
    m_mfg.name = "manufacturer";
    m_rv.name = "rendezvous";
    m_owner.name = "owner";
    for (Role* r : {&m_mfg, &m_rv, &m_owner}) {
      r->db = postgres_cluster().create_database();
      r->frontend = free_port();
    }
    m_stats = free_port();
    ASSERT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")}).exit_code, 0);
    ASSERT_EQ(run_tool("fdo-owner", {"init", "--dir", path("owner")}).exit_code, 0);
    ASSERT_EQ(run_tool("fdo-owner", {"pubkey", "--dir", path("owner"), "-o", path("owner.pub.pem")}).exit_code, 0);
    start(m_rv, "fdo-rendezvous", path("rv"), m_rv_extra, {});
    start(m_mfg, "fdo-manufacturer", path("mfg"), {"--first-owner", path("owner.pub.pem")},
          {{"http://127.0.0.1:8041", m_rv.url()}});
    start(m_owner, "fdo-owner", path("owner"), {}, {{"http://127.0.0.1:8042", m_owner.url()}});
    write_file("haproxy.cfg",
               render("haproxy.cfg", {{"127.0.0.1:8038", hostport(m_mfg.frontend)},
                                      {"127.0.0.1:18038", hostport(m_mfg.a->port())},
                                      {"127.0.0.1:28038", hostport(m_mfg.b->port())},
                                      {"127.0.0.1:8041", hostport(m_rv.frontend)},
                                      {"127.0.0.1:18041", hostport(m_rv.a->port())},
                                      {"127.0.0.1:28041", hostport(m_rv.b->port())},
                                      {"127.0.0.1:8042", hostport(m_owner.frontend)},
                                      {"127.0.0.1:18042", hostport(m_owner.a->port())},
                                      {"127.0.0.1:28042", hostport(m_owner.b->port())},
                                      {"127.0.0.1:8404", hostport(m_stats)}}));
    const RunResult check = run_command({kHaproxy.string(), "-c", "-q", "-f", path("haproxy.cfg")});
    ASSERT_EQ(check.exit_code, 0) << check.describe();
    m_haproxy = ServerProcess::start_program(kHaproxy, {"-db", "-f", path("haproxy.cfg")});
    for (const char* server : {"manufacturer-a", "manufacturer-b", "rendezvous-a", "rendezvous-b", "owner-a",
                               "owner-b"}) {
      await_state(server, "UP");
    }
  }

  void TearDown() override {
    if (HasFailure() && m_haproxy) {
      std::cerr << "---- haproxy ----\n" << m_haproxy->log() << "\n---- stats ----\n" << stats_csv() << "\n";
    }
  }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }
  [[nodiscard]] std::string password_file() const { return path("db-password"); }
  [[nodiscard]] static std::string uri(const Role& r) { return postgres_cluster().uri(r.db); }
  static std::string psql(const Role& r, const std::string& sql) { return postgres_cluster().psql(r.db, sql); }
  [[nodiscard]] std::vector<std::string> db_args(const Role& r) const {
    return {"--db", uri(r), "--db-password-file", password_file()};
  }

  void write_file(const std::string& name, const std::string& text) const {
    std::ofstream out(path(name));
    out << text;
  }

  // Renders the role's example config (its database, the password file, and `urls`: frontends it names) and starts
  // both instances on it; --listen and the log format on the command line win over the file (docs/cli.md "Config
  // files").
  void start(Role& r, const std::string& tool, const std::string& dir, std::vector<std::string> extra,
             std::vector<std::pair<std::string, std::string>> urls) {
    urls.emplace_back("127.0.0.1:5432/fdo_" + r.name,
                      hostport(static_cast<std::uint16_t>(postgres_cluster().port())) + "/" + r.db);
    urls.emplace_back("/etc/fdo/db-password", password_file());
    write_file(r.name + ".toml", render(r.name + ".toml", urls));
    for (std::unique_ptr<ServerProcess>* p : {&r.a, &r.b}) {
      std::vector<std::string> args = {"serve", "--config", path(r.name + ".toml"), "--dir", dir, "--listen",
                                       "127.0.0.1:0", "--log-format", "json", "--log-level", "info"};
      args.insert(args.end(), extra.begin(), extra.end());
      *p = std::make_unique<ServerProcess>(tool, args);
    }
  }

  // HAProxy's statistics as CSV (its answer is chunked: the chunks are joined here).
  std::string stats_csv() const {
    try {
      const HttpResponse r = http_request("http://" + hostport(m_stats), "GET", "/stats;csv");
      const std::string raw(r.body.begin(), r.body.end());
      const std::optional<std::string> coding = r.header("Transfer-Encoding");
      if (!coding || coding->find("chunked") == std::string::npos) {
        return raw;
      }
      std::string csv;
      for (std::size_t at = 0; at < raw.size();) {
        const std::size_t eol = raw.find("\r\n", at);
        if (eol == std::string::npos) {
          break;
        }
        const std::size_t size = std::stoul(raw.substr(at, eol - at), nullptr, 16);
        if (size == 0) {
          break;
        }
        csv += raw.substr(eol + 2, size);
        at = eol + 2 + size + 2;
      }
      return csv;
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  // HAProxy's view of one server: UP, DOWN, … (the status column of its CSV statistics).
  std::string state(const std::string& server) const {
    std::istringstream lines(stats_csv());
    std::string header;
    std::getline(lines, header);
    std::vector<std::string> columns;
    std::istringstream h(header.starts_with("# ") ? header.substr(2) : header);
    for (std::string c; std::getline(h, c, ',');) {
      columns.push_back(c);
    }
    const auto status = std::find(columns.begin(), columns.end(), "status") - columns.begin();
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> cells;
      std::istringstream l(line);
      for (std::string c; std::getline(l, c, ',');) {
        cells.push_back(c);
      }
      if (cells.size() > static_cast<std::size_t>(status) && cells[1] == server) {
        return cells[static_cast<std::size_t>(status)];
      }
    }
    return "?";
  }

  void await_state(const std::string& server, const std::string& want) const {
    for (int i = 0; i < 200; ++i) {
      if (state(server).starts_with(want)) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "haproxy never saw " << server << " " << want << " (now " << state(server) << ")";
  }

  // Both instances served messages of the protocol, and at least one run had messages on both.
  static void expect_shared_runs(const Role& r, const std::string& prefix) {
    const std::set<std::string> on_a = runs_served(*r.a, prefix);
    const std::set<std::string> on_b = runs_served(*r.b, prefix);
    EXPECT_FALSE(on_a.empty()) << r.name << "-a served no " << prefix << " message";
    EXPECT_FALSE(on_b.empty()) << r.name << "-b served no " << prefix << " message";
    std::size_t shared = 0;
    for (const std::string& run : on_a) {
      shared += on_b.count(run);
    }
    EXPECT_GE(shared, 1u) << "no " << prefix << " run had messages on both " << r.name << " instances";
    std::cout << r.name << " " << prefix << ": " << on_a.size() << " runs on a, " << on_b.size() << " on b, "
              << shared << " on both\n";
  }

  [[nodiscard]] std::string owner_state(const std::string& guid) const {
    std::vector<std::string> args = {"devices", "show", guid, "--dir", path("owner"), "--json"};
    const std::vector<std::string> db = db_args(m_owner);
    args.insert(args.end(), db.begin(), db.end());
    const RunResult r = run_tool("fdo-owner", args);
    if (r.exit_code != 0) {
      return "error: " + r.describe();
    }
    const Json d = Json::parse(r.out)["device"];
    return d["to0_expires_at"].is_null() ? d["state"].str() : d["state"].str() + "+to0";
  }

  TempDir m_tmp;
  Role m_mfg;
  Role m_rv;
  Role m_owner;
  std::uint16_t m_stats = 0;
  std::unique_ptr<ServerProcess> m_haproxy;
  /// More options of both rendezvous instances.
  std::vector<std::string> m_rv_extra;
};

// DI, the owners' automatic TO0, TO1 and TO2 of several devices at once, every message through HAProxy.
TEST_F(TwoInstances, EveryProtocolCompletesWithRunsSpreadOverBothInstances) {
  constexpr int kDevices = 6;
  const auto credential = [this](int i) { return path("dev-" + std::to_string(i) + ".cred"); };
  const auto di = [&](int i) {
    return run_tool("fdo-device", {"di", "--url", m_mfg.url(), "--credential", credential(i), "--serial",
                                   "SN-MI-" + std::to_string(i), "--model", "IT-MI"});
  };
  // One device alone first: round-robin then puts its two DI messages on different instances.
  const RunResult first = di(0);
  ASSERT_EQ(first.exit_code, 0) << first.describe();
  std::vector<RunResult> results(kDevices);
  std::vector<std::thread> threads;
  for (int i = 1; i < kDevices; ++i) {
    threads.emplace_back([&, i] { results[i] = di(i); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  threads.clear();
  for (int i = 1; i < kDevices; ++i) {
    ASSERT_EQ(results[i].exit_code, 0) << "device " << i << ": " << results[i].describe();
  }
  EXPECT_EQ(psql(m_mfg, "SELECT count(*) FROM vouchers"), std::to_string(kDevices) + "\n");

  // The vouchers (extended to the owner at DI, --first-owner) go from the manufacturer's database to the owner's.
  std::vector<std::string> guids;
  std::vector<std::string> import = {"vouchers", "import", "--dir", path("owner")};
  for (const std::string& a : db_args(m_owner)) {
    import.push_back(a);
  }
  for (int i = 0; i < kDevices; ++i) {
    const RunResult show = run_tool("fdo-device", {"show", "--credential", credential(i), "--json"});
    ASSERT_EQ(show.exit_code, 0) << show.describe();
    guids.push_back(Json::parse(show.out)["guid"].str());
    std::vector<std::string> exp = {"vouchers", "export", "--dir", path("mfg"), "--serial",
                                    "SN-MI-" + std::to_string(i), "-o", path("v" + std::to_string(i) + ".pem")};
    for (const std::string& a : db_args(m_mfg)) {
      exp.push_back(a);
    }
    const RunResult e = run_tool("fdo-manufacturer", exp);
    ASSERT_EQ(e.exit_code, 0) << e.describe();
    import.push_back(path("v" + std::to_string(i) + ".pem"));
  }
  const RunResult imported = run_tool("fdo-owner", import);
  ASSERT_EQ(imported.exit_code, 0) << imported.describe();

  // Either owner instance's automatic TO0 registers each device at the rendezvous frontend (they poll the shared
  // store every 2 s).
  for (const std::string& g : guids) {
    std::string s;
    for (int i = 0; i < 150 && !(s = owner_state(g)).ends_with("+to0"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(s.ends_with("+to0")) << g << ": " << s;
  }
  EXPECT_EQ(psql(m_rv, "SELECT count(*) FROM rv_registrations"), std::to_string(kDevices) + "\n");
  // One more registration alone, with nothing else going through the rendezvous frontend: its two messages go to
  // different instances.
  const RunResult to0 = run_tool("fdo-owner", {"to0", "--dir", path("owner"), "--voucher", path("v0.pem"),
                                               "--to2-url", m_owner.url()});
  ASSERT_EQ(to0.exit_code, 0) << to0.describe();

  // TO1 at the rendezvous frontend, then TO2 at the owner frontend it names: one device alone, then the others at
  // once.
  const auto onboard = [&](int i) { return run_tool("fdo-device", {"onboard", "--credential", credential(i)}); };
  const RunResult alone = onboard(0);
  ASSERT_EQ(alone.exit_code, 0) << alone.describe();
  for (int i = 1; i < kDevices; ++i) {
    threads.emplace_back([&, i] { results[i] = onboard(i); });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  for (int i = 1; i < kDevices; ++i) {
    EXPECT_EQ(results[i].exit_code, 0) << "device " << i << ": " << results[i].describe();
  }
  for (const std::string& g : guids) {
    EXPECT_TRUE(owner_state(g).starts_with("onboarded")) << g << ": " << owner_state(g);
  }

  expect_shared_runs(m_mfg, "DI.");
  expect_shared_runs(m_rv, "TO0.");
  expect_shared_runs(m_rv, "TO1.");
  expect_shared_runs(m_owner, "TO2.");
}


// Lines of a file, without empty ones.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

// Under load through HAProxy, one instance of each role in turn is killed (SIGKILL): every voucher (DI),
// registration (TO0) and onboarding (TO2) a client saw acknowledged is in the database afterwards, a run the dead
// instance held either goes on at the other instance or fails and succeeds when tried again (fdo-loadgen --retries),
// and HAProxy's health check takes the dead instance out.
TEST_F(TwoInstances, KillingOneInstanceUnderLoadLosesNothingAcknowledged) {
  struct Phase {
    Role* role;
    std::vector<std::string> load;  // fdo-loadgen arguments
    std::string progress_sql;       // what the database holds so far: kill once it passes `kill_after`
    int kill_after;
    std::string stored_sql;         // what the database holds of the acknowledged runs, one per line
  };
  std::vector<Phase> phases = {
      {&m_mfg,
       {"di", "--url", m_mfg.url(), "--devices", "240", "--server-first-owner-key-type", "p256"},
       "SELECT count(*) FROM vouchers",
       40,
       "SELECT convert_from(serial, 'UTF8') FROM vouchers"},
      {&m_rv,
       {"to0", "--url", m_rv.url(), "--devices", "240"},
       "SELECT count(*) FROM rv_registrations",
       40,
       "SELECT encode(guid, 'hex') FROM rv_registrations"},
      {&m_owner,
       {"to2", "--url", m_owner.url(), "--owner-dir", path("owner"), "--devices", "48", "--preload-db", uri(m_owner),
        "--preload-db-password-file", password_file(), "--to0-wait", "10"},
       "SELECT count(*) FROM owner_devices WHERE convert_from(state, 'UTF8') = 'onboarded'",
       8,
       "SELECT encode(guid, 'hex') FROM owner_devices WHERE convert_from(state, 'UTF8') = 'onboarded'"},
  };
  for (Phase& phase : phases) {
    Role& r = *phase.role;
    SCOPED_TRACE(r.name);
    const std::string acked = path(r.name + ".acked");
    std::vector<std::string> args = phase.load;
    args.insert(args.end(), {"--concurrency", "4", "--retries", "2", "--acked", acked, "--json",
                             "--http-floor-requests", "0", "--ceiling-ms", "10"});
    RunResult load;
    std::thread loader([&] { load = run_tool("fdo-loadgen", args); });
    bool killed = false;
    for (int i = 0; i < 600 && !killed; ++i) {
      if (std::stoi(psql(r, phase.progress_sql)) >= phase.kill_after) {
        r.a->kill();
        killed = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    loader.join();
    ASSERT_TRUE(killed) << "the load never got far enough: " << load.describe();
    std::cout << r.name << ": " << load.out << load.err;
    ASSERT_EQ(load.exit_code, 0) << load.describe();
    const Json line = Json::parse(load.out);
    EXPECT_EQ(line["errors"].integer(), 0);
    EXPECT_EQ(line["runs"].integer(), line["devices"].integer());
    await_state(r.name + "-a", "DOWN");
    EXPECT_TRUE(state(r.name + "-b").starts_with("UP")) << state(r.name + "-b");

    const std::vector<std::string> seen = lines_of(read_text(acked));
    EXPECT_EQ(static_cast<std::int64_t>(seen.size()), line["runs"].integer());
    const std::vector<std::string> rows = lines_of(psql(r, phase.stored_sql));
    const std::set<std::string> stored(rows.begin(), rows.end());
    std::size_t lost = 0;
    for (const std::string& name : seen) {
      if (stored.count(name) == 0) {
        ++lost;
        ADD_FAILURE() << name << " was acknowledged but is not in the database";
      }
    }
    EXPECT_EQ(lost, 0u);
    // The surviving instance served runs after the kill.
    EXPECT_FALSE(runs_served(*r.b, r.name == "manufacturer" ? "DI." : r.name == "rendezvous" ? "TO0." : "TO2.")
                     .empty());
  }
}

// docs/scaling.md shows the example files whole, as they are.
TEST(TwoInstancesExample, ScalingPageShowsTheFilesTheTestRuns) {
  const std::string page = read_text(std::filesystem::path(FDO_SOURCE_DIR) / "docs/scaling.md");
  for (const char* name : {"haproxy.cfg", "manufacturer.toml", "rendezvous.toml", "owner.toml"}) {
    const std::string file = read_text(kExamples / name);
    ASSERT_FALSE(file.empty()) << name;
    EXPECT_NE(page.find("`" + std::string(name) + "`:\n\n```"), std::string::npos) << name;
    EXPECT_NE(page.find(file), std::string::npos) << "docs/scaling.md does not show " << name << " as it is";
  }
}

class TwoInstancesWithARateLimit : public TwoInstances {
 protected:
  void SetUp() override {
    m_rv_extra = {"--rate-limit", "0.1"};  // a burst of 1, then one new run per 10 s per client address
    TwoInstances::SetUp();
  }
};

// docs/scaling.md "Limits across instances": the rendezvous rate limit's buckets are in the database, so a client
// that used its run at one instance is refused at the other; the client is the one HAProxy's X-Forwarded-For names
// (trusted_proxy), not HAProxy, and not what the client itself claims.
TEST_F(TwoInstancesWithARateLimit, TheRateLimitHoldsAcrossInstancesPerForwardedClient) {
  const Bytes hello = {0x80};  // TO0.Hello
  const RawAnswer first = post_from("127.0.0.2", m_rv.frontend, 20, hello);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.message_type, "21");
  // Round-robin sends it to the other instance, which never saw this client.
  const RawAnswer second = post_from("127.0.0.2", m_rv.frontend, 20, hello);
  EXPECT_EQ(second.status, 500);
  EXPECT_EQ(second.message_type, "255");
  const std::string a = m_rv.a->log();
  const std::string b = m_rv.b->log();
  const bool a_accepted = a.find("TO0.Hello from 127.0.0.2 -> TO0.HelloAck") != std::string::npos;
  const bool b_accepted = b.find("TO0.Hello from 127.0.0.2 -> TO0.HelloAck") != std::string::npos;
  EXPECT_NE(a_accepted, b_accepted) << "one instance accepted the first run";
  EXPECT_NE((a_accepted ? b : a).find("TO0.Hello from 127.0.0.2 rejected"), std::string::npos)
      << "the other instance refused the second";
  // Another client has its own bucket, whatever its own X-Forwarded-For claims: HAProxy appends the address it
  // saw, and that is the right-most entry not written by a trusted proxy.
  EXPECT_EQ(post_from("127.0.0.3", m_rv.frontend, 20, hello, {"X-Forwarded-For: 127.0.0.2"}).status, 200);
  EXPECT_EQ(post_from("127.0.0.3", m_rv.frontend, 20, hello, {"X-Forwarded-For: 198.51.100.1"}).status, 500);
  EXPECT_EQ(psql(m_rv, "SELECT convert_from(source, 'UTF8') FROM rate_buckets ORDER BY 1"), "127.0.0.2\n127.0.0.3\n");
}

}  // namespace
}  // namespace fdo::integration
