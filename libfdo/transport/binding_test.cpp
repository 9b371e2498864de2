#include "libfdo/transport/binding.h"

#include <gtest/gtest.h>

#include "libfdo/core/error.h"
#include "libfdo/transport/loopback_transport.h"
#include "libfdo/transport/transport.h"
#include "libfdo/transport/transport_test_util.h"

namespace fdo::transport {
namespace {

using testing::ScriptedResponder;

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::InternalServerError;
}

InboundMessage message(std::uint8_t type, HeaderList headers, Bytes body = {0x80}) {
  InboundMessage in;
  in.msg_type = type;
  in.headers = std::move(headers);
  in.body = std::move(body);
  in.peer = "test";
  return in;
}

TEST(Binding, ParsesMessageTypesStrictly) {
  EXPECT_EQ(parse_message_type("0"), 0);
  EXPECT_EQ(parse_message_type("60"), 60);
  EXPECT_EQ(parse_message_type("255"), 255);
  for (const char* bad : {"", "060", "00", "256", "999", "1000", "+6", "-1", "6a", " 6", "6 "}) {
    EXPECT_EQ(parse_message_type(bad), std::nullopt) << bad;
  }
}

TEST(Binding, ParsesOnlyExactMessagePaths) {
  EXPECT_EQ(message_path(60), "/fdo/101/msg/60");
  EXPECT_EQ(parse_message_path("/fdo/101/msg/60"), 60);
  EXPECT_EQ(parse_message_path("/fdo/101/msg/99"), 99);
  for (const char* bad : {"/fdo/100/msg/60", "/fdo/101/msg/60/x", "/fdo/101/msg/060",
                          "/fdo/101/msg/", "/fdo/101/msg/60?x=1", "/fdo/101/msg/%36%30",
                          "/fdo/101/MSG/60", "fdo/101/msg/60", "/x/fdo/101/msg/60"}) {
    EXPECT_EQ(parse_message_path(bad), std::nullopt) << bad;
  }
}

TEST(Binding, AcceptsOnlyBareCborContentType) {
  EXPECT_TRUE(is_cbor_content_type({"application/cbor"}));
  EXPECT_TRUE(is_cbor_content_type({"Application/CBOR"}));
  EXPECT_FALSE(is_cbor_content_type({}));
  EXPECT_FALSE(is_cbor_content_type({"text/plain"}));
  EXPECT_FALSE(is_cbor_content_type({"application/cbor; charset=utf-8"}));
  EXPECT_FALSE(is_cbor_content_type({"application/cbor", "application/cbor"}));
}

// TR-07: the transport flags every Authorization form other than "Bearer <token>".
TEST(Binding, ParsesAuthorizationHeader) {
  const Authorization none = parse_authorization({});
  EXPECT_FALSE(none.present);
  EXPECT_FALSE(none.malformed);
  EXPECT_EQ(none.token, std::nullopt);

  const Authorization good = parse_authorization({"Bearer q0A1-_.~+/x=="});
  EXPECT_TRUE(good.present);
  EXPECT_FALSE(good.malformed);
  EXPECT_EQ(good.token, "q0A1-_.~+/x==");
  // FDO 1.1 §4.3 names "Bearer" exactly: another case is refused unless the quirk is accepted by name.
  EXPECT_TRUE(parse_authorization({"bearer abc"}).malformed);
  EXPECT_FALSE(parse_authorization({"bearer abc"}).token);
  EXPECT_TRUE(parse_authorization({"BEARER abc"}).malformed);
  const Leniency lenient({Quirk::BearerSchemeCase});
  EXPECT_EQ(parse_authorization({"bearer abc"}, lenient).token, "abc");
  EXPECT_FALSE(parse_authorization({"bearer abc"}, lenient).malformed);
  EXPECT_EQ(parse_authorization({"Bearer abc"}, lenient).token, "abc");

  for (const char* bad : {"Basic abc", "abc", "Bearer", "Bearer ", "Bearer  x", "Bearer x y",
                          "Bearer x=y", "Bearerabc"}) {
    const Authorization a = parse_authorization({bad});
    EXPECT_TRUE(a.present) << bad;
    EXPECT_TRUE(a.malformed) << bad;
    EXPECT_EQ(a.token, std::nullopt) << bad;
  }
  EXPECT_TRUE(parse_authorization({"Bearer a", "Bearer a"}).malformed);
  EXPECT_EQ(bearer_value("abc"), "Bearer abc");
}

// TR-06: every 200 carries Content-Type, Message-Type and Authorization; errors no token.
// RFC 9110 §5.1, §5.5: names are tokens; values hold no control character but HTAB.
TEST(Binding, FindsHeaderFieldProblems) {
  using namespace std::string_literals;
  EXPECT_EQ(header_field_problem({}), "");
  EXPECT_EQ(header_field_problem({{"Content-Type", "application/cbor"}, {"X-A", "a\tb \x80"}}), "");
  EXPECT_EQ(header_field_problem({{"REMOTE_ADDR", "127.0.0.1"}}), "");
  for (const HeaderList& bad :
       {HeaderList{{"X", "a\0b"s}}, HeaderList{{"X\0"s, "a"}}, HeaderList{{"X", "a\rb"}},
        HeaderList{{"X", "a\nb"}}, HeaderList{{"X", "\x7f"}}, HeaderList{{"X", "\x01"}},
        HeaderList{{"X Y", "a"}}, HeaderList{{"", "a"}}, HeaderList{{"X(", "a"}}}) {
    EXPECT_NE(header_field_problem(bad), "") << bad.front().first;
  }
}

// RFC 9110 §8.6, RFC 9112 §6.3.
TEST(Binding, ReadsBodyFraming) {
  const auto framing = [](HeaderList headers) { return read_body_framing(headers); };
  EXPECT_EQ(framing({}).problem, "");
  EXPECT_EQ(framing({}).content_length, std::nullopt);
  EXPECT_EQ(framing({{"Content-Length", "0"}}).content_length, 0u);
  EXPECT_EQ(framing({{"content-length", "65535"}}).content_length, 65535u);
  EXPECT_EQ(framing({{"Content-Length", "18446744073709551615"}}).content_length, UINT64_MAX);
  // Equal repeats are one value, also when written with leading zeros.
  const BodyFraming same = framing({{"Content-Length", "7"}, {"Content-Length", "007"}});
  EXPECT_EQ(same.problem, "");
  EXPECT_EQ(same.content_length, 7u);
  EXPECT_TRUE(framing({{"Transfer-Encoding", "chunked"}}).chunked);
  EXPECT_EQ(framing({{"Transfer-Encoding", "chunked"}}).problem, "");
  for (const HeaderList& bad :
       {HeaderList{{"Content-Length", "-1"}}, HeaderList{{"Content-Length", "18446744073709551616"}},
        HeaderList{{"Content-Length", "99999999999999999999"}}, HeaderList{{"Content-Length", ""}},
        HeaderList{{"Content-Length", "+1"}}, HeaderList{{"Content-Length", "1 "}},
        HeaderList{{"Content-Length", "1,1"}}, HeaderList{{"Content-Length", "0x1"}},
        HeaderList{{"Content-Length", "1"}, {"Content-Length", "2"}},
        HeaderList{{"Content-Length", "1"}, {"Content-Length", "x"}},
        HeaderList{{"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}}}) {
    const BodyFraming f = framing(bad);
    EXPECT_NE(f.problem, "") << bad.front().second;
    EXPECT_EQ(f.content_length, std::nullopt) << bad.front().second;
  }
}

TEST(Binding, FindsContentCodings) {
  EXPECT_FALSE(has_content_coding({}));
  EXPECT_FALSE(has_content_coding({{"Content-Encoding", "identity"}, {"content-encoding", "IDENTITY"}}));
  EXPECT_TRUE(has_content_coding({{"Content-Encoding", "gzip"}}));
  EXPECT_TRUE(has_content_coding({{"Content-Encoding", "identity"}, {"Content-Encoding", "br"}}));
  EXPECT_TRUE(has_content_coding({{"Content-Encoding", "gzip, identity"}}));
  EXPECT_TRUE(has_content_coding({{"Content-Encoding", ""}}));
}

TEST(Binding, AnswerHeadersFollowOurRules) {
  const HttpAnswer ok = to_http_answer(Response{61, {0x81}, "tok", 200});
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.headers, (HeaderList{{"Content-Type", "application/cbor"},
                                    {"Message-Type", "61"},
                                    {"Authorization", "Bearer tok"}}));
  EXPECT_EQ(ok.body, (Bytes{0x81}));

  const HttpAnswer error = to_http_answer(Response{255, {0x85}, "tok", 500});
  EXPECT_EQ(error.status, 500);
  EXPECT_EQ(error.headers,
            (HeaderList{{"Content-Type", "application/cbor"}, {"Message-Type", "255"}}));

  // A 255 with a body is never sent as a success status.
  EXPECT_EQ(to_http_answer(Response{255, {0x85}, {}, 200}).status, 500);
  EXPECT_EQ(to_http_answer(Response{255, {0x85}, {}, 415}).status, 415);

  // TR-11: a client's 255 is acknowledged with an empty 200.
  const HttpAnswer ack = to_http_answer(Response{255, {}, std::nullopt, 200});
  EXPECT_EQ(ack.status, 200);
  EXPECT_TRUE(ack.headers.empty());
  EXPECT_TRUE(ack.body.empty());
}

TEST(Binding, ClientReadsHeadersCaseInsensitively) {
  const ClientResponse r = to_client_response(
      200,
      {{"message-type", "61"}, {"AUTHORIZATION", "Bearer x"}, {"content-type", "application/cbor"}},
      Bytes{1});
  EXPECT_EQ(r.msg_type, 61);
  EXPECT_EQ(r.authorization, "Bearer x");
  EXPECT_EQ(r.content_type, "application/cbor");
  EXPECT_EQ(to_client_response(200, {{"Message-Type", "061"}}, {}).msg_type, std::nullopt);
  EXPECT_EQ(to_client_response(200, {{"Message-Type", "61"}, {"Message-Type", "61"}}, {}).msg_type,
            std::nullopt);
}

TEST(Binding, ClientInterpretsStatusAndMessageType) {
  const Reply ok = read_reply(ClientResponse{200, 61, "Bearer t", "application/cbor", {1}}, "srv");
  EXPECT_EQ(ok.msg_type, 61);
  EXPECT_EQ(ok.body, (Bytes{1}));
  // A 255 is an error message whatever the status (go-fdo 200, ours 500, conformance 400).
  for (const int status : {200, 400, 401, 500}) {
    EXPECT_EQ(read_reply(ClientResponse{status, 255, {}, {}, {9}}, "srv").msg_type, 255);
  }
  // go-fdo's rule: a non-200 without Message-Type but with a CBOR body is an ErrorMessage.
  EXPECT_EQ(read_reply(ClientResponse{500, {}, {}, "application/cbor", {9}}, "srv").msg_type, 255);
  EXPECT_EQ(code_of([] {
              (void)read_reply(ClientResponse{200, {}, {}, "application/cbor", {1}}, "srv");
            }),
            ErrorCode::MessageBodyError);
  EXPECT_EQ(code_of([] {
              (void)read_reply(ClientResponse{404, {}, {}, {}, {}}, "srv");
            }),
            ErrorCode::MessageBodyError);
  EXPECT_EQ(code_of([] {
              (void)read_reply(ClientResponse{500, {}, {}, "text/plain", {1}}, "srv");
            }),
            ErrorCode::MessageBodyError);
  EXPECT_EQ(code_of([] {
              (void)read_reply(ClientResponse{500, 61, {}, "application/cbor", {1}}, "srv");
            }),
            ErrorCode::MessageBodyError);
  try {
    (void)read_reply(ClientResponse{404, {}, {}, {}, {}}, "http://h:1");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("transport: HTTP 404 from http://h:1"), std::string::npos);
  }
}

TEST(ServeMessage, PassesWellFormedRequestToResponder) {
  ScriptedResponder responder;
  const Response r = serve_message(
      responder,
      message(62, {{"Content-Type", "application/cbor"}, {"Authorization", "Bearer abc"}}, {0x82}),
      kMaxBody);
  EXPECT_EQ(r.msg_type, 63);
  const std::vector<Request> all = responder.requests();
  ASSERT_EQ(all.size(), 1u);
  const Request& seen = all[0];
  EXPECT_EQ(seen.msg_type, 62);
  EXPECT_EQ(seen.token, "abc");
  EXPECT_TRUE(seen.authorization_present);
  EXPECT_FALSE(seen.authorization_malformed);
  EXPECT_EQ(seen.body, (Bytes{0x82}));
  EXPECT_EQ(seen.peer, "test");
  EXPECT_TRUE(responder.rejections().empty());
}

TEST(ServeMessage, RejectsWrongContentTypeWith415AndCode100) {
  for (const HeaderList& headers :
       {HeaderList{{"Content-Type", "text/plain"}}, HeaderList{},
        HeaderList{{"Content-Type", "application/cbor; charset=utf-8"}},
        HeaderList{{"Content-Type", "application/cbor"}, {"Content-Encoding", "gzip"}}}) {
    ScriptedResponder responder;
    const Response r = serve_message(responder, message(60, headers), kMaxBody);
    EXPECT_EQ(r.http_status, 415);
    EXPECT_EQ(r.msg_type, 255);
    EXPECT_EQ(r.body, ScriptedResponder::error_body(ErrorCode::MessageBodyError));
    ASSERT_EQ(responder.rejections().size(), 1u);
    EXPECT_EQ(responder.rejections()[0].code, ErrorCode::MessageBodyError);
    EXPECT_EQ(responder.rejections()[0].msg_type, 60);
    EXPECT_TRUE(responder.requests().empty());
  }
}

// TR-05 at the binding level: the token is handed to reject() so its session is dropped.
TEST(ServeMessage, RejectsOversizeBodyWith500AndDropsToken) {
  ScriptedResponder responder;
  const Response r = serve_message(
      responder,
      message(64, {{"Content-Type", "application/cbor"}, {"Authorization", "Bearer run1"}},
              Bytes(kMaxBody + 1, 0)),
      kMaxBody);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.msg_type, 255);
  ASSERT_EQ(responder.rejections().size(), 1u);
  EXPECT_EQ(responder.rejections()[0].code, ErrorCode::MessageBodyError);
  EXPECT_EQ(responder.rejections()[0].token, "run1");
  EXPECT_TRUE(responder.requests().empty());

  InboundMessage flagged = message(64, {{"Content-Type", "application/cbor"}});
  flagged.body_too_large = true;
  EXPECT_EQ(serve_message(responder, flagged, kMaxBody).http_status, 500);
}

TEST(ServeMessage, RejectsMissingLengthWith411) {
  ScriptedResponder responder;
  InboundMessage in = message(60, {{"Content-Type", "application/cbor"}});
  in.length_known = false;
  const Response r = serve_message(responder, in, kMaxBody);
  EXPECT_EQ(r.http_status, 411);
  EXPECT_EQ(r.msg_type, 255);
  EXPECT_EQ(responder.rejections().at(0).code, ErrorCode::MessageBodyError);
}

TEST(ServeMessage, TurnsResponderFailuresInto500) {
  ScriptedResponder throwing(
      [](const Request&) -> Response { throw Error(ErrorCode::InvalidMessageError, "x"); });
  Response r =
      serve_message(throwing, message(60, {{"Content-Type", "application/cbor"}}), kMaxBody);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(throwing.rejections().at(0).code, ErrorCode::InternalServerError);

  ScriptedResponder huge([](const Request&) {
    return Response{61, Bytes(kMaxBody + 1, 0), "t", 200};
  });
  r = serve_message(huge, message(60, {{"Content-Type", "application/cbor"}}), kMaxBody);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_EQ(r.msg_type, 255);
  EXPECT_EQ(huge.rejections().at(0).code, ErrorCode::InternalServerError);

  ScriptedResponder bad_token([](const Request&) {
    return Response{61, {0x80}, "a b\r\nX: y", 200};
  });
  r = serve_message(bad_token, message(60, {{"Content-Type", "application/cbor"}}), kMaxBody);
  EXPECT_EQ(r.http_status, 500);
  EXPECT_FALSE(r.token.has_value());
}

// Loopback: the same token handling as HTTP, without sockets.
TEST(LoopbackTransport, KeepsRunTokenAndSendsItBack) {
  ScriptedResponder responder;
  LoopbackTransport transport(responder);
  EXPECT_EQ(transport.authorization(), std::nullopt);
  const Reply first = transport.exchange(60, Bytes{0x80});
  EXPECT_EQ(first.msg_type, 61);
  EXPECT_EQ(transport.authorization(), "Bearer tok-1");
  (void)transport.exchange(62, Bytes{0x81});
  const std::vector<Request> seen = responder.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].authorization_present);
  EXPECT_EQ(seen[1].token, "tok-1");
  transport.reset();
  EXPECT_EQ(transport.authorization(), std::nullopt);
  (void)transport.exchange(60, Bytes{0x80});
  EXPECT_FALSE(responder.requests().back().authorization_present);
}

