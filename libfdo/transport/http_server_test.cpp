#include "libfdo/transport/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <sys/resource.h>

#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/core/metrics.h"
#include "libfdo/transport/http_gate.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/transport/transport_test_util.h"

namespace fdo::transport {
namespace {

using testing::raw_http;
using testing::RawResponse;
using testing::ScriptedResponder;

std::string cbor_post(std::string_view target, std::string_view extra_headers,
                      std::string_view body) {
  return "POST " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
         std::string(extra_headers) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + std::string(body);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(ScriptedResponder::Script script = nullptr, HttpServerOptions options = {}) {
    responder = std::make_unique<ScriptedResponder>(std::move(script));
    server = std::make_unique<HttpServer>(*responder, std::move(options));
    server->start();
    client = std::make_unique<httplib::Client>("127.0.0.1", server->port());
    client->set_keep_alive(true);
  }
  void TearDown() override {
    client.reset();
    if (server) {
      server->stop();
    }
  }

  static void expect_fdo_error(const httplib::Result& r, int status) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->get_header_value("Message-Type"), "255");
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/cbor");
    EXPECT_FALSE(r->has_header("Authorization"));
    EXPECT_EQ(r->body, to_string(ScriptedResponder::error_body(ErrorCode::MessageBodyError)));
  }

  std::unique_ptr<ScriptedResponder> responder;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<httplib::Client> client;
};

TEST_F(HttpServerTest, ReportsBoundUrl) {
  start();
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->url(), "http://127.0.0.1:" + std::to_string(server->port()));
}

// TR-06: a 200 carries Content-Type, Content-Length, Message-Type and the Bearer token.
TEST_F(HttpServerTest, AnswersWithAllFiveHeaders) {
  start();
  const auto r = client->Post("/fdo/101/msg/60", "\x80\x01", "application/cbor");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/cbor");
  EXPECT_EQ(r->get_header_value("Content-Length"), "2");
  EXPECT_EQ(r->get_header_value("Message-Type"), "61");
  EXPECT_EQ(r->get_header_value("Authorization"), "Bearer tok-1");
  EXPECT_EQ(r->body, "\x80\x01");
  const std::vector<Request> seen = responder->requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].msg_type, 60);
  EXPECT_FALSE(seen[0].authorization_present);
  EXPECT_EQ(seen[0].body, (Bytes{0x80, 0x01}));
  EXPECT_EQ(seen[0].peer, "127.0.0.1");
}

// TR-06: the same token on every 200 of the run, over one kept-alive connection.
TEST_F(HttpServerTest, KeepsTokenAcrossRunOnOneConnection) {
  start();
  const httplib::Headers auth{{"Authorization", "Bearer tok-1"}};
  ASSERT_TRUE(client->Post("/fdo/101/msg/60", "\x80", "application/cbor"));
  for (const char* path : {"/fdo/101/msg/62", "/fdo/101/msg/64"}) {
    const auto r = client->Post(path, auth, "\x80", "application/cbor");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Authorization"), "Bearer tok-1");
  }
  EXPECT_EQ(responder->requests().back().token, "tok-1");
}

// TR-01
TEST_F(HttpServerTest, RejectsWrongContentTypeWith415) {
  start();
  expect_fdo_error(client->Post("/fdo/101/msg/60", "\x80", "text/plain"), 415);
  expect_fdo_error(client->Post("/fdo/101/msg/60", "\x80", "application/cbor; charset=utf-8"), 415);
  const RawResponse none = raw_http(server->port(), cbor_post("/fdo/101/msg/60", "", "\x80"));
  EXPECT_EQ(none.status, 415);
  EXPECT_EQ(none.header("Message-Type"), "255");
  EXPECT_EQ(none.body, to_string(ScriptedResponder::error_body(ErrorCode::MessageBodyError)));
  const std::vector<ScriptedResponder::Rejection> rejections = responder->rejections();
  ASSERT_EQ(rejections.size(), 3u);
  for (const auto& rejection : rejections) {
    EXPECT_EQ(rejection.code, ErrorCode::MessageBodyError);
    EXPECT_EQ(rejection.msg_type, 60);
  }
  EXPECT_TRUE(responder->requests().empty());
  // The media type is case-insensitive.
  EXPECT_EQ(client->Post("/fdo/101/msg/60", "\x80", "Application/CBOR")->status, 200);
}

// TR-02
TEST_F(HttpServerTest, AnswersOtherMethodsWith405) {
  start();
  const auto get = client->Get("/fdo/101/msg/60");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  EXPECT_FALSE(get->has_header("Message-Type"));
  EXPECT_EQ(client->Put("/fdo/101/msg/60", "\x80", "application/cbor")->status, 405);
  EXPECT_EQ(client->Delete("/fdo/101/msg/60")->status, 405);
  EXPECT_EQ(client->Patch("/fdo/101/msg/60", "\x80", "application/cbor")->status, 405);
  EXPECT_EQ(client->Get("/fdo/100/msg/60")->status, 404);
  EXPECT_TRUE(responder->requests().empty());
}

// TR-03
TEST_F(HttpServerTest, AnswersOtherPathsWith404WithoutFdoBody) {
  start();
  for (const char* target : {"/fdo/100/msg/60", "/fdo/101/msg/60/x", "/fdo/101/msg/060",
                             "/fdo/101/msg/abc", "/fdo/101/msg/256", "/fdo/101/msg/",
                             "/fdo/101/msg/60?x=1", "/fdo/101/msg/%36%30", "/", "/other"}) {
    const RawResponse r =
        raw_http(server->port(), cbor_post(target, "Content-Type: application/cbor\r\n", "\x80"));
    EXPECT_EQ(r.status, 404) << target;
    EXPECT_EQ(r.header("Message-Type"), std::nullopt) << target;
    EXPECT_TRUE(r.body.empty()) << target;
  }
  EXPECT_TRUE(responder->requests().empty());
  EXPECT_TRUE(responder->rejections().empty());
}

