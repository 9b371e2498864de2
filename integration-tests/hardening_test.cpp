// Hostile clients beside real protocol runs (docs/security.md "Connections"): while connections from 127.0.0.2 sit
// idle, dribble a TLS handshake, header bytes or a body, or flood past the per-source limit against fdo-manufacturer
// and fdo-rendezvous (over HTTP, and over HTTPS), fdo-loadgen runs DI, TO0 and TO1 from 127.0.0.1 without an error,
// and each server's VmRSS grows by less than kRssGrowth during the attack.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "integration-tests/harness.h"
#include "libfdo/core/file.h"

namespace fdo::integration {
namespace {

using Clock = std::chrono::steady_clock;

// The stated bound: an attack of kAttackConnections connections on each server grows its resident size by less.
constexpr std::size_t kRssGrowth = std::size_t{24} << 20;
constexpr int kAttackConnections = 200;
// The per-source flood: more than the servers' default max_connections_per_source (256).
constexpr int kFloodConnections = 400;

enum class Attack { Idle, SlowHandshake, Slowloris, SlowBody, Flood };

std::string name_of(Attack a) {
  switch (a) {
    case Attack::Idle:
      return "Idle";
    case Attack::SlowHandshake:
      return "SlowHandshake";
    case Attack::Slowloris:
      return "Slowloris";
    case Attack::SlowBody:
      return "SlowBody";
    case Attack::Flood:
      return "Flood";
  }
  return "?";
}

// VmRSS of process `pid` in bytes (0 if it cannot be read).
std::size_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoul(line.substr(6)) * 1024;
    }
  }
  return 0;
}

// A TCP connection from 127.0.0.2 to 127.0.0.1:port, or -1.
int connect_from_second_address(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.2", &local.sin_addr);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  const timeval tv{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) {
      ::close(fd);
    }
    return -1;
  }
  return fd;
}

// One attack on one server: its connections are opened in the constructor; a thread then sends one more byte on
// each every 500 ms (as the attack has it) until the destructor.
class Attacker {
 public:
  Attacker(Attack attack, std::uint16_t port, bool tls) : m_attack(attack) {
    m_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(m_ctx, SSL_VERIFY_NONE, nullptr);
    const int count = attack == Attack::Flood ? kFloodConnections : kAttackConnections;
    const std::string head = "POST /fdo/101/msg/10 HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n";
    for (int i = 0; i < count; ++i) {
      Conn c{.fd = connect_from_second_address(port), .ssl = nullptr};
      if (c.fd < 0) {
        continue;
      }
      if (tls && attack != Attack::Idle && attack != Attack::SlowHandshake && attack != Attack::Flood) {
        c.ssl = SSL_new(m_ctx);
        SSL_set_fd(c.ssl, c.fd);
        if (SSL_connect(c.ssl) != 1) {
          ERR_clear_error();
          SSL_free(c.ssl);
          ::close(c.fd);
          continue;
        }
      }
      if (attack == Attack::Slowloris) {
        send(c, head.substr(0, 20));
      } else if (attack == Attack::SlowBody) {
        send(c, head + "Content-Length: 4000\r\n\r\n");
      }
      m_conns.push_back(c);
    }
    m_thread = std::thread([this] { dribble(); });
  }
  ~Attacker() {
    m_stop = true;
    m_thread.join();
    for (const Conn& c : m_conns) {
      SSL_free(c.ssl);
      ::close(c.fd);
    }
    SSL_CTX_free(m_ctx);
  }
  Attacker(const Attacker&) = delete;
  Attacker& operator=(const Attacker&) = delete;

  [[nodiscard]] std::size_t opened() const { return m_conns.size(); }

