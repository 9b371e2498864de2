#pragma once
// What the tools' CLI tests share beside integration-tests/harness.h: loopback ports in a known state, so that a
// test can make "connection refused" and "address already in use" happen for sure.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace fdo::tool::testing {

/// A TCP socket bound to 127.0.0.1 on a free port, held for the test's lifetime: listening (a busy port: binding
/// it fails with EADDRINUSE) or not (a closed port: connecting to it is refused, and no other process takes it).
class LoopbackPort {
 public:
  explicit LoopbackPort(bool listening) {
    m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || (listening && ::listen(m_fd, 1) != 0)) {
      throw std::runtime_error("cannot reserve a loopback port");
    }
    m_port = ntohs(addr.sin_port);
  }
  ~LoopbackPort() { ::close(m_fd); }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;

  [[nodiscard]] std::uint16_t port() const { return m_port; }
  /// "127.0.0.1:PORT".
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(m_port); }
  /// "http://127.0.0.1:PORT".
  [[nodiscard]] std::string url() const { return "http://" + address(); }

 private:
  int m_fd = -1;
  std::uint16_t m_port = 0;
};

}  // namespace fdo::tool::testing