TEST(LoopbackTransport, AdoptsChangedToken) {
  int n = 0;
  ScriptedResponder responder([&n](const Request& r) {
    return Response{
        static_cast<std::uint8_t>(r.msg_type + 1), {0x80}, "t" + std::to_string(++n), 200};
  });
  LoopbackTransport transport(responder);
  (void)transport.exchange(30, Bytes{0x80});
  EXPECT_EQ(transport.authorization(), "Bearer t1");
  (void)transport.exchange(32, Bytes{0x80});
  EXPECT_EQ(transport.authorization(), "Bearer t2");
  (void)transport.exchange(32, Bytes{0x80});
  EXPECT_EQ(responder.requests().back().token, "t2");
}

TEST(LoopbackTransport, ReturnsErrorRepliesAndEndsRun) {
  ScriptedResponder responder([](const Request& r) {
    if (r.msg_type == 62) {
      return Response{255, ScriptedResponder::error_body(ErrorCode::InvalidJwtToken), {}, 500};
    }
    return Response{static_cast<std::uint8_t>(r.msg_type + 1), {0x80}, "t", 200};
  });
  LoopbackTransport transport(responder);
  (void)transport.exchange(60, Bytes{0x80});
  const Reply error = transport.exchange(62, Bytes{0x80});
  EXPECT_EQ(error.msg_type, 255);
  EXPECT_EQ(error.body, ScriptedResponder::error_body(ErrorCode::InvalidJwtToken));
  EXPECT_EQ(transport.authorization(), std::nullopt);
}

