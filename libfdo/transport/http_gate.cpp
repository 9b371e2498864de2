#include "libfdo/transport/http_gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "libfdo/core/log.h"

namespace fdo::transport::gate {
namespace {

using Clock = std::chrono::steady_clock;

// cpp-httplib answers a request line longer than this with 414 (CPPHTTPLIB_REQUEST_URI_MAX_LENGTH), but
// only after reading all of it; the gate refuses it before that.
constexpr std::size_t kMaxRequestLine = 8192;
// After a refusal the gate reads and discards at most this much, for at most kLingerTime, so that the client
// can read the answer before the connection closes.
constexpr std::size_t kMaxLingerDrain = 1 << 20;
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr std::chrono::milliseconds kTick{100};

// Handshake: TLS only, before the first request. Body: the head is read, the body is awaited. Discard: the head is
// read, a body over every limit is read and dropped.
enum class Phase { Handshake, Head, Body, Discard, Idle, Working, Closing };

struct Conn {
  Phase phase = Phase::Head;
  Clock::time_point since;     // when it began to wait (the oldest waiting one is shed first)
  Clock::time_point deadline;  // of the current phase
  std::size_t served = 0;
  std::size_t head_bytes = 0;
  std::size_t body_end = 0;      // Body: the bytes of head and body in `in`
  std::size_t discard_left = 0;  // Discard: body bytes still to drop
  std::size_t zeros = 0;         // Discard: the body's length, shown to the worker as zeros
  std::size_t drained = 0;
  bool got_bytes = false;
  bool large = false;  // counted in State::large_bodies
  std::string source;  // the peer's address bytes (family-tagged), for the per-source limit
  std::string in;      // bytes read from the connection (decrypted, for TLS) and not yet handed to a worker
  std::unique_ptr<SSL, void (*)(SSL*)> ssl{nullptr, SSL_free};
};

// The peer address of `sock` as bytes: one key per IPv4 or IPv6 address, ports ignored.
std::string source_of(int sock) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return {};
  }
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    return "4" + std::string(reinterpret_cast<const char*>(&in->sin_addr), sizeof in->sin_addr);
  }
  if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    return "6" + std::string(reinterpret_cast<const char*>(&in6->sin6_addr), sizeof in6->sin6_addr);
  }
  return {};
}

// The address of source_of() as text ("127.0.0.1", "::1"), for the access log.
std::string source_text(const std::string& source) {
  char text[INET6_ADDRSTRLEN] = {};
  if (source.size() == 1 + sizeof(in_addr) && source[0] == '4') {
    ::inet_ntop(AF_INET, source.data() + 1, text, sizeof text);
  } else if (source.size() == 1 + sizeof(in6_addr) && source[0] == '6') {
    ::inet_ntop(AF_INET6, source.data() + 1, text, sizeof text);
  }
  return text;
}

int wait_fd(int fd, short events, std::chrono::milliseconds timeout) {
  pollfd p{.fd = fd, .events = events, .revents = 0};
  const int ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, timeout.count()));
  int rc = 0;
  do {
    rc = ::poll(&p, 1, ms);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

std::chrono::milliseconds until(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) {
    return;
  }
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

// What a read or write without blocking gave: bytes, the peer's end (0), an error (-1) or nothing yet (kAgain, with
// `want` the poll event to wait for).
constexpr ssize_t kAgain = -2;

ssize_t read_some(int fd, SSL* ssl, char* ptr, std::size_t size, short& want) {
  want = POLLIN;
  if (ssl == nullptr) {
    for (;;) {
      const ssize_t n = ::recv(fd, ptr, size, MSG_DONTWAIT);
      if (n >= 0) {
        return n;
      }
      if (errno != EINTR) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? kAgain : -1;
      }
    }
  }
  ERR_clear_error();
  const int n = SSL_read(ssl, ptr, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
  if (n > 0) {
    return n;
  }
  switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
      return kAgain;
    case SSL_ERROR_WANT_WRITE:
      want = POLLOUT;
      return kAgain;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      return -1;
  }
}