// TR-04: unknown and server-to-client types reach the responder, which answers code 100.
TEST_F(HttpServerTest, PassesUnknownTypesToResponder) {
  start([](const Request&) {
    return Response{255, ScriptedResponder::error_body(ErrorCode::MessageBodyError), "leak", 500};
  });
  for (const char* path : {"/fdo/101/msg/99", "/fdo/101/msg/61"}) {
    expect_fdo_error(client->Post(path, "\x80", "application/cbor"), 500);
  }
  const std::vector<Request> seen = responder->requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].msg_type, 99);
  EXPECT_EQ(seen[1].msg_type, 61);
}

// TR-05: 65 536 bytes → reject with code 100, status 500, the token handed over to be dropped.
TEST_F(HttpServerTest, RejectsOversizeBodyAndKeepsConnectionUsable) {
  start();
  const httplib::Headers auth{{"Authorization", "Bearer run-a"}};
  expect_fdo_error(
      client->Post("/fdo/101/msg/68", auth, std::string(65536, 'x'), "application/cbor"), 500);
  ASSERT_EQ(responder->rejections().size(), 1u);
  EXPECT_EQ(responder->rejections()[0].msg_type, 68);
  EXPECT_EQ(responder->rejections()[0].token, "run-a");
  EXPECT_EQ(responder->rejections()[0].code, ErrorCode::MessageBodyError);
  EXPECT_TRUE(responder->requests().empty());

  const auto at_limit =
      client->Post("/fdo/101/msg/68", auth, std::string(65535, 'x'), "application/cbor");
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->status, 200);
  ASSERT_EQ(responder->requests().size(), 1u);
  EXPECT_EQ(responder->requests()[0].body.size(), 65535u);
}

TEST_F(HttpServerTest, RejectsOversizeBodyBeyondHttplibLimit) {
  HttpServerOptions options;
  options.admin_max_body = 1000;
  options.max_body = 100;
  start(nullptr, options);
  expect_fdo_error(client->Post("/fdo/101/msg/68", std::string(5000, 'x'), "application/cbor"),
                   500);
  EXPECT_EQ(client->Post("/fdo/101/msg/60", "\x80", "application/cbor")->status, 200);
}

// TR-07: the server passes the malformed-header flags on; the responder answers error 1.
TEST_F(HttpServerTest, ReportsAuthorizationForms) {
  start();
  struct Case {
    const char* value;
    bool malformed;
    std::optional<std::string> token;
  };
  for (const Case& c :
       {Case{"Bearer abc", false, "abc"}, Case{"Basic abc", true, {}}, Case{"abc", true, {}},
        Case{"Bearer", true, {}}, Case{"Bearer  x", true, {}}, Case{"bearer abc", true, {}}}) {
    const RawResponse r =
        raw_http(server->port(), cbor_post("/fdo/101/msg/62",
                                           "Content-Type: application/cbor\r\nAuthorization: " +
                                               std::string(c.value) + "\r\n",
                                           "\x80"));
    EXPECT_EQ(r.status, 200) << c.value;
    const Request seen = responder->requests().back();
    EXPECT_TRUE(seen.authorization_present) << c.value;
    EXPECT_EQ(seen.authorization_malformed, c.malformed) << c.value;
    EXPECT_EQ(seen.token, c.token) << c.value;
  }
}

// FDO 1.1 §4.3: "bearer <token>" is accepted only when the server is configured with bearer-scheme-case.
TEST_F(HttpServerTest, LowercaseBearerIsAcceptedOnlyByName) {
  HttpServerOptions options;
  options.leniency = Leniency({Quirk::BearerSchemeCase});
  start(nullptr, options);
  const RawResponse r = raw_http(
      server->port(),
      cbor_post("/fdo/101/msg/62", "Content-Type: application/cbor\r\nAuthorization: bearer abc\r\n", "\x80"));
  EXPECT_EQ(r.status, 200);
  const Request seen = responder->requests().back();
  EXPECT_FALSE(seen.authorization_malformed);
  EXPECT_EQ(seen.token, "abc");
}

// TR-13: a stale token on a first message is passed on; the responder decides to ignore it.
TEST_F(HttpServerTest, PassesStaleTokenOnFirstMessage) {
  start([](const Request&) { return Response{61, {0x80}, "fresh", 200}; });
  const auto r = client->Post("/fdo/101/msg/60", {{"Authorization", "Bearer stale"}}, "\x80",
                              "application/cbor");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Authorization"), "Bearer fresh");
  EXPECT_EQ(responder->requests().at(0).token, "stale");
}

// TR-11: the acknowledgement of a client's 255 is an empty 200.
TEST_F(HttpServerTest, AcknowledgesClientErrorWithEmpty200) {
  start([](const Request&) { return Response{255, {}, {}, 200}; });
  const auto r =
      client->Post("/fdo/101/msg/255", {{"Authorization", "Bearer t"}}, "\x85", "application/cbor");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(r->get_header_value("Content-Length"), "0");
  EXPECT_FALSE(r->has_header("Authorization"));
  EXPECT_EQ(responder->requests().at(0).msg_type, 255);
}

