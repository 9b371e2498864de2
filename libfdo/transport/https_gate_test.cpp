// Hostile clients over HTTPS and large admin uploads (docs/security.md "Connections", "Body size"): the TLS
// handshake and the reading of a request happen in the gate's poll thread, with the limits of plain HTTP, while a
// good HTTPS client beside the attack is served within 2 s.

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fcntl.h>
#include <sys/resource.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "libfdo/core/file.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/transport_test_util.h"

namespace fdo::transport {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ScriptedResponder;

void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

std::string message_post(std::string_view body, bool close = true) {
  return "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(close ? "Connection: close\r\n" : "") +
         "Content-Type: application/cbor\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

// A connection a test opens: a socket, and its TLS session once the handshake is done.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
};

// Closes every connection it holds.
struct Conns {
  std::vector<Conn> all;
  ~Conns() {
    for (const Conn& c : all) {
      SSL_free(c.ssl);
      ::close(c.fd);
    }
  }
};

class HttpsGateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    s_dir = std::filesystem::temp_directory_path() / ("fdo-https-gate-" + to_hex(random_bytes(4)));
    std::filesystem::create_directories(s_dir);
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                            "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " +
                            (s_dir / "key.pem").string() + " -out " + (s_dir / "cert.pem").string() +
                            " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "the openssl command failed";
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(s_dir); }

  void SetUp() override {
    raise_fd_limit();
    m_client_ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(m_client_ctx, SSL_VERIFY_NONE, nullptr);
  }
  void TearDown() override {
    if (m_server) {
      m_server->stop();
    }
    SSL_CTX_free(m_client_ctx);
  }

  // An HTTPS server with 2 workers, short timeouts, and no per-source limit unless a test sets one (every client of
  // these tests is 127.0.0.1, the good one too).
  void start(HttpServerOptions o = {}) {
    o.tls_cert_file = (s_dir / "cert.pem").string();
    o.tls_key_file = (s_dir / "key.pem").string();
    o.threads = 2;
    m_server = std::make_unique<HttpServer>(m_responder, o);
    m_server->start();
  }
  [[nodiscard]] std::uint16_t port() const { return m_server->port(); }

  // A good HTTPS client on a connection of its own: one FDO message, answered 200; how long it took.
  [[nodiscard]] std::chrono::milliseconds good_exchange() const {
    const Clock::time_point start = Clock::now();
    httplib::SSLClient client("127.0.0.1", port());
    client.enable_server_certificate_verification(false);
    client.set_connection_timeout(std::chrono::seconds(5));
    client.set_read_timeout(std::chrono::seconds(5));
    const httplib::Result r = client.Post("/fdo/101/msg/60", "\x80", "application/cbor");
    EXPECT_TRUE(r) << httplib::to_string(r.error());
    if (r) {
      EXPECT_EQ(r->status, 200);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  }

  // A TLS connection whose handshake is done (blocking).
  [[nodiscard]] Conn tls_connect(const char* from = nullptr) const {
    Conn c{.fd = testing::connect_loopback(port(), std::chrono::seconds(2), from), .ssl = SSL_new(m_client_ctx)};
    SSL_set_fd(c.ssl, c.fd);
    EXPECT_EQ(SSL_connect(c.ssl), 1) << "TLS handshake failed";
    return c;
  }

  // The slow-client loop over TLS: each second `send(conn, second)` on every connection still open, a good HTTPS
  // exchange beside them that must take under 2 s, then a look at which the server closed (bytes or the end on the
  // raw socket: a TLS alert, the 408, close_notify). Every connection must be closed within 5 s.
  void dribble_until_closed(Conns& slow, const std::function<bool(const Conn&, std::size_t)>& send) const {
    std::vector<bool> closed(slow.all.size(), false);
    std::size_t closed_count = 0;
    for (std::size_t second = 0; second < 5 && closed_count < slow.all.size(); ++second) {
      for (std::size_t i = 0; i < slow.all.size(); ++i) {
        if (!closed[i] && !send(slow.all[i], second)) {
          closed[i] = true;
          ++closed_count;
        }
      }
      EXPECT_LT(good_exchange().count(), 2000) << "second " << second;
      std::this_thread::sleep_for(std::chrono::milliseconds(800));
      for (std::size_t i = 0; i < slow.all.size(); ++i) {
        if (!closed[i] && !still_open(slow.all[i])) {
          closed[i] = true;
          ++closed_count;
        }
      }
    }
    EXPECT_EQ(closed_count, slow.all.size());
  }

  // Nothing from the server yet: no bytes and no end on the raw socket, or over TLS no application data, alert or
  // close_notify (the session tickets of TLS 1.3 come after the handshake and are no answer).
  static bool still_open(const Conn& c) {
    char buf[1];
    if (c.ssl == nullptr) {
      const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT | MSG_PEEK);
      return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    const int flags = ::fcntl(c.fd, F_GETFL);
    ::fcntl(c.fd, F_SETFL, flags | O_NONBLOCK);
    const int n = SSL_peek(c.ssl, buf, sizeof buf);
    const bool open = n <= 0 && SSL_get_error(c.ssl, n) == SSL_ERROR_WANT_READ;
    ERR_clear_error();
    ::fcntl(c.fd, F_SETFL, flags);
    return open;
  }

  // Everything the server sends on a TLS connection until it closes it (or 3 s pass).
  static std::string read_all(const Conn& c) {
    const timeval wait{.tv_sec = 3, .tv_usec = 0};
    ::setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    std::string out;
    char buf[4096];
    for (int n = 0; (n = SSL_read(c.ssl, buf, sizeof buf)) > 0;) {
      out.append(buf, static_cast<std::size_t>(n));
    }
    ERR_clear_error();
    return out;
  }

  static bool tls_send(const Conn& c, std::string_view bytes) {
    return SSL_write(c.ssl, bytes.data(), static_cast<int>(bytes.size())) == static_cast<int>(bytes.size());
  }
  static bool raw_send(const Conn& c, std::string_view bytes) {
    return ::send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  ScriptedResponder m_responder;
  std::unique_ptr<HttpServer> m_server;
  SSL_CTX* m_client_ctx = nullptr;
  static inline std::filesystem::path s_dir;
};

// Connections that never start the handshake hold no worker and are closed once header_timeout has passed.
TEST_F(HttpsGateTest, IdleConnectionsHoldNoWorkerAndAreClosed) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::seconds(2);
  o.max_connections_per_source = 100000;
  start(o);
  Conns idle;
  for (int i = 0; i < 500; ++i) {
    idle.all.push_back({.fd = testing::connect_loopback(port(), std::chrono::seconds(1)), .ssl = nullptr});
  }
  dribble_until_closed(idle, [](const Conn&, std::size_t) { return true; });
}