ssize_t write_some(int fd, SSL* ssl, const char* ptr, std::size_t size, short& want) {
  want = POLLOUT;
  if (ssl == nullptr) {
    for (;;) {
      const ssize_t n = ::send(fd, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        return n;
      }
      if (errno != EINTR) {
        return errno == EAGAIN || errno == EWOULDBLOCK ? kAgain : -1;
      }
    }
  }
  ERR_clear_error();
  const int n = SSL_write(ssl, ptr, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
  if (n > 0) {
    return n;
  }
  switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_WANT_READ:
      want = POLLIN;
      return kAgain;
    case SSL_ERROR_WANT_WRITE:
      return kAgain;
    default:
      return -1;
  }
}

// One request over a non-blocking socket, plain or TLS, whose head (and its body, when the gate awaited it) the poll
// thread has read into `in`: httplib reads those bytes first (with `zeros` zero bytes in place of a discarded body
// after the head), then the rest from the connection as it asks for it, all before one deadline. What it leaves of
// `in`, a pipelined next request, goes back to the connection.
class GateStream final : public httplib::Stream {
 public:
  GateStream(int fd, SSL* ssl, std::string in, std::size_t zeros_at, std::size_t zeros,
             Clock::time_point read_deadline, std::chrono::milliseconds write_timeout)
      : m_fd(fd),
        m_ssl(ssl),
        m_in(std::move(in)),
        m_zeros_at(zeros_at),
        m_zeros(zeros),
        m_deadline(read_deadline),
        m_write_timeout(write_timeout) {}

  bool is_readable() const override {
    if (m_pos < m_in.size() || m_zeros > 0 || (m_ssl != nullptr && SSL_pending(m_ssl) > 0)) {
      return true;
    }
    // The peer may be waiting for what we gathered (an interim "100 Continue") before it sends more.
    return flush() && wait_fd(m_fd, POLLIN, until(m_deadline)) > 0;
  }
  bool is_writable() const override { return wait_fd(m_fd, POLLOUT, m_write_timeout) > 0; }

  ssize_t read(char* ptr, std::size_t size) override {
    if (m_zeros > 0 && m_pos == m_zeros_at) {
      const std::size_t n = std::min(size, m_zeros);
      std::memset(ptr, 0, n);
      m_zeros -= n;
      return static_cast<ssize_t>(n);
    }
    if (m_pos < m_in.size()) {
      const std::size_t end = m_zeros > 0 && m_pos < m_zeros_at ? m_zeros_at : m_in.size();
      const std::size_t n = std::min(size, end - m_pos);
      std::memcpy(ptr, m_in.data() + m_pos, n);
      m_pos += n;
      return static_cast<ssize_t>(n);
    }
    if (!flush()) {  // as in is_readable(): never wait for the peer with an answer unsent
      return -1;
    }
    for (;;) {
      short want = 0;
      const ssize_t n = read_some(m_fd, m_ssl, ptr, size, want);
      if (n != kAgain) {
        return n;
      }
      if (wait_fd(m_fd, want, until(m_deadline)) <= 0) {
        return -1;
      }
    }
  }

  // httplib writes an answer's head and body separately: they are gathered here and sent together by flush(),
  // one send (and one wake-up of the client) per answer instead of two or more (docs/performance.md "HTTP").
  ssize_t write(const char* ptr, std::size_t size) override {
    m_out.append(ptr, size);
    if (m_out.size() >= kGather && !flush()) {
      return -1;
    }
    return static_cast<ssize_t>(size);
  }

  /// Sends what write() gathered, within the write timeout; false if the connection failed or timed out.
  bool flush() const {
    const Clock::time_point deadline = Clock::now() + m_write_timeout;
    std::size_t sent = 0;
    while (sent < m_out.size()) {
      short want = 0;
      const ssize_t n = write_some(m_fd, m_ssl, m_out.data() + sent, m_out.size() - sent, want);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n != kAgain || wait_fd(m_fd, want, until(deadline)) <= 0) {
        m_out.clear();
        return false;
      }
    }
    m_out.clear();
    return true;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(m_fd, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(m_fd, false, ip, port); }
  socket_t socket() const override { return m_fd; }