 private:
  struct Conn {
    int fd;
    SSL* ssl;
  };
  static void send(const Conn& c, std::string_view bytes) {
    if (c.ssl != nullptr) {
      (void)SSL_write(c.ssl, bytes.data(), static_cast<int>(bytes.size()));
      ERR_clear_error();
    } else {
      (void)::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
  }
  void dribble() {
    // A TLS record header announcing a 512-byte handshake message, then a ClientHello's first bytes.
    const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    for (std::size_t tick = 0; !m_stop; ++tick) {
      for (const Conn& c : m_conns) {
        if (m_attack == Attack::Slowloris) {
          send(c, "a");
        } else if (m_attack == Attack::SlowBody) {
          send(c, "\x80");
        } else if (m_attack == Attack::SlowHandshake && tick < hello.size()) {
          send(c, hello.substr(tick, 1));
        }
      }
      for (int i = 0; i < 10 && !m_stop; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }

  Attack m_attack;
  SSL_CTX* m_ctx = nullptr;
  std::vector<Conn> m_conns;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

struct Case {
  Attack attack;
  bool tls;
};

class HardeningIntegration : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    ASSERT_EQ(run_tool("fdo-manufacturer", {"init", "--dir", path("mfg")}).exit_code, 0);
    std::vector<std::string> tls;
    if (GetParam().tls) {
      // A self-signed certificate for 127.0.0.1, which fdo-loadgen trusts through SSL_CERT_FILE.
      const RunResult made = run_command({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                          "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                                          "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", path("key.pem"), "-out",
                                          path("cert.pem")});
      ASSERT_EQ(made.exit_code, 0) << made.describe();
      tls = {"--tls-cert", path("cert.pem"), "--tls-key", path("key.pem")};
      ::setenv("SSL_CERT_FILE", path("cert.pem").c_str(), 1);
    }
    std::vector<std::string> rv = {"serve", "--dir", path("rv"), "--listen", "127.0.0.1:0", "--admin-listen", ""};
    rv.insert(rv.end(), tls.begin(), tls.end());
    m_rv = std::make_unique<ServerProcess>("fdo-rendezvous", rv);
    std::vector<std::string> mfg = {"serve",          "--dir", path("mfg"),   "--listen",
                                    "127.0.0.1:0",    "--admin-listen", "",   "--rv",
                                    m_rv->url()};
    mfg.insert(mfg.end(), tls.begin(), tls.end());
    m_mfg = std::make_unique<ServerProcess>("fdo-manufacturer", mfg);
  }
  void TearDown() override { ::unsetenv("SSL_CERT_FILE"); }

  [[nodiscard]] std::string path(std::string_view name) const { return (m_tmp / name).string(); }

  // DI at the manufacturer, then TO0 and TO1 at the rendezvous server, each fdo-loadgen run with no error.
  void protocol_runs() const {
    for (const auto& [protocol, url] : {std::pair<std::string, std::string>{"di", m_mfg->url()},
                                        {"to0", m_rv->url()},
                                        {"to1", m_rv->url()}}) {
      const RunResult r =
          run_tool("fdo-loadgen", {protocol, "--url", url, "--devices", "4", "--concurrency", "2", "--json", "--ceiling-ms",
                                "10", "--http-floor-requests", "0"},
                   std::chrono::seconds(60));
      ASSERT_EQ(r.exit_code, 0) << protocol << ": " << r.describe();
      EXPECT_EQ(Json::parse(r.out)["errors"].integer(), 0) << protocol << ": " << r.out;
    }
  }

  TempDir m_tmp;
  std::unique_ptr<ServerProcess> m_rv;
  std::unique_ptr<ServerProcess> m_mfg;
};

TEST_P(HardeningIntegration, ProtocolRunsSucceedBesideTheAttackWithinTheMemoryBound) {
  protocol_runs();  // warm: what the runs themselves allocate is not counted against the attack
  const std::size_t mfg_before = resident_bytes(m_mfg->pid());
  const std::size_t rv_before = resident_bytes(m_rv->pid());
  ASSERT_GT(mfg_before, 0U);
  ASSERT_GT(rv_before, 0U);
  {
    const Attacker on_mfg(GetParam().attack, m_mfg->port(), GetParam().tls);
    const Attacker on_rv(GetParam().attack, m_rv->port(), GetParam().tls);
    EXPECT_GE(on_mfg.opened(), static_cast<std::size_t>(kAttackConnections) * 9 / 10);
    EXPECT_GE(on_rv.opened(), static_cast<std::size_t>(kAttackConnections) * 9 / 10);
    const Clock::time_point start = Clock::now();
    protocol_runs();
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(20));
    const std::size_t mfg_during = resident_bytes(m_mfg->pid());
    const std::size_t rv_during = resident_bytes(m_rv->pid());
    std::cout << name_of(GetParam().attack) << (GetParam().tls ? " https" : " http") << ": VmRSS manufacturer "
              << mfg_before / 1024 << " -> " << mfg_during / 1024 << " KiB, rendezvous " << rv_before / 1024 << " -> "
              << rv_during / 1024 << " KiB\n";
    EXPECT_LT(mfg_during, mfg_before + kRssGrowth);
    EXPECT_LT(rv_during, rv_before + kRssGrowth);
  }
}

INSTANTIATE_TEST_SUITE_P(Attacks, HardeningIntegration,
                         ::testing::Values(Case{Attack::Idle, false}, Case{Attack::Slowloris, false},
                                           Case{Attack::SlowBody, false}, Case{Attack::Flood, false},
                                           Case{Attack::Idle, true}, Case{Attack::SlowHandshake, true},
                                           Case{Attack::Slowloris, true}, Case{Attack::SlowBody, true},
                                           Case{Attack::Flood, true}),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return name_of(param_info.param.attack) + (param_info.param.tls ? "OverHttps" : "OverHttp");
                         });

}  // namespace
}  // namespace fdo::integration
