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
#include <vector>

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

enum class Phase { Head, Body, Idle, Working, Closing };

struct Conn {
  Phase phase = Phase::Head;
  Clock::time_point since;     // when it began to wait (the oldest waiting one is shed first)
  Clock::time_point deadline;  // of the current phase
  std::size_t served = 0;
  std::size_t head_bytes = 0;
  std::size_t drained = 0;
  bool got_bytes = false;
  std::string source;  // the peer's address bytes (family-tagged), for the per-source limit
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

// One request over a non-blocking socket whose head is already in the kernel's buffer: the head is read in
// one call, the rest as httplib asks for it (never beyond the request, so a pipelined next request stays on
// the socket), all of it before one deadline.
class ConnStream final : public httplib::Stream {
 public:
  ConnStream(int fd, std::size_t head_bytes, Clock::time_point read_deadline,
             std::chrono::milliseconds write_timeout)
      : m_fd(fd), m_head_left(head_bytes), m_deadline(read_deadline), m_write_timeout(write_timeout) {}

  bool is_readable() const override {
    return m_pos < m_buffer.size() || wait_fd(m_fd, POLLIN, until(m_deadline)) > 0;
  }
  bool is_writable() const override { return wait_fd(m_fd, POLLOUT, m_write_timeout) > 0; }

  ssize_t read(char* ptr, std::size_t size) override {
    if (m_pos == m_buffer.size() && m_head_left > 0) {
      m_buffer.resize(m_head_left);
      m_pos = 0;
      std::size_t got = 0;
      while (got < m_buffer.size()) {
        const ssize_t n = recv_some(m_buffer.data() + got, m_buffer.size() - got);
        if (n <= 0) {
          return n;
        }
        got += static_cast<std::size_t>(n);
      }
      m_head_left = 0;
    }
    if (m_pos < m_buffer.size()) {
      const std::size_t n = std::min(size, m_buffer.size() - m_pos);
      std::memcpy(ptr, m_buffer.data() + m_pos, n);
      m_pos += n;
      return static_cast<ssize_t>(n);
    }
    return recv_some(ptr, size);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    const Clock::time_point deadline = Clock::now() + m_write_timeout;
    std::size_t sent = 0;
    while (sent < size) {
      const ssize_t n = ::send(m_fd, ptr + sent, size - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (wait_fd(m_fd, POLLOUT, until(deadline)) <= 0) {
          return -1;
        }
      } else {
        return -1;
      }
    }
    return static_cast<ssize_t>(sent);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(m_fd, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(m_fd, false, ip, port); }
  socket_t socket() const override { return m_fd; }

 private:
  ssize_t recv_some(char* ptr, std::size_t size) {
    for (;;) {
      const ssize_t n = ::recv(m_fd, ptr, size, 0);
      if (n >= 0) {
        return n;
      }
      if (errno == EINTR) {
        continue;
      }
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || wait_fd(m_fd, POLLIN, until(m_deadline)) <= 0) {
        return -1;
      }
    }
  }

  int m_fd;
  std::size_t m_head_left;
  Clock::time_point m_deadline;
  std::chrono::milliseconds m_write_timeout;
  std::vector<char> m_buffer;
  std::size_t m_pos = 0;
};

}  // namespace

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The one Content-Length of header field lines `fields` (CRLF-separated), if the head has exactly one of plain
// digits and no Transfer-Encoding.
std::optional<std::size_t> content_length_of(std::string_view fields) {
  std::optional<std::size_t> length;
  int seen = 0;
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
    if (iequals(name, "transfer-encoding")) {
      return std::nullopt;
    }
    if (!iequals(name, "content-length")) {
      continue;
    }
    ++seen;
    if (value.empty() || value.size() > 12 ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    length = static_cast<std::size_t>(std::stoull(std::string(value)));
  }
  return seen == 1 ? length : std::nullopt;
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
      return {V::Complete, next + 1, content_length_of(data.substr(fields, pos - fields))};
    }
    if (++count > limits.max_header_count || next + 1 - fields > limits.max_header_bytes) {
      return {V::HeadersTooLarge, 0, std::nullopt};
    }
    pos = next + 1;
  }
}

struct GatedServer::State {
  explicit State(const Limits& l) : limits(l) {}

  Limits limits;
  int epfd = -1;
  int wake = -1;
  std::mutex mu;
  std::unordered_map<int, Conn> conns;  // every open connection, by socket
  std::unordered_map<std::string, std::size_t> per_source;  // open connections by source address
  std::deque<int> ready;                // heads complete, for the workers
  std::condition_variable ready_cv;
  std::uint64_t refused_per_source = 0;
  bool stopping = false;
  bool stopped = false;
  std::thread poller;
  std::vector<std::thread> workers;

