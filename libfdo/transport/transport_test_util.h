#pragma once
// Test-only helpers for the transport tests: a scripted Responder and a raw HTTP/1.1 exchange
// over a socket, for requests no well-behaved client would send.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/responder.h"

namespace fdo::transport::testing {

/// A Responder that records every call and answers through a script.
class ScriptedResponder final : public Responder {
 public:
  struct Rejection {
    std::uint8_t msg_type{};
    std::optional<std::string> token;
    ErrorCode code{};
    std::string reason;
  };
  using Script = std::function<Response(const Request&)>;

  /// A stand-in ErrorMessage body: the transport never looks inside.
  static Bytes error_body(ErrorCode code) {
    const auto v = static_cast<std::uint16_t>(code);
    return Bytes{0x85, 0x19, static_cast<std::uint8_t>(v >> 8),
                 static_cast<std::uint8_t>(v & 0xff)};
  }

  /// Answers type+1 echoing the body; issues "tok-N" when the request has no token.
  Response echo(const Request& r) {
    const std::string token = r.token ? *r.token : "tok-" + std::to_string(++m_tokens);
    return Response{.msg_type = static_cast<std::uint8_t>(r.msg_type + 1),
                    .body = r.body,
                    .token = token,
                    .http_status = 200};
  }

  explicit ScriptedResponder(Script script = nullptr) : m_script(std::move(script)) {}

  Response handle(const Request& request) override {
    {
      const std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
    }
    return m_script ? m_script(request) : echo(request);
  }

  Response reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                  std::string_view reason) override {
    const std::lock_guard lock(m_mutex);
    m_rejections.push_back(Rejection{msg_type, token, code, std::string(reason)});
    return Response{
        .msg_type = kErrorMessageType, .body = error_body(code), .token = {}, .http_status = 500};
  }

  std::vector<Request> requests() const {
    const std::lock_guard lock(m_mutex);
    return m_requests;
  }
  std::vector<Rejection> rejections() const {
    const std::lock_guard lock(m_mutex);
    return m_rejections;
  }

 private:
  Script m_script;
  mutable std::mutex m_mutex;
  std::vector<Request> m_requests;
  std::vector<Rejection> m_rejections;
  std::atomic<int> m_tokens{0};
};

/// A parsed HTTP response read from a raw socket.
struct RawResponse {
  int status = 0;
  HeaderList headers;
  std::string body;
  /// The single value of header `name`, or nullopt.
  std::optional<std::string> header(std::string_view name) const {
    const auto values = header_values(headers, name);
    if (values.size() != 1) {
      return std::nullopt;
    }
    return std::string(values.front());
  }
};

/// A TCP connection to 127.0.0.1:port whose reads give up after `timeout`; the caller closes it.
/// A TCP connection to 127.0.0.1:port, from the loopback address `from` (127.0.0.2, … are local on Linux) when given.
inline int connect_loopback(std::uint16_t port, std::chrono::milliseconds timeout, const char* from = nullptr) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    throw_internal("raw_http: socket failed");
  }
  if (from != nullptr) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, from, &local.sin_addr);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      throw_internal("raw_http: bind to the source address failed");
    }
  }
  timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
             .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw_internal("raw_http: connect failed");
  }
  return fd;
}

/// Sends `request` verbatim to 127.0.0.1:port and reads until the server closes or one
/// response with Content-Length is complete; a read that waits longer than `timeout` ends it
/// (status 0 when nothing came).
inline RawResponse raw_http(std::uint16_t port, const std::string& request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const int fd = connect_loopback(port, timeout);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string data;
  RawResponse out;
  std::size_t header_end = std::string::npos;
  std::optional<std::size_t> length;
  char buf[8192];
  for (;;) {
    if (header_end != std::string::npos && length && data.size() >= header_end + 4 + *length) {
      break;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    data.append(buf, static_cast<std::size_t>(n));
    if (header_end == std::string::npos) {
      header_end = data.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        std::size_t pos = data.find("\r\n");
        out.status = std::stoi(data.substr(9, 3));
        while (pos < header_end) {
          const std::size_t next = data.find("\r\n", pos + 2);
          const std::string line = data.substr(pos + 2, next - pos - 2);
          const std::size_t colon = line.find(':');
          if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(' '));
            out.headers.emplace_back(line.substr(0, colon), value);
          }
          pos = next;
        }
        if (const auto cl = out.header("Content-Length")) {
          length = std::stoul(*cl);
        }
      }
    }
  }
  ::close(fd);
  if (header_end != std::string::npos) {
    out.body = data.substr(header_end + 4);
  }
  return out;
}

/// What raw_http_until_close() read.
struct RawStream {
  std::string data;
  /// The server closed the connection (rather than the read bound running out).
  bool closed = false;
};

/// Sends `request` verbatim to 127.0.0.1:port and reads everything until the server closes the connection
/// or a read waits longer than `timeout`.
inline RawStream raw_http_until_close(std::uint16_t port, const std::string& request,
                                      std::chrono::milliseconds timeout) {
  const int fd = connect_loopback(port, timeout);
  (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  RawStream out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) {
      out.closed = true;
      break;
    }
    if (n < 0) {
      break;
    }
    out.data.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

}  // namespace fdo::transport::testing