  /// The bytes read ahead that httplib did not take (a next request), or nullopt when it left part of this one.
  [[nodiscard]] std::optional<std::string> leftover() const {
    if (m_zeros > 0) {
      return std::nullopt;
    }
    return m_in.substr(m_pos);
  }

 private:
  int m_fd;
  SSL* m_ssl;
  std::string m_in;
  std::size_t m_pos = 0;
  std::size_t m_zeros_at;
  std::size_t m_zeros;
  Clock::time_point m_deadline;
  std::chrono::milliseconds m_write_timeout;
  /// Answers up to this size go out in one send; larger ones in pieces of about this size.
  static constexpr std::size_t kGather = std::size_t{64} * 1024;
  mutable std::string m_out;  // gathered by write(), sent by flush(), which is_readable() may call
};

}  // namespace

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The Content-Length of header field lines `fields` (CRLF-separated), if the head has at least one, each of plain
// digits and all of one value (RFC 9110 §8.6), and no Transfer-Encoding; `expects_continue` is set when a field is
// "Expect: 100-continue" (RFC 9110 §10.1.1).
std::optional<std::size_t> content_length_of(std::string_view fields, bool& expects_continue) {
  std::optional<std::size_t> length;
  while (!fields.empty()) {
    const std::size_t end = fields.find('\n');
    std::string_view line = fields.substr(0, end);
    fields = end == std::string_view::npos ? std::string_view() : fields.substr(end + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    if (iequals(name, "expect") && iequals(value, "100-continue")) {
      expects_continue = true;
    }
    if (iequals(name, "transfer-encoding")) {
      return std::nullopt;
    }
    if (!iequals(name, "content-length")) {
      continue;
    }
    if (value.empty() || value.size() > 12 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    const auto value_of = static_cast<std::size_t>(std::stoull(std::string(value)));
    if (length && *length != value_of) {
      return std::nullopt;
    }
    length = value_of;
  }
  return length;
}

}  // namespace

HeadScan scan_head(std::string_view data, const Limits& limits) {
  using V = HeadScan::Verdict;
  const std::size_t line_end = data.find('\n');
  if (line_end == std::string_view::npos) {
    return {data.size() > kMaxRequestLine ? V::UriTooLong : V::Incomplete, 0, std::nullopt};
  }
  if (line_end + 1 > kMaxRequestLine) {
    return {V::UriTooLong, 0, std::nullopt};
  }
  const std::size_t fields = line_end + 1;
  std::size_t pos = fields;
  std::size_t count = 0;
  for (;;) {
    const std::size_t next = data.find('\n', pos);
    if (next == std::string_view::npos) {
      return {data.size() - fields > limits.max_header_bytes ? V::HeadersTooLarge : V::Incomplete, 0, std::nullopt};
    }
    if (next == pos + 1 && data[pos] == '\r') {
      HeadScan done{V::Complete, next + 1, std::nullopt};
      done.content_length = content_length_of(data.substr(fields, pos - fields), done.expects_continue);
      return done;
    }
    if (++count > limits.max_header_count || next + 1 - fields > limits.max_header_bytes) {
      return {V::HeadersTooLarge, 0, std::nullopt};
    }
    pos = next + 1;
  }
}

struct GatedServer::State {
  State(const Limits& l, SSL_CTX* tls) : limits(l), tls_ctx(tls, SSL_CTX_free) {}

  Limits limits;
  std::unique_ptr<SSL_CTX, void (*)(SSL_CTX*)> tls_ctx;
  int epfd = -1;
  int wake = -1;
  std::mutex mu;
  std::unordered_map<int, Conn> conns;  // every open connection, by socket
  std::unordered_map<std::string, std::size_t> per_source;  // open connections by source address
  std::deque<int> ready;                // requests read, for the workers
  std::vector<int> recheck;             // back from a worker with bytes already read (a pipelined request)
  std::condition_variable ready_cv;
  std::size_t large_bodies = 0;         // connections awaiting a body over max_gated_body
  std::vector<char> read_buf = std::vector<char>(16384);  // the poll thread's
  std::uint64_t refused_per_source = 0;
  bool stopping = false;
  bool stopped = false;
  std::thread poller;
  std::vector<std::thread> workers;

  // The request line and header fields fit in this many bytes, or scan_head() refuses them.
  [[nodiscard]] std::size_t head_cap() const { return kMaxRequestLine + limits.max_header_bytes + 3; }

  // With mu held.
  void close_conn(int fd) {
    const auto it = conns.find(fd);
    if (it != conns.end()) {
      const auto counted = per_source.find(it->second.source);
      if (counted != per_source.end() && --counted->second == 0) {
        per_source.erase(counted);
      }
      if (it->second.large) {
        --large_bodies;
      }
      conns.erase(it);  // frees the SSL before the socket closes
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
  bool watch(int fd, int op, bool tls) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (tls ? EPOLLOUT : 0U);
    ev.data.fd = fd;
    return ::epoll_ctl(epfd, op, fd, &ev) == 0;
  }
  // A plain refusal, then the connection lingers (reads discarded) until the client closes or kLingerTime.
  void refuse(int fd, Conn& c, std::string_view status) {
    const std::string reason = std::string(status.substr(4)) + "\n";
    const std::string answer = "HTTP/1.1 " + std::string(status) +
                               "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                               std::to_string(reason.size()) + "\r\n\r\n" + reason;
    short want = 0;
    (void)write_some(fd, c.ssl.get(), answer.data(), answer.size(), want);
    if (c.ssl) {
      ERR_clear_error();
      (void)SSL_shutdown(c.ssl.get());
    }
    if (limits.on_refused) {
      limits.on_refused(std::stoi(std::string(status.substr(0, 3))), source_text(c.source));
    }
    ::shutdown(fd, SHUT_WR);
    release_large(c);
    c.phase = Phase::Closing;
    c.deadline = Clock::now() + kLingerTime;
  }
  void release_large(Conn& c) {
    if (c.large) {
      c.large = false;
      --large_bodies;
    }
  }
  void drain(int fd, Conn& c) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        c.drained += static_cast<std::size_t>(n);
        if (c.drained > kMaxLingerDrain) {
          close_conn(fd);
          return;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        close_conn(fd);
      }
      return;
    }
  }
  // The TLS handshake, without blocking: true once it is done. The session is made when the first byte comes, so
  // that a connection that never sends one costs no OpenSSL state.
  bool handshake(int fd, Conn& c) {
    if (!c.ssl) {
      char byte = 0;
      const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return false;
      }
      if (n <= 0) {
        close_conn(fd);
        return false;
      }
      c.ssl.reset(SSL_new(tls_ctx.get()));
      if (!c.ssl || SSL_set_fd(c.ssl.get(), fd) != 1) {
        ERR_clear_error();
        close_conn(fd);
        return false;
      }
      SSL_set_accept_state(c.ssl.get());
    }
    ERR_clear_error();
    const int rc = SSL_accept(c.ssl.get());
    if (rc == 1) {
      c.phase = Phase::Head;  // the head is still due by the deadline set at the connection's opening
      return true;
    }
    const int error = SSL_get_error(c.ssl.get(), rc);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      close_conn(fd);  // not TLS, a refused client certificate, or the peer left
    }
    return false;
  }
  // Reads what the current phase may take without blocking: false when the peer closed or the connection failed.
  bool fill(int fd, Conn& c) {
    short want = 0;
    if (c.phase == Phase::Discard) {
      while (c.discard_left > 0) {
        const ssize_t n =
            read_some(fd, c.ssl.get(), read_buf.data(), std::min(read_buf.size(), c.discard_left), want);
        if (n == kAgain) {
          return true;
        }
        if (n <= 0) {
          return false;
        }
        c.discard_left -= static_cast<std::size_t>(n);
      }
      return true;
    }
    // Read through a buffer of the poll thread's, so that a connection keeps only the bytes it sent.
    const std::size_t cap = c.phase == Phase::Body ? c.body_end : head_cap();
    while (c.in.size() < cap) {
      const ssize_t n = read_some(fd, c.ssl.get(), read_buf.data(), std::min(read_buf.size(), cap - c.in.size()), want);
      if (n == kAgain) {
        return true;
      }
      if (n <= 0) {
        return false;
      }
      c.in.append(read_buf.data(), static_cast<std::size_t>(n));
    }
    return true;
  }
  void hand_off(int fd, Conn& c) {
    (void)::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
    release_large(c);
    c.phase = Phase::Working;
    ready.push_back(fd);
    ready_cv.notify_one();
  }
  enum class Step { Wait, Again, Done };
  // What the bytes read so far allow: wait for more, read more for a new phase, or done (handed off or refused).
  Step advance(int fd, Conn& c) {
    if (c.phase == Phase::Body) {
      if (c.in.size() < c.body_end) {
        return Step::Wait;
      }
      hand_off(fd, c);
      return Step::Done;
    }
    if (c.phase == Phase::Discard) {
      if (c.discard_left > 0) {
        return Step::Wait;
      }
      hand_off(fd, c);
      return Step::Done;
    }
    if (c.in.empty()) {
      return Step::Wait;
    }
    if (c.phase == Phase::Idle) {
      // The next request on a kept-alive connection: its head gets header_timeout from its first byte.
      c.phase = Phase::Head;
      c.deadline = Clock::now() + limits.header_timeout;
    }
    c.got_bytes = true;
    const HeadScan scan = scan_head(c.in, limits);
    switch (scan.verdict) {
      case HeadScan::Verdict::Incomplete:
        return Step::Wait;
      case HeadScan::Verdict::UriTooLong:
        refuse(fd, c, "414 URI Too Long");
        return Step::Done;
      case HeadScan::Verdict::HeadersTooLarge:
        refuse(fd, c, "431 Request Header Fields Too Large");
        return Step::Done;
      case HeadScan::Verdict::Complete:
        break;
    }
    c.head_bytes = scan.head_bytes;
    const std::size_t length = scan.content_length.value_or(0);
    const std::size_t end = scan.head_bytes + length;
    if (c.in.size() >= end || length > limits.max_discarded_body) {
      hand_off(fd, c);
      return Step::Done;
    }
    // The body is still coming: it waits here too, within read_timeout of the head (docs/security.md "Connections").
    c.deadline = Clock::now() + limits.read_timeout;
    if (length <= limits.max_gated_body || length <= limits.max_large_body) {
      if (length > limits.max_gated_body) {
        if (large_bodies >= limits.max_large_bodies) {
          refuse(fd, c, "503 Service Unavailable");
          return Step::Done;
        }
        c.large = true;
        ++large_bodies;
      }
      c.phase = Phase::Body;
      c.body_end = end;
      if (scan.expects_continue && c.in.size() == scan.head_bytes) {
        // The client waits for this before it sends the body we are about to await (RFC 9110 §15.2.1). cpp-httplib
        // answers the same header again when it takes the request; a client reads any number of 1xx answers.
        short want = 0;
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)write_some(fd, c.ssl.get(), kContinue.data(), kContinue.size(), want);
      }
      return Step::Again;
    }
    // Over every limit: drop it here, and the worker answers it as too large.
    c.phase = Phase::Discard;
    c.zeros = length;
    c.discard_left = end - c.in.size();
    c.in.resize(c.head_bytes);
    return Step::Again;
  }
  void examine(int fd, std::uint32_t events) {
    const auto it = conns.find(fd);
    if (it == conns.end()) {
      return;
    }
    Conn& c = it->second;
    if (c.phase == Phase::Closing) {
      drain(fd, c);
      return;
    }
    if (c.phase == Phase::Working) {
      return;  // a stale event of a socket a worker now holds
    }
    if (c.phase == Phase::Handshake && !handshake(fd, c)) {
      return;
    }
    const bool hangup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    for (;;) {
      const bool open = fill(fd, c);
      const Step step = advance(fd, c);
      if (step == Step::Done) {
        return;
      }
      if (step == Step::Wait) {
        if (!open || (hangup && c.ssl == nullptr)) {
          close_conn(fd);
        }
        return;
      }
    }
  }
  void expire() {
    const Clock::time_point now = Clock::now();
    std::vector<int> late;
    for (const auto& [fd, c] : conns) {
      if (c.phase != Phase::Working && c.deadline <= now) {
        late.push_back(fd);
      }
    }
    for (const int fd : late) {
      Conn& c = conns.at(fd);
      if ((c.phase == Phase::Head && c.got_bytes) || c.phase == Phase::Body || c.phase == Phase::Discard) {
        refuse(fd, c, "408 Request Timeout");
        c.deadline = now + std::chrono::milliseconds(100);
      } else {
        close_conn(fd);
      }
    }
  }
  // Makes room for one more connection: closes the one that has waited longest for a request head.
  bool make_room() {
    if (conns.size() < limits.max_connections) {
      return true;
    }
    int oldest = -1;
    Clock::time_point since = Clock::time_point::max();
    for (const auto& [fd, c] : conns) {
      if (c.phase != Phase::Working && c.since < since) {
        since = c.since;
        oldest = fd;
      }
    }
    if (oldest < 0) {
      return false;
    }
    close_conn(oldest);
    return true;
  }
};