// docs/interop.md "http-content-length": requests without Content-Length are refused (go-fdo does the same).
TEST_F(HttpServerTest, RefusesRequestsWithoutContentLength) {
  start();
  const RawResponse none = raw_http(server->port(),
                                    "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nConnection: "
                                    "close\r\nContent-Type: application/cbor\r\n\r\n");
  EXPECT_EQ(none.status, 411);
  EXPECT_EQ(none.header("Message-Type"), "255");
  const RawResponse chunked = raw_http(server->port(),
                                       "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nConnection: "
                                       "close\r\nContent-Type: application/cbor\r\n"
                                       "Transfer-Encoding: chunked\r\n\r\n1\r\n\x80\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 411);
  EXPECT_EQ(chunked.header("Message-Type"), "255");
  ASSERT_EQ(responder->rejections().size(), 2u);
  EXPECT_EQ(responder->rejections()[1].code, ErrorCode::MessageBodyError);
  EXPECT_TRUE(responder->requests().empty());
}

// A request for a message path with the given header lines (each ending in CRLF) and body, sent as written.
std::string raw_post(std::string_view headers, std::string_view body) {
  return "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + std::string(headers) +
         "\r\n" + std::string(body);
}

// docs/security.md "Content-Encoding": httplib decodes gzip and br itself before our handler; we answer them,
// valid or not, like any other encoding: 415 with ErrorMessage 100, FDO 1.1 §4.3.
TEST_F(HttpServerTest, RefusesGzipAndBrotliBodiesWith415) {
  start();
  using namespace std::string_literals;
  const std::string gzip_of_80 = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x6b\x00\x00\xad\x6c\xba\x3f\x01\x00\x00\x00"s;
  struct Case {
    std::string encoding;
    std::string body;
  };
  for (const Case& c : {Case{"gzip", gzip_of_80}, Case{"gzip", "hello"}, Case{"br", "hello"},
                        Case{"deflate", "\x80"}, Case{"gzip, identity", gzip_of_80}}) {
    const RawResponse r = raw_http(
        server->port(), raw_post("Content-Type: application/cbor\r\nContent-Encoding: " + c.encoding +
                                     "\r\nContent-Length: " + std::to_string(c.body.size()) + "\r\n",
                                 c.body));
    EXPECT_EQ(r.status, 415) << c.encoding;
    EXPECT_EQ(r.header("Message-Type"), "255") << c.encoding;
    EXPECT_EQ(r.body, to_string(ScriptedResponder::error_body(ErrorCode::MessageBodyError))) << c.encoding;
  }
  ASSERT_EQ(responder->rejections().size(), 5u);
  for (const auto& rejection : responder->rejections()) {
    EXPECT_EQ(rejection.code, ErrorCode::MessageBodyError);
    EXPECT_EQ(rejection.msg_type, 60);
  }
  EXPECT_TRUE(responder->requests().empty());
  // identity is no encoding at all.
  EXPECT_EQ(raw_http(server->port(), raw_post("Content-Type: application/cbor\r\nContent-Encoding: identity\r\n"
                                              "Content-Length: 1\r\n",
                                              "\x80"))
                .status,
            200);
}

// RFC 9112 §6.3: differing Content-Length values, or one next to Transfer-Encoding, make the framing
// unknowable, so 400. Equal repeats are accepted as one value (RFC 9110 §8.6 allows either).
TEST_F(HttpServerTest, RefusesConflictingContentLengths) {
  start();
  const std::string type = "Content-Type: application/cbor\r\n";
  for (const std::string& lengths : {std::string("Content-Length: 1\r\nContent-Length: 2\r\n"),
                                     std::string("Content-Length: 2\r\nContent-Length: 1\r\n"),
                                     std::string("Content-Length: 1\r\ncontent-length: 3\r\n"),
                                     std::string("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n")}) {
    const RawResponse r = raw_http(server->port(), raw_post(type + lengths, "\x80\x80"), std::chrono::seconds(2));
    EXPECT_EQ(r.status, 400) << lengths;
    EXPECT_EQ(r.header("Message-Type"), std::nullopt) << lengths;
  }
  EXPECT_TRUE(responder->requests().empty());
  const RawResponse same =
      raw_http(server->port(), raw_post(type + "Content-Length: 1\r\nContent-Length: 1\r\n", "\x80"));
  EXPECT_EQ(same.status, 200);
  ASSERT_EQ(responder->requests().size(), 1u);
  EXPECT_EQ(responder->requests()[0].body, Bytes{0x80});
}

// RFC 9110 §5.5: NUL is never valid in a field; a header that carries one is refused with 400, whatever
// the method or path.
TEST_F(HttpServerTest, RefusesNulInHeaders) {
  start();
  using namespace std::string_literals;
  const std::string cbor = "Content-Type: application/cbor\r\nContent-Length: 1\r\n";
  for (const std::string& line : {"X-Test: a\0b\r\n"s, "X-Te\0st: ab\r\n"s, "Authorization: Bearer a\0\r\n"s,
                                  "X-Test: a%00b\r\n"s}) {
    const RawResponse post = raw_http(server->port(), raw_post(cbor + line, "\x80"), std::chrono::seconds(2));
    EXPECT_EQ(post.status, 400) << line.size();
    const RawResponse get = raw_http(
        server->port(), "GET /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + line + "\r\n",
        std::chrono::seconds(2));
    EXPECT_EQ(get.status, 400) << line.size();
  }
  EXPECT_TRUE(responder->requests().empty());
}

// RFC 9110 §8.6: Content-Length is 1*DIGIT. A value that is not, or does not fit 64 bits, is answered 400
// at once (httplib would read it as 2^64-1 and wait out its read timeout); a declared length far over the
// limit is answered at once too (docs/security.md "Content-Length"). A 2 s read bound on the client side
// stands for "at once": the server's read timeout is 30 s.
TEST_F(HttpServerTest, AnswersBadContentLengthAtOnce) {
  start();
  const std::string type = "Content-Type: application/cbor\r\n";
  for (const char* value : {"-1", "99999999999999999999", "+1", "1x", "0x10", "1,1"}) {
    const RawResponse r = raw_http(server->port(), raw_post(type + "Content-Length: " + value + "\r\n", ""),
                                   std::chrono::seconds(2));
    EXPECT_EQ(r.status, 400) << value;
    EXPECT_EQ(r.header("Message-Type"), std::nullopt) << value;
  }
  for (const char* value : {"18446744073709551615", "9223372036854775808", "1000000000"}) {
    const RawResponse r = raw_http(server->port(), raw_post(type + "Content-Length: " + value + "\r\n", ""),
                                   std::chrono::seconds(2));
    EXPECT_EQ(r.status, 500) << value;
    EXPECT_EQ(r.header("Message-Type"), "255") << value;
  }
  EXPECT_TRUE(responder->requests().empty());
  EXPECT_EQ(responder->rejections().size(), 3u);
}

// docs/security.md "Closing": after a refusal made before the body was read, the server closes the
// connection, so bytes that follow (the body, or what looks like a next request) are never served.
TEST_F(HttpServerTest, ClosesTheConnectionAfterARefusalBeforeTheBody) {
  start();
  const std::string next = "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n"
                           "Content-Length: 1\r\n\r\n\x80";
  for (const std::string& first :
       {std::string("POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        std::string("POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n"
                    "Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")}) {
    const testing::RawStream r = testing::raw_http_until_close(server->port(), first + next, std::chrono::seconds(2));
    EXPECT_TRUE(r.closed);
    EXPECT_EQ(r.data.find("HTTP/1.1 ", 1), std::string::npos) << r.data;  // one answer only
    EXPECT_NE(r.data.find("Connection: close\r\n"), std::string::npos) << r.data;
  }
  EXPECT_TRUE(responder->requests().empty());
}

TEST_F(HttpServerTest, ServesAdminRoutes) {
  responder = std::make_unique<ScriptedResponder>();
  HttpServerOptions options;
  options.admin_max_body = 100;
  server = std::make_unique<HttpServer>(*responder, options);
  server->add_admin_get("/health", [](const AdminRequest& r) {
    return AdminResponse{200, "text/plain", "ok " + r.path + " " + r.query};
  });
  server->add_admin_post("/api/v1/vouchers/", [](const AdminRequest& r) {
    return AdminResponse{201, "application/json", std::to_string(r.body.size())};
  });
  server->add_admin_get("/boom", [](const AdminRequest&) -> AdminResponse {
    throw Error(ErrorCode::InternalServerError, "x");
  });
  EXPECT_THROW(server->add_admin_get("/fdo/admin", nullptr), Error);
  server->start();
  EXPECT_THROW(server->add_admin_get("/late", nullptr), Error);
  httplib::Client c("127.0.0.1", server->port());

  const auto health = c.Get("/health/x?y=1");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok /health/x y=1");
  EXPECT_EQ(c.Get("/healthz")->status, 404);
  const auto posted = c.Post("/api/v1/vouchers", "abc", "text/plain");
  ASSERT_TRUE(posted);
  EXPECT_EQ(posted->status, 201);
  EXPECT_EQ(posted->body, "3");
  EXPECT_EQ(c.Post("/api/v1/vouchers", std::string(101, 'x'), "text/plain")->status, 413);
  EXPECT_EQ(c.Get("/boom")->status, 500);
  EXPECT_EQ(c.Post("/health", "x", "text/plain")->status, 404);
}

TEST_F(HttpServerTest, RoutesTemplatesByMethodWithParametersAnd405) {
  responder = std::make_unique<ScriptedResponder>();
  server = std::make_unique<HttpServer>(*responder, HttpServerOptions{});
  const auto echo = [](std::string tag) {
    return [tag](const AdminRequest& r) {
      std::string params;
      for (const auto& [name, value] : r.path_params) {
        params += " " + name + "=" + value;
      }
      return AdminResponse{.status = 200,
                           .content_type = "text/plain",
                           .body = tag + " " + r.method + params + " " + r.query + " " + to_string(r.body),
                           .headers = {{"X-Route", tag}}};
    };
  };
  server->add_admin_route("GET", "/items", echo("list"));
  server->add_admin_route("GET", "/items/{id}", echo("one"));
  server->add_admin_route("DELETE", "/items/{id}", echo("delete"));
  server->add_admin_route("GET", "/items/special", echo("special"));
  server->add_admin_route("POST", "/items/{id}/export", echo("export"));
  server->add_admin_get("/legacy", echo("legacy"));
  EXPECT_THROW(server->add_admin_route("GET", "/items/{other}", nullptr), Error);  // the same route again
  EXPECT_THROW(server->add_admin_route("BREW", "/coffee", nullptr), Error);
  EXPECT_THROW(server->add_admin_route("GET", "/fdo/101/x", nullptr), Error);
  EXPECT_THROW(server->add_admin_route("GET", "/a/{b", nullptr), Error);
  EXPECT_THROW(server->add_admin_route("GET", "/a/{}", nullptr), Error);
  EXPECT_THROW(server->add_admin_route("GET", "/a//b", nullptr), Error);
  EXPECT_EQ(server->admin_routes(), (std::vector<AdminRouteInfo>{{"GET", "/items", false},
                                                                 {"GET", "/items/{id}", false},
                                                                 {"DELETE", "/items/{id}", false},
                                                                 {"GET", "/items/special", false},
                                                                 {"POST", "/items/{id}/export", false},
                                                                 {"GET", "/legacy", true}}));
  server->start();
  EXPECT_THROW(server->add_admin_route("GET", "/late", nullptr), Error);
  httplib::Client c("127.0.0.1", server->port());

  const auto list = c.Get("/items/?a=1");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->body, "list GET a=1 ");
  EXPECT_EQ(list->get_header_value("X-Route"), "list");
  EXPECT_EQ(c.Get("/items/42")->body, "one GET id=42  ");
  EXPECT_EQ(c.Get("/items/a%20b")->body, "one GET id=a b  ");  // decoded
  EXPECT_EQ(c.Get("/items/special")->body, "special GET  ");  // the literal segment wins
  EXPECT_EQ(c.Delete("/items/42")->body, "delete DELETE id=42  ");
  EXPECT_EQ(c.Post("/items/7/export", "x", "text/plain")->body, "export POST id=7  x");
  EXPECT_EQ(c.Head("/items/42")->status, 200);
  EXPECT_EQ(c.Get("/legacy/below")->body, "legacy GET  ");
  // Paths no template matches: 404; paths served for other methods: 405 with Allow and a JSON reason.
  for (const char* path : {"/items/42/x", "/itemsx", "/items//", "/"}) {
    EXPECT_EQ(c.Get(path)->status, 404) << path;
  }
  const auto wrong = c.Put("/items/42", "x", "text/plain");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->get_header_value("Allow"), "DELETE, GET");
  EXPECT_EQ(wrong->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(wrong->body, "{\"error\":\"method PUT is not allowed on /items/42; allowed: DELETE, GET\"}\n");
  EXPECT_EQ(c.Post("/items/42", "x", "text/plain")->status, 405);
  EXPECT_EQ(c.Delete("/items")->status, 405);
  EXPECT_EQ(c.Get("/items/1/export")->get_header_value("Allow"), "POST");
  // Prefix routes keep their behaviour: another method is 404.
  EXPECT_EQ(c.Delete("/legacy")->status, 404);
}

