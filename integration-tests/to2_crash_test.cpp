// Crash safety of `fdo-owner serve` during TO2 (docs/owner.md "Crash safety"), with real processes: the device runs
// `fdo-device onboard` through a small HTTP proxy that SIGKILLs the owner when it sees one TO2 request type (FDO 1.1
// §5.5), either before forwarding it ("at step") or after the owner answered but before relaying the answer ("answer
// lost"). Afterwards the device still holds its credential, the owner still holds the voucher the device needs and
// no record claims an onboarding the device did not finish (except the one case the owner cannot know about: a lost
// TO2.Done2), and a restarted owner onboards the device.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"

namespace fdo::integration {
namespace {

using namespace std::chrono_literals;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

/// A one-connection-at-a-time HTTP/1.1 proxy on 127.0.0.1:0 in front of the owner. Each POST /fdo/101/msg/N is
/// forwarded with its Content-Type and Authorization; when N is the trigger, `kill` runs before forwarding (or, with
/// `after_answer`, once the owner answered) and the device's connection is closed without an answer. After the kill
/// nothing is forwarded any more.
class KillingProxy {
 public:
  KillingProxy(std::string upstream, int trigger, bool after_answer, std::function<void()> kill)
      : m_upstream(std::move(upstream)), m_trigger(trigger), m_after_answer(after_answer), m_kill(std::move(kill)) {
    m_listen = ::socket(AF_INET, SOCK_STREAM, 0);
    if (m_listen < 0) {
      throw std::runtime_error("proxy: socket failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    socklen_t len = sizeof addr;
    if (::bind(m_listen, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(m_listen, 8) != 0 ||
        ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ::close(m_listen);
      throw std::runtime_error("proxy: cannot listen on 127.0.0.1:0");
    }
    m_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    m_thread = std::thread([this] { run(); });
  }
  ~KillingProxy() {
    m_stop = true;
    m_thread.join();
    ::close(m_listen);
  }
  KillingProxy(const KillingProxy&) = delete;
  KillingProxy& operator=(const KillingProxy&) = delete;

  [[nodiscard]] const std::string& url() const { return m_url; }
  [[nodiscard]] bool fired() const { return m_fired; }
  /// The message types seen, in order.
  [[nodiscard]] std::vector<int> seen() const {
    const std::lock_guard lock(m_mutex);
    return m_seen;
  }

 private:
  void run() {
    while (!m_stop) {
      pollfd p{m_listen, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        continue;
      }
      const int fd = ::accept(m_listen, nullptr, nullptr);
      if (fd < 0) {
        continue;
      }
      timeval tv{10, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      serve_connection(fd);
      ::close(fd);
    }
  }

  // Requests on one keep-alive connection until it closes, times out, or the owner was killed.
  void serve_connection(int fd) {
    std::string buf;
    for (;;) {
      std::size_t head_end;
      while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!receive(fd, buf)) {
          return;
        }
      }
      const std::string head = buf.substr(0, head_end);
      std::size_t length = 0;
      std::string authorization;
      std::size_t at = head.find("\r\n");
      const std::string request_line = head.substr(0, at);
      while (at != std::string::npos) {
        const std::size_t next = head.find("\r\n", at + 2);
        const std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
        at = next;
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos) {
          continue;
        }
        const std::string name = lower(line.substr(0, colon));
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (name == "content-length") {
          length = std::stoul(value);
        } else if (name == "authorization") {
          authorization = value;
        }
      }
      while (buf.size() < head_end + 4 + length) {
        if (!receive(fd, buf)) {
          return;
        }
      }
      const Bytes body(buf.begin() + static_cast<std::ptrdiff_t>(head_end + 4),
                       buf.begin() + static_cast<std::ptrdiff_t>(head_end + 4 + length));
      buf.erase(0, head_end + 4 + length);

      // "POST /fdo/101/msg/N HTTP/1.1"
      const std::string prefix = "POST /fdo/101/msg/";
      if (request_line.rfind(prefix, 0) != 0 || m_fired) {
        return;
      }
      const std::string path = request_line.substr(5, request_line.find(' ', 5) - 5);
      const int type = std::stoi(path.substr(prefix.size() - 5));
      {
        const std::lock_guard lock(m_mutex);
        m_seen.push_back(type);
      }
      const bool trigger = type == m_trigger;
      if (trigger && !m_after_answer) {
        fire();
        return;
      }
      std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", "application/cbor"}};
      if (!authorization.empty()) {
        headers.emplace_back("Authorization", authorization);
      }
      HttpResponse r;
      try {
        r = http_request(m_upstream, "POST", path, headers, body);
      } catch (const std::exception&) {
        return;
      }
      if (trigger) {
        fire();  // the owner answered (and committed); the device never sees it
        return;
      }
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " Relayed\r\n";
      for (const auto& [k, v] : r.headers) {
        const std::string name = lower(k);
        if (name != "content-length" && name != "connection" && name != "transfer-encoding" && name != "keep-alive") {
          out += k + ": " + v + "\r\n";
        }
      }
      out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n";
      out.append(r.body.begin(), r.body.end());
      for (std::size_t sent = 0; sent < out.size();) {
        const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) {
          return;
        }
        sent += static_cast<std::size_t>(n);
      }
    }
  }

