#include "libfdo/transport/http_transport.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "libfdo/core/error.h"
#include "libfdo/core/hex.h"
#include "libfdo/core/random.h"
#include "libfdo/transport/http_client.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/transport_test_util.h"

namespace fdo::transport {
namespace {

using testing::ScriptedResponder;

// A plain httplib server that misbehaves on purpose and records what it received.
class RawServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  explicit RawServer(Handler handler) {
    m_server.Post(".*", [this, handler](const httplib::Request& req, httplib::Response& res) {
      {
        const std::lock_guard lock(m_mutex);
        m_requests.push_back(req);
      }
      handler(req, res);
    });
    m_port = m_server.bind_to_any_port("127.0.0.1");
    m_thread = std::thread([this] { m_server.listen_after_bind(); });
    while (!m_server.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~RawServer() {
    m_server.stop();
    m_thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port); }
  std::vector<httplib::Request> requests() const {
    const std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<httplib::Request> m_requests;
};

ErrorCode code_of(const std::function<void()>& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const Error& e) {
    if (what != nullptr) {
      *what = e.what();
    }
    return e.code();
  }
  return ErrorCode::InvalidJwtToken;  // "no error" marker, never expected below
}

HttpClientOptions with_timeout(int ms) {
  HttpClientOptions options;
  options.timeout = std::chrono::milliseconds(ms);
  return options;
}

std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// FDO 1.1 §4.3, docs/interop.md "http-content-length": Content-Type and Content-Length, never chunked, no
// Expect, path prefix kept.
TEST(HttpClient, SendsBindingHeaders) {
  RawServer server([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Message-Type", "61");
    res.set_content("\x81", "application/cbor");
  });
  HttpClient client(server.url() + "/prefix/");
  const ClientResponse r = client.post(60, Bytes(3000, 0x80), std::nullopt);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.msg_type, 61);
  EXPECT_EQ(r.body, (Bytes{0x81}));
  (void)client.post(62, Bytes{0x80}, std::string("Bearer abc"));
  const std::vector<httplib::Request> seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].path, "/prefix/fdo/101/msg/60");
  EXPECT_EQ(seen[0].get_header_value("Content-Type"), "application/cbor");
  EXPECT_EQ(seen[0].get_header_value("Content-Length"), "3000");
  EXPECT_FALSE(seen[0].has_header("Transfer-Encoding"));
  EXPECT_FALSE(seen[0].has_header("Expect"));
  EXPECT_FALSE(seen[0].has_header("Authorization"));
  EXPECT_FALSE(seen[0].has_header("Message-Type"));
  EXPECT_EQ(seen[0].body.size(), 3000u);
  EXPECT_EQ(seen[1].get_header_value("Authorization"), "Bearer abc");
}

TEST(HttpClient, ReportsUnreachableServer) {
  HttpClient client("http://127.0.0.1:" + std::to_string(closed_port()), with_timeout(2000));
  std::string what;
  EXPECT_EQ(code_of([&] { (void)client.post(60, Bytes{0x80}, std::nullopt); }, &what),
            ErrorCode::InternalServerError);
  EXPECT_EQ(what.rfind("cannot connect to 127.0.0.1:", 0), 0u) << what;
  EXPECT_NE(what.find("connection refused"), std::string::npos) << what;
}

TEST(HttpClient, TimesOut) {
  RawServer server([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("\x81", "application/cbor");
  });
  HttpClient client(server.url(), with_timeout(200));
  EXPECT_EQ(code_of([&] { (void)client.post(60, Bytes{0x80}, std::nullopt); }),
            ErrorCode::InternalServerError);
}

TEST(HttpClient, RefusesOversizeAndCompressedResponses) {
  RawServer server([](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Message-Type", "61");
    if (req.path == "/fdo/101/msg/60") {
      res.set_content(std::string(kMaxBody + 1, 'x'), "application/cbor");
    } else {
      res.set_header("Content-Encoding", "gzip");
      res.set_content("\x1f\x8b", "application/cbor");
    }
  });
  HttpClient client(server.url());
  EXPECT_EQ(code_of([&] { (void)client.post(60, Bytes{0x80}, std::nullopt); }),
            ErrorCode::MessageBodyError);
  EXPECT_EQ(code_of([&] { (void)client.post(62, Bytes{0x80}, std::nullopt); }),
            ErrorCode::MessageBodyError);
  EXPECT_EQ(code_of([&] { (void)client.post(62, Bytes{0x80}, std::string("Bearer a\r\nX: y")); }),
            ErrorCode::MessageBodyError);
}