// A ClientHello sent one byte a second: the handshake waits in the poll thread and is cut off at header_timeout.
TEST_F(HttpsGateTest, SlowHandshakesHoldNoWorkerAndAreClosed) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::seconds(2);
  o.max_connections_per_source = 100000;
  start(o);
  Conns slow;
  for (int i = 0; i < 200; ++i) {
    slow.all.push_back({.fd = testing::connect_loopback(port(), std::chrono::seconds(1)), .ssl = nullptr});
  }
  // A handshake record header announcing 512 bytes, then its first bytes (ClientHello, TLS 1.2).
  const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  dribble_until_closed(slow, [&hello](const Conn& c, std::size_t second) { return raw_send(c, hello.substr(second, 1)); });
}

// Slowloris over TLS: after the handshake, one header byte a second; 408 once header_timeout has passed.
TEST_F(HttpsGateTest, SlowlorisHeadersHoldNoWorkerAndAreClosed) {
  HttpServerOptions o;
  o.header_timeout = std::chrono::seconds(2);
  o.max_connections_per_source = 100000;
  start(o);
  Conns slow;
  for (int i = 0; i < 100; ++i) {
    slow.all.push_back(tls_connect());
  }
  const std::string head = "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaa";
  Conns witness;
  witness.all.push_back(tls_connect());
  ASSERT_TRUE(tls_send(witness.all[0], head.substr(0, 5)));
  const Clock::time_point began = Clock::now();
  dribble_until_closed(slow, [&head](const Conn& c, std::size_t second) { return tls_send(c, head.substr(second, 1)); });
  EXPECT_GE(Clock::now() - began, std::chrono::milliseconds(1000)) << "closed long before header_timeout";
  EXPECT_EQ(read_all(witness.all[0]).rfind("HTTP/1.1 408 ", 0), 0U);
}

// A slow body over TLS holds no worker: 408 once read_timeout has passed since its head.
TEST_F(HttpsGateTest, SlowBodiesHoldNoWorkerAndAreClosed) {
  HttpServerOptions o;
  o.read_timeout = std::chrono::seconds(2);
  o.max_connections_per_source = 100000;
  start(o);
  const std::string head =
      "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\nContent-Length: 100\r\n\r\n";
  Conns slow;
  for (int i = 0; i < 100; ++i) {
    slow.all.push_back(tls_connect());
  }
  for (const Conn& c : slow.all) {
    ASSERT_TRUE(tls_send(c, head));
  }
  const Clock::time_point began = Clock::now();
  dribble_until_closed(slow, [](const Conn& c, std::size_t) { return tls_send(c, "\x80"); });
  EXPECT_GE(Clock::now() - began, std::chrono::milliseconds(1500)) << "closed before read_timeout";
  EXPECT_EQ(read_all(slow.all.back()).rfind("HTTP/1.1 408 ", 0), 0U);
}