// TR-05 through the loopback: the oversize body reaches the binding, not the handler.
TEST(LoopbackTransport, OversizeBodyBecomesErrorReply) {
  ScriptedResponder responder;
  LoopbackTransport transport(responder);
  (void)transport.exchange(60, Bytes{0x80});
  const Reply r = transport.exchange(68, Bytes(kMaxBody + 1, 0));
  EXPECT_EQ(r.msg_type, 255);
  EXPECT_EQ(responder.rejections().at(0).code, ErrorCode::MessageBodyError);
  EXPECT_EQ(responder.rejections().at(0).token, "tok-1");
  EXPECT_EQ(responder.requests().size(), 1u);
}

// TR-11: the client's 255 carries the run token; the empty 200 is accepted; the run ends.
TEST(LoopbackTransport, SendsErrorWithTokenOnlyAfterAnAnswer) {
  ScriptedResponder responder([](const Request& r) {
    if (r.msg_type == 255) {
      return Response{255, {}, {}, 200};
    }
    return Response{static_cast<std::uint8_t>(r.msg_type + 1), {0x80}, "t", 200};
  });
  LoopbackTransport transport(responder);
  transport.send_error(Bytes{0x85});
  EXPECT_TRUE(responder.requests().empty());

  (void)transport.exchange(10, Bytes{0x80});
  transport.send_error(Bytes{0x85, 0x01});
  ASSERT_EQ(responder.requests().size(), 2u);
  EXPECT_EQ(responder.requests()[1].msg_type, 255);
  EXPECT_EQ(responder.requests()[1].token, "t");
  EXPECT_EQ(responder.requests()[1].body, (Bytes{0x85, 0x01}));
  EXPECT_EQ(transport.authorization(), std::nullopt);
}

TEST(LoopbackTransport, FailsOnAnswerWithoutMessageType) {
  ScriptedResponder responder([](const Request&) { return Response{61, {0x80}, "t", 404}; });
  LoopbackTransport transport(responder);
  EXPECT_EQ(code_of([&] { (void)transport.exchange(60, Bytes{0x80}); }),
            ErrorCode::MessageBodyError);
}

}  // namespace
}  // namespace fdo::transport