TEST(HttpClient, RejectsMalformedBaseUrl) {
  EXPECT_EQ(code_of([] { HttpClient c("ftp://127.0.0.1:1"); }), ErrorCode::MessageBodyError);
  EXPECT_EQ(code_of([] { HttpClient c("http://::1:80"); }), ErrorCode::MessageBodyError);
}

// docs/interop.md "session-tokens" (client side), over real HTTP against our server.
TEST(HttpTransport, KeepsTokenForTheRun) {
  ScriptedResponder responder;
  HttpServer server(responder);
  server.start();
  HttpTransport transport(server.url());
  EXPECT_EQ(transport.exchange(10, Bytes{0x80}).msg_type, 11);
  EXPECT_EQ(transport.authorization(), "Bearer tok-1");
  EXPECT_EQ(transport.exchange(12, Bytes{0x81}).msg_type, 13);
  transport.reset();
  (void)transport.exchange(10, Bytes{0x80});
  const std::vector<Request> seen = responder.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].authorization_present);
  EXPECT_EQ(seen[1].token, "tok-1");
  EXPECT_FALSE(seen[2].authorization_present);
  EXPECT_EQ(transport.authorization(), "Bearer tok-2");
}

// Tokens of other servers are stored and sent back verbatim, and the latest value wins.
TEST(HttpTransport, SendsForeignTokenVerbatimAndAdoptsChanges) {
  int n = 0;
  RawServer server([&n](const httplib::Request&, httplib::Response& res) {
    res.set_header("Message-Type", "31");
    if (++n <= 2) {
      res.set_header("Authorization", n == 1 ? "Bearer AAA" : "Bearer BBB");
    }
    res.set_content("\x81", "application/cbor");
  });
  HttpTransport transport(server.url());
  (void)transport.exchange(30, Bytes{0x80});
  (void)transport.exchange(32, Bytes{0x80});
  (void)transport.exchange(32, Bytes{0x80});
  const std::vector<httplib::Request> seen = server.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].has_header("Authorization"));
  EXPECT_EQ(seen[1].get_header_value("Authorization"), "Bearer AAA");
  EXPECT_EQ(seen[2].get_header_value("Authorization"), "Bearer BBB");
}

TEST(HttpTransport, ReadsErrorMessagesWhateverTheStatus) {
  RawServer server([](const httplib::Request& req, httplib::Response& res) {
    const std::string type = req.path.substr(req.path.rfind('/') + 1);
    if (type == "60") {  // go-fdo style: 200 with Message-Type 255
      res.status = 200;
      res.set_header("Message-Type", "255");
    } else if (type == "62") {  // conformance style: 400
      res.status = 400;
      res.set_header("Message-Type", "255");
    } else {  // 500 without Message-Type but CBOR
      res.status = 500;
    }
    res.set_content("\x85\x01", "application/cbor");
  });
  for (const std::uint8_t type : {60, 62, 64}) {
    HttpTransport transport(server.url());
    const Reply r = transport.exchange(type, Bytes{0x80});
    EXPECT_EQ(r.msg_type, 255) << int{type};
    EXPECT_EQ(r.body, (Bytes{0x85, 0x01})) << int{type};
  }
}

TEST(HttpTransport, FailsOnBrokenBinding) {
  RawServer server([](const httplib::Request& req, httplib::Response& res) {
    if (req.path == "/fdo/101/msg/60") {  // 200 without Message-Type
      res.set_content("\x81", "application/cbor");
    } else if (req.path == "/fdo/101/msg/62") {  // a proxy's error page
      res.status = 502;
      res.set_content("bad gateway", "text/html");
    } else {  // a malformed Message-Type
      res.set_header("Message-Type", "61;");
      res.set_content("\x81", "application/cbor");
    }
  });
  HttpTransport transport(server.url());
  std::string what;
  EXPECT_EQ(code_of([&] { (void)transport.exchange(60, Bytes{0x80}); }, &what),
            ErrorCode::MessageBodyError);
  EXPECT_NE(what.find("transport: HTTP 200"), std::string::npos) << what;
  EXPECT_EQ(code_of([&] { (void)transport.exchange(62, Bytes{0x80}); }, &what),
            ErrorCode::MessageBodyError);
  EXPECT_NE(what.find("HTTP 502"), std::string::npos) << what;
  EXPECT_EQ(code_of([&] { (void)transport.exchange(64, Bytes{0x80}); }),
            ErrorCode::MessageBodyError);
}