// Beyond max_connections_per_source a source's new TLS connections are closed at once (no handshake, so no 503
// can be read); another address is served, and a held connection still is when it speaks.
TEST_F(HttpsGateTest, OneSourceAddressCannotTakeEveryConnection) {
  HttpServerOptions o;
  o.max_connections = 100;
  o.max_connections_per_source = 30;
  start(o);
  Conns hostile;
  for (int i = 0; i < 60; ++i) {
    hostile.all.push_back({.fd = testing::connect_loopback(port(), std::chrono::seconds(1), "127.0.0.2"), .ssl = nullptr});
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::size_t held = 0;
  std::size_t closed = 0;
  for (const Conn& c : hostile.all) {
    char buf[1];
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ++held;
    } else if (n <= 0) {
      ++closed;
    }
  }
  EXPECT_EQ(held, 30U);
  EXPECT_EQ(closed, 30U);
  EXPECT_LT(good_exchange().count(), 2000);
  Conn& first = hostile.all[0];
  first.ssl = SSL_new(m_client_ctx);
  SSL_set_fd(first.ssl, first.fd);
  ASSERT_EQ(SSL_connect(first.ssl), 1);
  ASSERT_TRUE(tls_send(first, message_post("\x80")));
  EXPECT_EQ(read_all(first).rfind("HTTP/1.1 200 ", 0), 0U);
}

// Oversize heads over TLS get 431 or 414 from the gate, and a flood of header lines is cut off after its first
// 16 KiB; the good client is served beside it.
TEST_F(HttpsGateTest, OversizeHeadsAreRefused) {
  start();
  Conns c;
  c.all.push_back(tls_connect());
  std::string many = "POST /fdo/101/msg/60 HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i) {
    many += "X-H" + std::to_string(i) + ": v\r\n";
  }
  ASSERT_TRUE(tls_send(c.all[0], many + "\r\n"));
  EXPECT_EQ(read_all(c.all[0]).rfind("HTTP/1.1 431 ", 0), 0U);
  c.all.push_back(tls_connect());
  ASSERT_TRUE(tls_send(c.all[1], "GET /" + std::string(9000, 'a')));
  EXPECT_EQ(read_all(c.all[1]).rfind("HTTP/1.1 414 ", 0), 0U);
  c.all.push_back(tls_connect());
  const std::string line = "X-Big: " + std::string(8000, 'b') + "\r\n";
  ASSERT_TRUE(tls_send(c.all[2], "POST /fdo/101/msg/60 HTTP/1.1\r\n"));
  std::size_t sent = 0;
  const timeval wait{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(c.all[2].fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
  while (sent < (std::size_t{8} << 20) && tls_send(c.all[2], line)) {
    sent += line.size();
  }
  EXPECT_LT(sent, std::size_t{8} << 20) << "the server read 8 MiB of header fields";
  EXPECT_LT(good_exchange().count(), 2000);
}

// Kept-alive and pipelined requests over TLS: bytes the gate read ahead (in its buffer or OpenSSL's) are the next
// request, served in order.
TEST_F(HttpsGateTest, KeptAliveAndPipelinedRequestsAreServed) {
  start();
  httplib::SSLClient client("127.0.0.1", port());
  client.enable_server_certificate_verification(false);
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    const httplib::Result r = client.Post("/fdo/101/msg/60", "\x80", "application/cbor");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200);
  }
  Conns c;
  c.all.push_back(tls_connect());
  ASSERT_TRUE(tls_send(c.all[0], message_post("\x80", false) + message_post("\x80", false) + message_post("\x80")));
  const std::string answers = read_all(c.all[0]);
  std::size_t count = 0;
  for (std::size_t at = answers.find("HTTP/1.1 200 "); at != std::string::npos; at = answers.find("HTTP/1.1 200 ", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 3U) << answers;
  EXPECT_EQ(m_responder.requests().size(), 6U);
}

// --- docs/security.md "Body size": admin uploads over 64 KiB, read in the poll thread (plain HTTP here) ---

class AdminUploadTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions o) {
    o.threads = 1;
    o.max_connections_per_source = 100000;
    m_server = std::make_unique<HttpServer>(m_responder, o);
    m_server->add_admin_post("/upload", [this](const AdminRequest& r) {
      m_sizes.push_back(r.body.size());
      return AdminResponse{.status = 201, .content_type = "text/plain", .body = std::to_string(r.body.size())};
    });
    m_server->add_admin_get("/ping", [](const AdminRequest&) { return AdminResponse{.body = "pong"}; });
    m_server->start();
  }
  void TearDown() override {
    if (m_server) {
      m_server->stop();
    }
  }
  [[nodiscard]] std::uint16_t port() const { return m_server->port(); }

  static std::string upload_head(std::size_t length) {
    return "POST /upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/octet-stream\r\n"
           "Content-Length: " +
           std::to_string(length) + "\r\n\r\n";
  }
  // The one worker is free: a GET answered within 2 s.
  void expect_worker_free() const {
    const Clock::time_point start = Clock::now();
    const testing::RawResponse r =
        testing::raw_http(port(), "GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", std::chrono::seconds(5));
    EXPECT_EQ(r.status, 200);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  }

  ScriptedResponder m_responder;
  std::unique_ptr<HttpServer> m_server;
  std::vector<std::size_t> m_sizes;  // written by the one worker, read after it answered
};

// Uploads of up to admin_max_body stall half-way without holding the one worker; a fifth at once gets 503; each
// stalled one gets 408 at read_timeout; and one that arrives in pieces is served whole.
TEST_F(AdminUploadTest, SlowLargeUploadsHoldNoWorker) {
  HttpServerOptions o;
  o.read_timeout = std::chrono::seconds(2);
  start(o);
  const std::size_t size = 300 * 1024;
  const std::string half(size / 2, 'u');
  std::vector<int> slow;
  for (int i = 0; i < 4; ++i) {
    slow.push_back(testing::connect_loopback(port(), std::chrono::seconds(4)));
    const std::string part = upload_head(size) + half;
    ASSERT_EQ(::send(slow.back(), part.data(), part.size(), MSG_NOSIGNAL), static_cast<ssize_t>(part.size()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  expect_worker_free();
  const testing::RawResponse busy = testing::raw_http(port(), upload_head(size) + std::string(size, 'u'));
  EXPECT_EQ(busy.status, 503);
  for (const int fd : slow) {
    char buf[64] = {};
    EXPECT_GT(::recv(fd, buf, sizeof buf - 1, 0), 12);
    EXPECT_EQ(std::string_view(buf, 12), "HTTP/1.1 408");
    ::close(fd);
  }
  // One that is sent in pieces, whole.
  const int fd = testing::connect_loopback(port(), std::chrono::seconds(4));
  const std::string part = upload_head(size) + half;
  ASSERT_EQ(::send(fd, part.data(), part.size(), MSG_NOSIGNAL), static_cast<ssize_t>(part.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  expect_worker_free();
  ASSERT_EQ(::send(fd, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
  char buf[256] = {};
  ASSERT_GT(::recv(fd, buf, sizeof buf - 1, 0), 12);
  EXPECT_EQ(std::string_view(buf, 12), "HTTP/1.1 201");
  ::close(fd);
  EXPECT_EQ(m_sizes, std::vector<std::size_t>{size});
}

// A body over every limit (here 2 MiB to a 1 MiB admin route) is read and dropped in the poll thread, so sending it
// slowly holds no worker, and answered 413 once it is in; a chunked body (any method) is refused before it is read.
TEST_F(AdminUploadTest, OversizeAndChunkedUploadsHoldNoWorker) {
  HttpServerOptions o;
  start(o);
  const std::size_t size = std::size_t{2} << 20;
  const int fd = testing::connect_loopback(port(), std::chrono::seconds(4));
  const std::string head = upload_head(size);
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  const std::string chunk(size / 4, 'u');
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL), static_cast<ssize_t>(chunk.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    expect_worker_free();
  }
  char buf[64] = {};
  ASSERT_GT(::recv(fd, buf, sizeof buf - 1, 0), 12);
  EXPECT_EQ(std::string_view(buf, 12), "HTTP/1.1 413");
  ::close(fd);
  EXPECT_TRUE(m_sizes.empty());
  const testing::RawResponse chunked = testing::raw_http(
      port(), "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  EXPECT_EQ(chunked.status, 411);
  const testing::RawResponse put = testing::raw_http(
      port(), "PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
  EXPECT_EQ(put.status, 411);
  expect_worker_free();
}

}  // namespace
}  // namespace fdo::transport