  static bool receive(int fd, std::string& buf) {
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      return false;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  void fire() {
    m_fired = true;
    m_kill();
  }

  std::string m_upstream;
  int m_trigger;
  bool m_after_answer;
  std::function<void()> m_kill;
  int m_listen = -1;
  std::string m_url;
  std::atomic<bool> m_stop{false};
  std::atomic<bool> m_fired{false};
  mutable std::mutex m_mutex;
  std::vector<int> m_seen;
  std::thread m_thread;
};

struct CrashCase {
  const char* name;
  int type;          // the TO2 request the owner dies at (FDO 1.1 §5.5: 60, 62, 64, 66, 68, 70)
  bool answer_lost;  // killed after it answered (and committed), before the device got the answer
  bool reuse;        // credential reuse instead of replacement (FDO 1.1 §5.5.7)
};

void PrintTo(const CrashCase& c, std::ostream* os) {
  *os << c.name;
}

class To2Crash : public ::testing::TestWithParam<CrashCase> {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg"), "--key-type", "p256"}, 20s).exit_code, 0);
    m_rv = std::make_unique<ServerProcess>(
        "fdo-rendezvous",
        std::vector<std::string>{"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", ""}, 20s);
    m_mfg = std::make_unique<ServerProcess>(
        "fdo-manufacturer",
        std::vector<std::string>{"serve", "--dir", path("mfg"), "--listen", "127.0.0.1:0", "--admin-listen", "", "--rv", m_rv->url()}, 20s);
  }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  RunResult tool(std::string_view name, const std::vector<std::string>& args) { return run_tool(name, args, 30s); }

  Json json_of(std::string_view name, const std::vector<std::string>& args) {
    const RunResult r = tool(name, args);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    return Json::parse(r.out.empty() ? "null" : r.out);
  }

  /// DI of a P-256 device; its voucher extended to the owner (fdo-reseller extend) and imported. Returns its GUID.
  std::string device_at_owner(const std::string& credential) {
    const RunResult di = tool("fdo-device", {"di", "--url", m_mfg->url(), "--credential", credential, "--key-type",
                                             "p256", "--model", "IT-CRASH", "--serial", "SN-CRASH"});
    EXPECT_EQ(di.exit_code, 0) << di.describe();
    const std::string guid = json_of("fdo-device", {"show", "--credential", credential, "--json"})["guid"].str();
    EXPECT_EQ(tool("fdo-owner", {"init", "--dir", owner_dir(), "--key-type", "p256"}).exit_code, 0);
    const std::string fresh = path("fresh.pem");
    const std::string owner_pub = path("owner.pub.pem");
    const std::string owned = path("owned.pem");
    EXPECT_EQ(tool("fdo-manufacturer", {"vouchers", "export", "--dir", path("mfg"), guid, "-o", fresh}).exit_code, 0);
    EXPECT_EQ(tool("fdo-owner", {"pubkey", "--dir", owner_dir(), "-o", owner_pub}).exit_code, 0);
    const RunResult extend =
        tool("fdo-reseller", {"extend", fresh, "--owner-key", path("mfg/manufacturer-p256.key.pem"), "--next-owner",
                              owner_pub, "-o", owned});
    EXPECT_EQ(extend.exit_code, 0) << extend.describe();
    const RunResult import = tool("fdo-owner", {"vouchers", "import", "--dir", owner_dir(), owned});
    EXPECT_EQ(import.exit_code, 0) << import.describe();
    return guid;
  }