GatedServer::GatedServer(const Limits& limits, SSL_CTX* tls) : m_state(std::make_unique<State>(limits, tls)) {
  State& s = *m_state;
  s.epfd = ::epoll_create1(EPOLL_CLOEXEC);
  s.wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (s.epfd >= 0 && s.wake >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s.wake;
    (void)::epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.wake, &ev);
  }
  s.poller = std::thread([this] { poll_loop(); });
  for (std::size_t i = 0; i < std::max<std::size_t>(1, limits.workers); ++i) {
    s.workers.emplace_back([this] { worker_loop(); });
  }
}

GatedServer::~GatedServer() { stop_gate(); }

void GatedServer::stop_gate() {
  State& s = *m_state;
  {
    std::lock_guard lock(s.mu);
    if (s.stopped) {
      return;
    }
    s.stopping = true;
  }
  s.ready_cv.notify_all();
  const std::uint64_t one = 1;
  (void)::write(s.wake, &one, sizeof one);
  if (s.poller.joinable()) {
    s.poller.join();
  }
  for (std::thread& t : s.workers) {
    if (t.joinable()) {
      t.join();
    }
  }
  std::lock_guard lock(s.mu);
  std::vector<int> open;
  for (const auto& entry : s.conns) {
    open.push_back(entry.first);
  }
  for (const int fd : open) {
    s.close_conn(fd);
  }
  ::close(s.epfd);
  ::close(s.wake);
  s.stopped = true;
}