// TR-11 from the client side: the 255 goes out with the run token, its answer is ignored.
TEST(HttpTransport, SendsErrorWithRunToken) {
  ScriptedResponder responder([](const Request& r) {
    if (r.msg_type == 255) {
      return Response{255, {}, {}, 200};
    }
    return Response{static_cast<std::uint8_t>(r.msg_type + 1), {0x80}, "run7", 200};
  });
  HttpServer server(responder);
  server.start();
  HttpTransport transport(server.url());
  transport.send_error(Bytes{0x85});
  EXPECT_TRUE(responder.requests().empty());
  (void)transport.exchange(60, Bytes{0x80});
  transport.send_error(Bytes{0x85, 0x02});
  const std::vector<Request> seen = responder.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].msg_type, 255);
  EXPECT_EQ(seen[1].token, "run7");
  EXPECT_EQ(seen[1].body, (Bytes{0x85, 0x02}));
  EXPECT_EQ(transport.authorization(), std::nullopt);

  (void)transport.exchange(60, Bytes{0x80});
  server.stop();
  transport.send_error(Bytes{0x85});  // the server is gone: ignored
  EXPECT_EQ(transport.authorization(), std::nullopt);
}

// docs/interop.md "http-limits": verify TLS normally, with an explicit insecure switch.
class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir =
        std::filesystem::temp_directory_path() / ("fdo-transport-tls-" + to_hex(random_bytes(4)));
    std::filesystem::create_directories(m_dir);
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout '" +
        key() + "' -out '" + cert() + "' >/dev/null 2>&1";
    // scripts/setup.sh installs openssl: a missing command fails the test instead of skipping it.
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "the openssl command failed or is missing: " << cmd;
  }
  void TearDown() override { std::filesystem::remove_all(m_dir); }
  std::string cert() const { return (m_dir / "cert.pem").string(); }
  std::string key() const { return (m_dir / "key.pem").string(); }

 private:
  std::filesystem::path m_dir;
};

TEST_F(HttpsTest, VerifiesCertificatesUnlessInsecure) {
  ScriptedResponder responder;
  HttpServerOptions options;
  options.tls_cert_file = cert();
  options.tls_key_file = key();
  HttpServer server(responder, options);
  server.start();
  ASSERT_EQ(server.url().substr(0, 8), "https://");

  HttpTransport untrusted(server.url());
  std::string what;
  EXPECT_EQ(code_of([&] { (void)untrusted.exchange(20, Bytes{0x80}); }, &what),
            ErrorCode::InternalServerError);
  EXPECT_EQ(what.rfind("TLS handshake failed: ", 0), 0u) << what;

  HttpClientOptions lab;
  lab.insecure_tls = true;
  HttpTransport insecure(server.url(), lab);
  EXPECT_EQ(insecure.exchange(20, Bytes{0x80}).msg_type, 21);

  HttpClientOptions trusted;
  trusted.ca_file = cert();
  HttpTransport pinned_ca(server.url(), trusted);
  EXPECT_EQ(pinned_ca.exchange(20, Bytes{0x80}).msg_type, 21);
  EXPECT_EQ(responder.requests().size(), 2u);
}

TEST_F(HttpsTest, RefusesBrokenTlsFiles) {
  ScriptedResponder responder;
  HttpServerOptions options;
  options.tls_cert_file = key();
  options.tls_key_file = cert();
  HttpServer swapped(responder, options);
  EXPECT_THROW(swapped.start(), Error);
  options.tls_key_file.clear();
  HttpServer half(responder, options);
  EXPECT_THROW(half.start(), Error);
}

// docs/security.md "Local files": the TLS files go through the bounded reader before OpenSSL reads them, so
// /dev/zero (which OpenSSL would read forever) fails at once, naming the file.
TEST_F(HttpsTest, RefusesTlsFilesThatAreNotRegular) {
  ScriptedResponder responder;
  for (const bool zero_is_cert : {true, false}) {
    HttpServerOptions options;
    options.tls_cert_file = zero_is_cert ? "/dev/zero" : cert();
    options.tls_key_file = zero_is_cert ? key() : "/dev/zero";
    HttpServer server(responder, options);
    try {
      server.start();
      ADD_FAILURE() << "started";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), "cannot read /dev/zero: not a regular file");
    }
  }
}

}  // namespace
}  // namespace fdo::transport