  [[nodiscard]] std::string owner_dir() const { return path("owner"); }

  std::unique_ptr<ServerProcess> serve() {
    std::vector<std::string> args = {"serve",          "--dir", owner_dir(),      "--listen", "127.0.0.1:0",
                                     "--admin-listen", "",      "--wait-seconds", "600"};
    if (GetParam().reuse) {
      args.emplace_back("--reuse");
    }
    return std::make_unique<ServerProcess>("fdo-owner", args, 20s);
  }

  std::vector<std::string> db() const { return {"--dir", owner_dir(), "--json"}; }

  Json device_record(const std::string& guid) {
    std::vector<std::string> args = {"devices", "show", guid};
    for (const std::string& a : db()) {
      args.push_back(a);
    }
    return json_of("fdo-owner", args)["device"];
  }

  std::set<std::string> vouchers() {
    std::vector<std::string> args = {"vouchers", "list"};
    for (const std::string& a : db()) {
      args.push_back(a);
    }
    const Json list = json_of("fdo-owner", args)["vouchers"];
    std::set<std::string> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
      out.insert(list.at(i)["guid"].str());
    }
    return out;
  }

  Json device_records() {
    std::vector<std::string> args = {"devices", "list"};
    for (const std::string& a : db()) {
      args.push_back(a);
    }
    return json_of("fdo-owner", args)["devices"];
  }