bool GatedServer::process_and_close_socket(socket_t sock) {
  State& s = *m_state;
  const int flags = ::fcntl(sock, F_GETFL);
  (void)::fcntl(sock, F_SETFL, flags | O_NONBLOCK);
  std::string source = source_of(sock);
  std::lock_guard lock(s.mu);
  if (s.stopping) {
    ::close(sock);
    return false;
  }
  const bool tls = s.tls_ctx != nullptr;
  const auto counted = s.per_source.find(source);
  if (counted != s.per_source.end() && counted->second >= s.limits.max_connections_per_source) {
    // docs/security.md "Connections": a plain 503 (without waiting for the request) and close; over TLS, which
    // would need a handshake first, only the close.
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        "Content-Length: 40\r\n\r\ntoo many connections from this address\r\n";
    if (!tls) {
      (void)::send(sock, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    ::close(sock);
    if (s.limits.on_refused) {
      s.limits.on_refused(503, source_text(source));
    }
    if (s.refused_per_source++ % 1000 == 0) {
      log::warn("transport: a source address reached " + std::to_string(s.limits.max_connections_per_source) +
                " open connections; further ones get 503 (" + std::to_string(s.refused_per_source) + " so far)");
    }
    return false;
  }
  Conn conn;
  if (tls) {
    conn.phase = Phase::Handshake;
  }
  if (!s.make_room()) {
    ::close(sock);
    return false;
  }
  ++s.per_source[source];
  const Clock::time_point now = Clock::now();
  conn.since = now;
  conn.deadline = now + s.limits.header_timeout;  // handshake and head together (docs/security.md "Connections")
  conn.source = std::move(source);
  s.conns.emplace(sock, std::move(conn));
  if (!s.watch(sock, EPOLL_CTL_ADD, tls)) {
    s.close_conn(sock);
    return false;
  }
  return true;
}

void GatedServer::poll_loop() {
  State& s = *m_state;
  std::vector<epoll_event> events(256);
  Clock::time_point last_expiry = Clock::now();
  for (;;) {
    const int n = ::epoll_wait(s.epfd, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(kTick.count()));
    std::lock_guard lock(s.mu);
    if (s.stopping) {
      return;
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == s.wake) {
        std::uint64_t count = 0;
        (void)::read(s.wake, &count, sizeof count);
        continue;
      }
      s.examine(events[i].data.fd, events[i].events);
    }
    for (const int fd : std::exchange(s.recheck, {})) {
      s.examine(fd, 0);
    }
    if (Clock::now() - last_expiry >= kTick) {
      s.expire();
      last_expiry = Clock::now();
    }
  }
}

void GatedServer::worker_loop() {
  State& s = *m_state;
  for (;;) {
    int fd = -1;
    std::size_t served = 0;
    SSL* ssl = nullptr;
    std::optional<GateStream> stream;
    {
      std::unique_lock lock(s.mu);
      s.ready_cv.wait(lock, [&] { return s.stopping || !s.ready.empty(); });
      if (s.stopping) {
        return;
      }
      fd = s.ready.front();
      s.ready.pop_front();
      Conn& c = s.conns.at(fd);
      served = c.served;
      ssl = c.ssl.get();
      stream.emplace(fd, ssl, std::move(c.in), c.head_bytes, c.zeros, Clock::now() + s.limits.read_timeout,
                     s.limits.write_timeout);
      c.in.clear();
    }
    const bool last = served + 1 >= s.limits.keep_alive_max_count;
    bool closed = false;
    bool ok = false;
    try {
      if (ssl != nullptr) {
        // The verified client certificate of mutual TLS reaches the handlers through the request.
        ok = process_request(*stream, last, closed, [ssl](httplib::Request& req) { req.ssl = ssl; });
      } else {
        ok = process_request(*stream, last, closed, nullptr);
      }
    } catch (const std::exception& e) {
      log::error(std::string("transport: request processing failed: ") + e.what());
    } catch (...) {
      log::error("transport: request processing failed");
    }
    ok = stream->flush() && ok;
    std::optional<std::string> leftover = stream->leftover();
    stream.reset();
    std::lock_guard lock(s.mu);
    if (!ok || closed || last || s.stopping || !leftover) {
      s.close_conn(fd);
      continue;
    }
    Conn& c = s.conns.at(fd);
    const Clock::time_point now = Clock::now();
    c.phase = Phase::Idle;
    c.since = now;
    c.deadline = now + s.limits.keep_alive_timeout;
    c.served = served + 1;
    c.head_bytes = 0;
    c.body_end = 0;
    c.discard_left = 0;
    c.zeros = 0;
    c.drained = 0;
    c.got_bytes = false;
    c.in = std::move(*leftover);
    if (!s.watch(fd, EPOLL_CTL_ADD, ssl != nullptr)) {
      s.close_conn(fd);
      continue;
    }
    if (!c.in.empty() || (ssl != nullptr && SSL_pending(ssl) > 0)) {
      // Bytes already read are no event for epoll: the poll thread looks at them at once.
      s.recheck.push_back(fd);
      const std::uint64_t one = 1;
      (void)::write(s.wake, &one, sizeof one);
    }
  }
}

}  // namespace fdo::transport::gate