// TR-14 at the transport level: parallel runs each keep their own token.
TEST_F(HttpServerTest, ServesParallelRunsWithSeparateTokens) {
  start();
  constexpr int kRuns = 8;
  std::vector<std::string> tokens(kRuns);
  std::vector<bool> consistent(kRuns, false);
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i) {
    threads.emplace_back([&, i] {
      HttpTransport transport(server->url());
      try {
        (void)transport.exchange(60, Bytes{0x80});
        const std::optional<std::string> first = transport.authorization();
        bool same = first.has_value();
        for (int m = 0; m < 10; ++m) {
          const Reply r = transport.exchange(68, Bytes{static_cast<std::uint8_t>(i)});
          same = same && r.msg_type == 69 && r.body == Bytes{static_cast<std::uint8_t>(i)} &&
                 transport.authorization() == first;
        }
        tokens[static_cast<std::size_t>(i)] = first.value_or("");
        consistent[static_cast<std::size_t>(i)] = same;
      } catch (const Error&) {
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(),
            static_cast<std::size_t>(kRuns));
  for (int i = 0; i < kRuns; ++i) {
    EXPECT_TRUE(consistent[static_cast<std::size_t>(i)]) << i;
  }
  EXPECT_EQ(responder->requests().size(), static_cast<std::size_t>(kRuns * 11));
}

TEST_F(HttpServerTest, ListensOnIpv6Loopback) {
  responder = std::make_unique<ScriptedResponder>();
  HttpServerOptions options;
  options.listen = "[::1]:0";
  server = std::make_unique<HttpServer>(*responder, options);
  try {
    server->start();
  } catch (const Error&) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  EXPECT_EQ(server->url(), "http://[::1]:" + std::to_string(server->port()));
  HttpTransport transport(server->url());
  EXPECT_EQ(transport.exchange(20, Bytes{0x80}).msg_type, 21);
  EXPECT_EQ(responder->requests().at(0).peer, "::1");
}

TEST_F(HttpServerTest, StartStopLifecycle) {
  start();
  EXPECT_THROW(server->start(), Error);
  const std::uint16_t port = server->port();
  server->stop();
  server->stop();
  EXPECT_THROW(raw_http(port, cbor_post("/fdo/101/msg/60", "", "\x80")), Error);

  // A stopped server can start again.
  server->start();
  HttpTransport transport(server->url());
  EXPECT_EQ(transport.exchange(60, Bytes{0x80}).msg_type, 61);
  server->stop();

  // A port in use is an error, not a silently shared socket.
  ScriptedResponder other;
  HttpServer first(other);
  first.start();
  HttpServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(other, options);
  try {
    second.start();
    ADD_FAILURE() << "a busy port was bound";
  } catch (const Error& e) {
    // The reason is the system's, not only "cannot listen".
    EXPECT_EQ(std::string(e.what()), "cannot listen on " + options.listen + ": Address already in use");
  }
  EXPECT_THROW(check_listen(options.listen), Error);
  first.stop();
  EXPECT_NO_THROW(check_listen(options.listen));

  // Only IP literals and localhost (bound as 127.0.0.1) are listening addresses.
  HttpServerOptions named;
  named.listen = "localhost:0";
  HttpServer fourth(other, named);
  fourth.start();
  EXPECT_EQ(fourth.url().rfind("http://127.0.0.1:", 0), 0u) << fourth.url();
  fourth.stop();
  HttpServerOptions bad;
  bad.listen = "example.com:0";
  HttpServer third(other, bad);
  EXPECT_THROW(third.start(), Error);
}


// --- docs/security.md "Connections" and "Header fields": hostile clients (issue: hardening) ---

using Clock = std::chrono::steady_clock;

void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

// The resident size of this process in bytes (VmRSS).
std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoul(line.substr(6)) * 1024;
    }
  }
  return 0;
}