  RunResult onboard(const std::string& credential, const std::string& owner_url) {
    return tool("fdo-device", {"onboard", "--credential", credential, "--owner-url", owner_url, "--json"});
  }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_rv;
  std::unique_ptr<ServerProcess> m_mfg;
};

TEST_P(To2Crash, TheDeviceKeepsItsCredentialTheOwnerItsVoucherAndARestartedOwnerOnboardsIt) {
  const CrashCase& c = GetParam();
  const std::string credential = path("device.cred");
  const std::string guid = device_at_owner(credential);
  ASSERT_FALSE(HasFailure());
  const Bytes before = read_file(credential);

  std::unique_ptr<ServerProcess> owner = serve();
  RunResult crashed;
  std::vector<int> seen;
  {
    KillingProxy proxy(owner->url(), c.type, c.answer_lost, [&owner] { owner->kill(); });
    crashed = onboard(credential, proxy.url());
    EXPECT_TRUE(proxy.fired()) << "the device never sent message " << c.type << "; " << crashed.describe();
    seen = proxy.seen();
  }
  EXPECT_FALSE(owner->running());

  // The device: not onboarded, its credential untouched (it is replaced only after a verified TO2.Done2).
  EXPECT_EQ(crashed.exit_code, 1) << crashed.describe();
  EXPECT_EQ(read_file(credential), before) << "the credential changed although TO2.Done2 never arrived";
  EXPECT_FALSE(Json::parse(crashed.out)["onboarded"].boolean());

  // The owner (read from its store while it is down): the device's voucher is there; nothing says "onboarded"
  // unless TO2.Done was committed, which the owner cannot tell from a device that got TO2.Done2.
  const std::set<std::string> stored = vouchers();
  EXPECT_TRUE(stored.contains(guid)) << "the voucher of " << guid << " was lost";
  const Json record = device_record(guid);
  const bool done_committed = c.type == 70 && c.answer_lost;
  std::string orphan;  // the replacement voucher's GUID the device never got
  if (done_committed) {
    EXPECT_EQ(record["state"].str(), "onboarded");
    EXPECT_EQ(record["step"].str(), "TO2.Done2");
    EXPECT_EQ(record["onboard_count"].integer(), 1);
    if (c.reuse) {
      EXPECT_TRUE(record["new_guid"].is_null());
      EXPECT_EQ(stored.size(), 1u);
    } else {
      // Both vouchers: the old one (the device still holds its GUID) and the replacement, imported, waiting.
      orphan = record["new_guid"].str();
      EXPECT_NE(orphan, guid);
      EXPECT_TRUE(stored.contains(orphan));
      EXPECT_EQ(stored.size(), 2u);
      const Json replacement = device_record(orphan);
      EXPECT_EQ(replacement["state"].str(), "imported");
      EXPECT_EQ(replacement["step"].str(), "replacement voucher of " + guid);
    }
  } else {
    EXPECT_EQ(stored.size(), 1u);
    EXPECT_NE(record["state"].str(), "onboarded");
    EXPECT_EQ(record["onboard_count"].integer(), 0);
    const Json all = device_records();
    for (std::size_t i = 0; i < all.size(); ++i) {
      EXPECT_NE(all.at(i)["state"].str(), "onboarded") << all.at(i).dump();
    }
  }

  // A restarted owner (same directory and database, a new port) onboards the device on its next try, under its old
  // GUID: the voucher it needs is still servable.
  owner = serve();
  const RunResult retry = onboard(credential, owner->url());
  ASSERT_EQ(retry.exit_code, 0) << retry.describe() << owner->log();
  const Json out = Json::parse(retry.out);
  EXPECT_EQ(out["guid"].str(), guid);
  const std::string held = json_of("fdo-device", {"show", "--credential", credential, "--json"})["guid"].str();
  EXPECT_EQ(out["new_guid"].str(), held);
  owner->stop();

  const Json after = device_record(guid);
  EXPECT_EQ(after["state"].str(), "onboarded");
  // A committed TO2.Done whose TO2.Done2 was lost counts as an onboarding too.
  EXPECT_EQ(after["onboard_count"].integer(), done_committed ? 2 : 1);
  const std::set<std::string> final_vouchers = vouchers();
  EXPECT_TRUE(final_vouchers.contains(guid));
  if (c.reuse) {
    EXPECT_EQ(held, guid);
    EXPECT_TRUE(after["new_guid"].is_null());
    EXPECT_EQ(final_vouchers.size(), 1u);
  } else {
    EXPECT_NE(held, guid);
    EXPECT_EQ(after["new_guid"].str(), held);
    EXPECT_TRUE(final_vouchers.contains(held));
    EXPECT_EQ(device_record(held)["step"].str(), "replacement voucher of " + guid);
    if (!orphan.empty()) {
      // The replacement of the lost TO2.Done2 is never going to be used.
      EXPECT_FALSE(final_vouchers.contains(orphan)) << "orphan replacement voucher " << orphan << " is still stored";
    }
    EXPECT_EQ(final_vouchers.size(), 2u);
  }
  if (HasFailure()) {
    std::string trail;
    for (const int t : seen) {
      trail += " " + std::to_string(t);
    }
    ADD_FAILURE() << "messages through the proxy:" << trail;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryTo2Step, To2Crash,
    ::testing::Values(
        CrashCase{"at_60_HelloDevice", 60, false, false}, CrashCase{"at_62_GetOVNextEntry", 62, false, false},
        CrashCase{"at_64_ProveDevice", 64, false, false}, CrashCase{"at_66_DeviceServiceInfoReady", 66, false, false},
        CrashCase{"at_68_DeviceServiceInfo", 68, false, false}, CrashCase{"at_70_Done", 70, false, false},
        CrashCase{"answer_of_60_lost", 60, true, false}, CrashCase{"answer_of_62_lost", 62, true, false},
        CrashCase{"answer_of_64_lost", 64, true, false}, CrashCase{"answer_of_66_lost", 66, true, false},
        CrashCase{"answer_of_68_lost", 68, true, false}, CrashCase{"Done2_lost_after_70_committed", 70, true, false},
        CrashCase{"reuse_at_70_Done", 70, false, true},
        CrashCase{"reuse_Done2_lost_after_70_committed", 70, true, true}),
    [](const ::testing::TestParamInfo<CrashCase>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace fdo::integration