  // With mu held.
  void close_conn(int fd) {
    const auto it = conns.find(fd);
    if (it != conns.end()) {
      const auto counted = per_source.find(it->second.source);
      if (counted != per_source.end() && --counted->second == 0) {
        per_source.erase(counted);
      }
      conns.erase(it);
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
  bool watch(int fd, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.fd = fd;
    return ::epoll_ctl(epfd, op, fd, &ev) == 0;
  }
  // A plain refusal, then the connection lingers (reads discarded) until the client closes or kLingerTime.
  void refuse(int fd, Conn& c, std::string_view status) {
    const std::string reason = std::string(status.substr(4)) + "\n";
    const std::string answer = "HTTP/1.1 " + std::string(status) +
                               "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                               std::to_string(reason.size()) + "\r\n\r\n" + reason;
    (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (limits.on_refused) {
      limits.on_refused(std::stoi(std::string(status.substr(0, 3))), source_text(c.source));
    }
    ::shutdown(fd, SHUT_WR);
    c.phase = Phase::Closing;
    c.deadline = Clock::now() + kLingerTime;
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
  void examine(int fd, std::uint32_t events, std::vector<char>& buf) {
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
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      close_conn(fd);
      return;
    }
    if (n < 0) {
      if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        close_conn(fd);
      }
      return;
    }
    if (c.phase == Phase::Idle) {
      // The next request on a kept-alive connection: its head gets header_timeout from its first byte.
      c.phase = Phase::Head;
      c.deadline = Clock::now() + limits.header_timeout;
    }
    c.got_bytes = true;
    const HeadScan scan = scan_head(std::string_view(buf.data(), static_cast<std::size_t>(n)), limits);
    switch (scan.verdict) {
      case HeadScan::Verdict::Complete:
        if (scan.content_length && *scan.content_length <= limits.max_gated_body &&
            static_cast<std::size_t>(n) < scan.head_bytes + *scan.content_length) {
          // The body is still coming: it waits here too, within read_timeout of the head (docs/security.md).
          if (c.phase != Phase::Body) {
            c.phase = Phase::Body;
            c.deadline = Clock::now() + limits.read_timeout;
          }
          if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
            close_conn(fd);
          }
          return;
        }
        (void)::epoll_ctl(epfd, EPOLL_CTL_DEL, fd, nullptr);
        c.phase = Phase::Working;
        c.head_bytes = scan.head_bytes;
        ready.push_back(fd);
        ready_cv.notify_one();
        return;
      case HeadScan::Verdict::UriTooLong:
        refuse(fd, c, "414 URI Too Long");
        return;
      case HeadScan::Verdict::HeadersTooLarge:
        refuse(fd, c, "431 Request Header Fields Too Large");
        return;
      case HeadScan::Verdict::Incomplete:
        if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
          close_conn(fd);
        }
        return;
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
      Conn& c = conns[fd];
      if ((c.phase == Phase::Head && c.got_bytes) || c.phase == Phase::Body) {
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

GatedServer::GatedServer(const Limits& limits) : m_state(std::make_unique<State>(limits)) {
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
  // Room in the kernel for a whole gated request (head and body), which the poll thread peeks at before a worker
  // reads it.
  const int rcvbuf = static_cast<int>(2 * (kMaxRequestLine + s.limits.max_header_bytes + s.limits.max_gated_body));
  (void)::setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  std::string source = source_of(sock);
  std::lock_guard lock(s.mu);
  if (s.stopping) {
    ::close(sock);
    return false;
  }
  const auto counted = s.per_source.find(source);
  if (counted != s.per_source.end() && counted->second >= s.limits.max_connections_per_source) {
    // docs/security.md "Connections": a plain 503 (without waiting for the request) and close.
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        "Content-Length: 40\r\n\r\ntoo many connections from this address\r\n";
    (void)::send(sock, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
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
  if (!s.make_room()) {
    ::close(sock);
    return false;
  }
  ++s.per_source[source];
  const Clock::time_point now = Clock::now();
  s.conns[sock] = Conn{.phase = Phase::Head,
                       .since = now,
                       .deadline = now + s.limits.header_timeout,
                       .served = 0,
                       .head_bytes = 0,
                       .drained = 0,
                       .got_bytes = false,
                       .source = std::move(source)};
  if (!s.watch(sock, EPOLL_CTL_ADD)) {
    s.close_conn(sock);
    return false;
  }
  return true;
}

void GatedServer::poll_loop() {
  State& s = *m_state;
  std::vector<char> buf(kMaxRequestLine + s.limits.max_header_bytes + 3 + s.limits.max_gated_body);
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
        continue;
      }
      s.examine(events[i].data.fd, events[i].events, buf);
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
    std::size_t head = 0;
    std::size_t served = 0;
    {
      std::unique_lock lock(s.mu);
      s.ready_cv.wait(lock, [&] { return s.stopping || !s.ready.empty(); });
      if (s.stopping) {
        return;
      }
      fd = s.ready.front();
      s.ready.pop_front();
      const Conn& c = s.conns.at(fd);
      head = c.head_bytes;
      served = c.served;
    }
    ConnStream stream(fd, head, Clock::now() + s.limits.read_timeout, s.limits.write_timeout);
    const bool last = served + 1 >= s.limits.keep_alive_max_count;
    bool closed = false;
    bool ok = false;
    try {
      ok = process_request(stream, last, closed, nullptr);
    } catch (const std::exception& e) {
      log::error(std::string("transport: request processing failed: ") + e.what());
    } catch (...) {
      log::error("transport: request processing failed");
    }
    std::lock_guard lock(s.mu);
    if (!ok || closed || last || s.stopping) {
      s.close_conn(fd);
      continue;
    }
    Conn& c = s.conns.at(fd);
    const Clock::time_point now = Clock::now();
    c = Conn{.phase = Phase::Idle,
             .since = now,
             .deadline = now + s.limits.keep_alive_timeout,
             .served = served + 1,
             .head_bytes = 0,
             .drained = 0,
             .got_bytes = false,
             .source = std::move(c.source)};
    if (!s.watch(fd, EPOLL_CTL_ADD)) {
      s.close_conn(fd);
    }
  }
}

}  // namespace fdo::transport::gate