// Closes every descriptor it holds.
struct Sockets {
  std::vector<int> fds;
  ~Sockets() {
    for (const int fd : fds) {
      ::close(fd);
    }
  }
};

// A good client's exchange, timed; the acceptance bound of these tests is 2 s.
std::chrono::milliseconds good_exchange(std::uint16_t port) {
  const Clock::time_point start = Clock::now();
  const RawResponse r = raw_http(port, cbor_post("/fdo/101/msg/60", "Content-Type: application/cbor\r\n", "\x80"),
                                 std::chrono::seconds(5));
  EXPECT_EQ(r.status, 200);
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// The slow-client attacks' loop: each second one more byte (`next(second)`) on every connection still open, a good
// request beside them that must be answered within 2 s, and then a look at which the server closed (closed, reset,
// or answered and closed). Every connection must be closed within 5 s.
void dribble_until_closed(const Sockets& slow, std::uint16_t port, const std::function<char(std::size_t)>& next) {
  std::vector<bool> closed(slow.fds.size(), false);
  std::size_t closed_count = 0;
  const Clock::time_point start_time = Clock::now();
  for (std::size_t second = 0; second < 5 && closed_count < slow.fds.size(); ++second) {
    const char byte = next(second);
    for (std::size_t i = 0; i < slow.fds.size(); ++i) {
      if (!closed[i] && ::send(slow.fds[i], &byte, 1, MSG_NOSIGNAL) != 1) {
        closed[i] = true;
        ++closed_count;
      }
    }
    EXPECT_LT(good_exchange(port).count(), 2000) << "second " << second;
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    for (std::size_t i = 0; i < slow.fds.size(); ++i) {
      char buf[256];
      const ssize_t n = closed[i] ? 1 : ::recv(slow.fds[i], buf, sizeof buf, MSG_DONTWAIT);
      if (!closed[i] && (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0)) {
        closed[i] = true;
        ++closed_count;
      }
    }
  }
  EXPECT_EQ(closed_count, slow.fds.size()) << "after " << (Clock::now() - start_time).count() / 1000000 << " ms";
}

TEST(HttpGate, ScansRequestHeadsAsHttplibReadsThem) {
  using V = gate::HeadScan::Verdict;
  const gate::Limits limits{.max_header_count = 2, .max_header_bytes = 20};
  EXPECT_EQ(gate::scan_head("POST / HTTP/1.1\r\nA: b\r\n", limits).verdict, V::Incomplete);
  const gate::HeadScan done = gate::scan_head("POST / HTTP/1.1\r\nA: b\r\n\r\nBODY", limits);
  EXPECT_EQ(done.verdict, V::Complete);
  EXPECT_EQ(done.head_bytes, std::string_view("POST / HTTP/1.1\r\nA: b\r\n\r\n").size());
  EXPECT_EQ(gate::scan_head("GET / HTTP/1.1\r\n\r\n", limits).verdict, V::Complete);
  // The body the gate waits for: one plain Content-Length, no Transfer-Encoding.
  const gate::Limits wide{.max_header_count = 5, .max_header_bytes = 200};
  EXPECT_EQ(gate::scan_head("POST / HTTP/1.1\r\ncontent-LENGTH:  12 \r\n\r\n", wide).content_length, 12U);
  EXPECT_EQ(gate::scan_head("POST / HTTP/1.1\r\nA: b\r\n\r\n", limits).content_length, std::nullopt);
  EXPECT_TRUE(gate::scan_head("POST / HTTP/1.1\r\nexpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", wide)
                  .expects_continue);
  EXPECT_FALSE(gate::scan_head("POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\n", wide).expects_continue);
  EXPECT_EQ(gate::scan_head("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", wide).content_length,
            std::nullopt);
  EXPECT_EQ(
      gate::scan_head("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", wide).content_length,
      std::nullopt);
  EXPECT_EQ(gate::scan_head("POST / HTTP/1.1\r\nContent-Length: -3\r\n\r\n", wide).content_length, std::nullopt);
  EXPECT_EQ(gate::scan_head("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).verdict, V::HeadersTooLarge);
  EXPECT_EQ(gate::scan_head("GET / HTTP/1.1\r\nA: 12345678901234567890\r\n", limits).verdict, V::HeadersTooLarge);
  EXPECT_EQ(gate::scan_head(std::string(9000, 'a'), limits).verdict, V::UriTooLong);
}

// Issue item 1: 2000 idle TCP connections hold no worker; a good client is served within 2 s. (Before the
// gate, each idle connection held one of the workers for the keep-alive timeout, 5 s.)
TEST_F(HttpServerTest, IdleConnectionsDoNotStarveTheWorkers) {
  raise_fd_limit();
  HttpServerOptions options;
  options.threads = 2;
  options.max_connections_per_source = 100000;  // all from 127.0.0.1, as the good client: not what this test is about
  start(nullptr, options);
  Sockets idle;
  for (int i = 0; i < 2000; ++i) {
    idle.fds.push_back(testing::connect_loopback(server->port(), std::chrono::seconds(1)));
  }
  // Some of them kept alive after one request, the rest never sending a byte.
  for (int i = 0; i < 200; ++i) {
    const std::string req = cbor_post("/fdo/101/msg/60", "Content-Type: application/cbor\r\n", "\x80");
    const std::string keep = req.substr(0, req.find("Connection: close\r\n")) +
                             req.substr(req.find("Connection: close\r\n") + 19);
    ASSERT_EQ(::send(idle.fds[i], keep.data(), keep.size(), MSG_NOSIGNAL), static_cast<ssize_t>(keep.size()));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(good_exchange(server->port()).count(), 2000);
  }
}

// Issue item 2: 300 connections sending one header byte a second hold no worker, and each is closed once
// its head has not arrived within header_timeout.
TEST_F(HttpServerTest, SlowlorisConnectionsHoldNoWorkerAndAreClosed) {
  raise_fd_limit();
  HttpServerOptions options;
  options.threads = 2;
  options.header_timeout = std::chrono::seconds(2);
  options.max_connections_per_source = 100000;  // as above
  start(nullptr, options);
  Sockets slow;
  for (int i = 0; i < 300; ++i) {
    slow.fds.push_back(testing::connect_loopback(server->port(), std::chrono::milliseconds(100)));
  }
  const std::string head = "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa";
  dribble_until_closed(slow, server->port(), [&head](std::size_t second) { return head[second]; });
}

// A slow body holds no worker either (docs/security.md "Connections"): 300 connections send a whole head declaring
// a 100-byte body, then one body byte a second; a good request is answered meanwhile, and each slow one gets 408
// and is closed once read_timeout has passed since its head.
TEST_F(HttpServerTest, SlowBodiesHoldNoWorkerAndAreClosed) {
  raise_fd_limit();
  HttpServerOptions options;
  options.threads = 2;
  options.read_timeout = std::chrono::seconds(2);
  options.max_connections_per_source = 100000;  // all from 127.0.0.1, as the good client
  start(nullptr, options);
  Sockets slow;
  const std::string head =
      "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\nContent-Length: 100\r\n\r\n";
  for (int i = 0; i < 300; ++i) {
    slow.fds.push_back(testing::connect_loopback(server->port(), std::chrono::milliseconds(100)));
    ASSERT_EQ(::send(slow.fds.back(), head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  }
  dribble_until_closed(slow, server->port(), [](std::size_t) { return '\x80'; });
}

// A request whose body arrives in pieces within read_timeout is served as one (the poll thread waits for it whole).
TEST_F(HttpServerTest, ABodyInPiecesIsServedWhole) {
  HttpServerOptions options;
  options.threads = 2;
  start(nullptr, options);
  const std::string req = cbor_post("/fdo/101/msg/60", "Content-Type: application/cbor\r\n", "\x80");
  const int fd = testing::connect_loopback(server->port(), std::chrono::seconds(5));
  const std::size_t head = req.find("\r\n\r\n") + 4;
  ASSERT_EQ(::send(fd, req.data(), head, MSG_NOSIGNAL), static_cast<ssize_t>(head));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::send(fd, req.data() + head, req.size() - head, MSG_NOSIGNAL), static_cast<ssize_t>(req.size() - head));
  char buf[64] = {};
  ASSERT_GT(::recv(fd, buf, sizeof buf - 1, 0), 12);
  EXPECT_EQ(std::string_view(buf, 12), "HTTP/1.1 200");
  ::close(fd);
}

// A client that sends "Expect: 100-continue" waits for the interim answer before its body (RFC 9110 §10.1.1): the
// gate, which awaits the body before a worker sees the request, sends it at once rather than let the client wait
// out its own timeout (curl: 1 s).
TEST_F(HttpServerTest, AnExpectedContinueComesBeforeTheBodyIsSent) {
  start();
  const std::string req =
      cbor_post("/fdo/101/msg/60", "Content-Type: application/cbor\r\nExpect: 100-continue\r\n", "\x80");
  const int fd = testing::connect_loopback(server->port(), std::chrono::seconds(5));
  const std::size_t head = req.find("\r\n\r\n") + 4;
  ASSERT_EQ(::send(fd, req.data(), head, MSG_NOSIGNAL), static_cast<ssize_t>(head));
  timeval timeout{.tv_sec = 2, .tv_usec = 0};
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout), 0);
  const std::string_view expected = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string got(expected.size(), '\0');
  ASSERT_EQ(::recv(fd, got.data(), got.size(), MSG_WAITALL), static_cast<ssize_t>(got.size()))
      << "no 100 Continue before the body";
  EXPECT_EQ(got, expected);
  ASSERT_EQ(::send(fd, req.data() + head, req.size() - head, MSG_NOSIGNAL), static_cast<ssize_t>(req.size() - head));
  char buf[512] = {};
  const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string_view(buf, static_cast<std::size_t>(n)).find("HTTP/1.1 200 "), std::string_view::npos) << buf;
  ::close(fd);
  EXPECT_EQ(responder->requests().size(), 1U);
}

// Requests sent back to back on one connection are served in order: what the poll thread read beyond one request
// is the next one's (docs/security.md "Connections").
TEST_F(HttpServerTest, PipelinedRequestsAreServedInOrder) {
  HttpServerOptions options;
  options.threads = 2;
  start(nullptr, options);
  const std::string keep = "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\nContent-Type: application/cbor\r\n"
                           "Content-Length: 1\r\n\r\n\x80";
  const testing::RawStream all = testing::raw_http_until_close(
      server->port(), keep + keep + cbor_post("/fdo/101/msg/60", "Content-Type: application/cbor\r\n", "\x80"),
      std::chrono::seconds(5));
  EXPECT_TRUE(all.closed);
  std::size_t answers = 0;
  for (std::size_t at = all.data.find("HTTP/1.1 200 "); at != std::string::npos;
       at = all.data.find("HTTP/1.1 200 ", at + 1)) {
    ++answers;
  }
  EXPECT_EQ(answers, 3U) << all.data;
  EXPECT_EQ(responder->requests().size(), 3U);
}

// One source address cannot take the connection table (docs/security.md "Connections"): beyond
// max_connections_per_source its new connections get 503 at once and are closed, while a client from another
// address is served and the connections already held stay open.
TEST_F(HttpServerTest, OneSourceAddressCannotTakeEveryConnection) {
  raise_fd_limit();
  HttpServerOptions options;
  options.threads = 2;
  options.max_connections = 300;
  options.max_connections_per_source = 100;
  start(nullptr, options);
  Sockets hostile;
  for (int i = 0; i < 250; ++i) {
    hostile.fds.push_back(testing::connect_loopback(server->port(), std::chrono::milliseconds(500), "127.0.0.2"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::size_t refused = 0;
  std::size_t held = 0;
  for (const int fd : hostile.fds) {
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0 && std::string_view(buf, static_cast<std::size_t>(n)).substr(0, 12) == "HTTP/1.1 503") {
      ++refused;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ++held;
    }
  }
  EXPECT_EQ(held, 100U);
  EXPECT_EQ(refused, 150U);
  // Another address is served, though the hostile one holds 100 connections and the table has 300.
  for (int i = 0; i < 3; ++i) {
    EXPECT_LT(good_exchange(server->port()).count(), 2000);
  }
  // A held connection is still served when it finally sends its request.
  const std::string req = cbor_post("/fdo/101/msg/60", "Content-Type: application/cbor\r\n", "\x80");
  ASSERT_EQ(::send(hostile.fds[0], req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  char buf[64] = {};
  const timeval wait{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(hostile.fds[0], SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  ASSERT_GT(::recv(hostile.fds[0], buf, sizeof buf - 1, 0), 12);
  EXPECT_EQ(std::string_view(buf, 12), "HTTP/1.1 200");
}

// Issue item 4: header fields are bounded in count and bytes (431, connection closed), and one request with
// 48 MiB of 8 KB header lines is refused before its headers are held: the process grows by under 64 MB.
TEST_F(HttpServerTest, BoundsHeaderCountAndSize) {
  HttpServerOptions options;
  options.threads = 2;
  start(nullptr, options);
  const auto headers = [](int count, std::size_t size) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      out += "X-H" + std::to_string(i) + ": " + std::string(size, 'v') + "\r\n";
    }
    return out;
  };
  const std::string type = "Content-Type: application/cbor\r\n";
  // 97 fields + Host, Connection, Content-Type, Content-Length = 101 > 100.
  EXPECT_EQ(raw_http(server->port(), cbor_post("/fdo/101/msg/60", type + headers(96, 1), "\x80")).status, 200);
  const RawResponse many = raw_http(server->port(), cbor_post("/fdo/101/msg/60", type + headers(97, 1), "\x80"));
  EXPECT_EQ(many.status, 431);
  EXPECT_EQ(many.header("Connection"), "close");
  EXPECT_EQ(raw_http(server->port(), cbor_post("/fdo/101/msg/60", type + headers(2, 7000), "\x80")).status, 200);
  EXPECT_EQ(raw_http(server->port(), cbor_post("/fdo/101/msg/60", type + headers(3, 7000), "\x80")).status, 431);

  const std::size_t before = resident_bytes();
  const int fd = testing::connect_loopback(server->port(), std::chrono::seconds(2));
  const std::string start_line = "POST /fdo/101/msg/60 HTTP/1.1\r\nHost: x\r\n";
  ASSERT_GT(::send(fd, start_line.data(), start_line.size(), MSG_NOSIGNAL), 0);
  const std::string line = "X-Big: " + std::string(8192 - 9, 'b') + "\r\n";
  timeval tv{.tv_sec = 2, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::size_t sent = 0;
  const Clock::time_point began = Clock::now();
  while (sent < (std::size_t{48} << 20)) {
    const ssize_t n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      break;  // the server closed the connection
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string answer;
  char buf[4096];
  for (ssize_t n = 0; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_LT(sent, std::size_t{48} << 20) << "the server read all 48 MiB of header fields";
  EXPECT_LT(Clock::now() - began, std::chrono::seconds(4));
  if (!answer.empty()) {
    EXPECT_EQ(answer.rfind("HTTP/1.1 431 ", 0), 0u) << answer.substr(0, 100);
  }
  EXPECT_LT(resident_bytes(), before + (std::size_t{64} << 20));
  EXPECT_LT(good_exchange(server->port()).count(), 2000);
}

// docs/operations.md: every answered request is counted by listener and status, the gate's own refusals too, and at
// debug level logged once with method, path, status, bytes, duration and peer.
TEST_F(HttpServerTest, CountsAndLogsEveryRequestByStatus) {
  metrics::Registry registry;
  HttpServerOptions options;
  options.metrics = &registry;
  options.metrics_listener = "protocol";
  options.header_timeout = std::chrono::seconds(1);
  log::configure(log::Level::Debug, "test");
  ::testing::internal::CaptureStderr();
  start(nullptr, options);
  for (int i = 0; i < 2; ++i) {
    const auto r = client->Post("/fdo/101/msg/30", "abc", "application/cbor");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  ASSERT_TRUE(client->Get("/nowhere?secret=1"));
  // A connection that never sends its head: the gate answers 408 itself.
  const RawResponse slow = raw_http(server->port(), "GET /slow HTTP/1.1\r\n", std::chrono::seconds(5));
  EXPECT_EQ(slow.status, 408);
  server->stop();
  const std::string err = ::testing::internal::GetCapturedStderr();
  log::configure(log::Level::Info, "test");
  const std::string exposed = registry.expose();
  EXPECT_NE(exposed.find("fdo_http_requests_total{listener=\"protocol\",status=\"200\"} 2\n"), std::string::npos)
      << exposed;
  EXPECT_NE(exposed.find("fdo_http_requests_total{listener=\"protocol\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(exposed.find("fdo_http_requests_total{listener=\"protocol\",status=\"408\"} 1\n"), std::string::npos);
  // One line per request; the body echoed is 3 bytes; the query is never logged.
  std::size_t lines = 0;
  for (std::size_t pos = err.find("http: POST /fdo/101/msg/30 200 3 bytes "); pos != std::string::npos;
       pos = err.find("http: POST /fdo/101/msg/30 200 3 bytes ", pos + 1)) {
    ++lines;
    const std::string line = err.substr(pos, err.find('\n', pos) - pos);
    EXPECT_NE(line.find(" ms from 127.0.0.1"), std::string::npos) << line;
  }
  EXPECT_EQ(lines, 2u) << err;
  EXPECT_NE(err.find("http: GET /nowhere 404 "), std::string::npos) << err;
  EXPECT_EQ(err.find("secret"), std::string::npos) << err;
  EXPECT_NE(err.find("http: connection refused 408 from 127.0.0.1"), std::string::npos) << err;
}

}  // namespace
}  // namespace fdo::transport
