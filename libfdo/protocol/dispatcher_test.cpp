#include "libfdo/protocol/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <limits>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/hex.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/protocol/client_run.h"
#include "libfdo/protocol/trace.h"
#include "libfdo/storage/memory_store.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/http_server.h"
#include "libfdo/transport/http_transport.h"
#include "libfdo/transport/loopback_transport.h"

namespace fdo::protocol {
namespace {

// A scripted TO0-shaped endpoint: 20 → 21 stores the body as state; 22 → 23 stores a voucher record in its
// apply step, which then fails when the body is FF (after writing, so rollback can be observed). A body of FE
// makes the handler wait at `gate` (two copies of one message in flight at once).
class ScriptedTo0 final : public Endpoint {
 public:
  [[nodiscard]] Protocol protocol() const override { return Protocol::To0; }
  Answer handle(MessageType type, ByteView body, Bytes& state, storage::Store&, Context& ctx) override {
    ctx.guid_hex = "00112233";
    if (type == MessageType::To0Hello) {
      state = {static_cast<std::uint8_t>(MessageType::To0OwnerSign)};
      return Answer{MessageType::To0HelloAck, Bytes{0x81, 0x40}, {}};
    }
    expect_next(static_cast<MessageType>(state.at(0)), type);
    if (!body.empty() && body[0] == 0xFE) {
      gate.arrive_and_wait();  // both copies have read the same session before either writes
    }
    storage::VoucherRecord record;
    record.guid = Guid::from(Bytes(16, 1));
    record.voucher = Bytes(body.begin(), body.end());
    const bool fail = !body.empty() && body[0] == 0xFF;
    return Answer{MessageType::To0AcceptOwner, Bytes{0x81, 0x01}, [record, fail](storage::Transaction& tx) {
                    tx.put_voucher(record);
                    if (fail) {
                      throw_invalid("scripted failure");
                    }
                  }};
  }
  std::barrier<> gate{2};
};

class ScriptedDi final : public Endpoint {
 public:
  [[nodiscard]] Protocol protocol() const override { return Protocol::Di; }
  Answer handle(MessageType, ByteView, Bytes& state, storage::Store&, Context&) override {
    state = {1};
    return Answer{MessageType::DiSetCredentials, Bytes{0x80}, {}};
  }
};

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() : m_dispatcher(*m_store, DispatcherOptions{300, [this] { return m_now.load(); }}) {
    m_dispatcher.add(m_to0);
    m_dispatcher.add(m_di);
  }

  transport::Response post(std::uint8_t type, Bytes body, std::optional<std::string> token = std::nullopt) {
    return send(m_dispatcher, type, std::move(body), std::move(token));
  }
  /// One request from peer "test" to `d`, as the HTTP binding would pass it.
  static transport::Response send(Dispatcher& d, std::uint8_t type, Bytes body,
                                  std::optional<std::string> token = std::nullopt) {
    transport::Request r;
    r.msg_type = type;
    r.body = std::move(body);
    r.token = token;
    r.authorization_present = token.has_value();
    r.peer = "test";
    return d.handle(r);
  }

  static ErrorMessage error_of(const transport::Response& r) {
    EXPECT_EQ(r.msg_type, 255);
    EXPECT_EQ(r.http_status, 500);
    EXPECT_FALSE(r.token.has_value());
    return ErrorMessage::decode(r.body);
  }

  bool voucher_stored() {
    auto tx = m_store->begin();
    return tx->get_voucher(Guid::from(Bytes(16, 1))).has_value();
  }

  std::atomic<std::int64_t> m_now = 1000;  // read by the HTTP server's workers in the HTTP tests
  std::unique_ptr<storage::Store> m_store = storage::make_memory_store();
  ScriptedTo0 m_to0;
  ScriptedDi m_di;
  Dispatcher m_dispatcher;
};

TEST_F(DispatcherTest, FirstMessageIssuesATokenAndTheLastEndsTheSession) {
  const auto hello = post(20, {0x80});
  ASSERT_EQ(hello.msg_type, 21);
  ASSERT_TRUE(hello.token.has_value());
  EXPECT_GE(hello.token->size(), 22u);  // >= 128 bits, base64url
  const auto accept = post(22, {0x80}, hello.token);
  EXPECT_EQ(accept.msg_type, 23);
  EXPECT_EQ(accept.token, hello.token);
  EXPECT_TRUE(voucher_stored());
  // Replaying with the token of a finished run: error 1 (TO0-13).
  EXPECT_EQ(error_of(post(22, {0x80}, hello.token)).em_error_code, 1);
}

TEST_F(DispatcherTest, StaleTokenOnAFirstMessageIsIgnored) {
  const auto first = post(20, {0x80}, std::string("stale"));
  ASSERT_EQ(first.msg_type, 21);
  EXPECT_NE(first.token, std::optional<std::string>("stale"));
}

TEST_F(DispatcherTest, MissingMalformedUnknownAndForeignTokensGetError1) {
  EXPECT_EQ(error_of(post(22, {0x80})).em_error_code, 1);
  transport::Request malformed;
  malformed.msg_type = 22;
  malformed.authorization_present = true;
  malformed.authorization_malformed = true;
  EXPECT_EQ(error_of(m_dispatcher.handle(malformed)).em_error_code, 1);
  EXPECT_EQ(error_of(post(22, {0x80}, std::string("made-up"))).em_error_code, 1);
  const auto di = post(10, {0x80});
  ASSERT_TRUE(di.token);
  EXPECT_EQ(error_of(post(22, {0x80}, di.token)).em_error_code, 1);  // a DI token on TO0 (TR-07)
}

TEST_F(DispatcherTest, HandlerErrorRollsBackWritesAndKillsTheSession) {
  const auto hello = post(20, {0x80});
  const ErrorMessage em = error_of(post(22, {0xFF}, hello.token));
  EXPECT_EQ(em.em_error_code, 101);
  EXPECT_EQ(em.em_prev_msg_id, 22);
  EXPECT_FALSE(voucher_stored());
  EXPECT_EQ(error_of(post(22, {0x80}, hello.token)).em_error_code, 1);
}

TEST(ExpectNext, OutOfOrderMessageIs101) {
  EXPECT_NO_THROW(expect_next(MessageType::To2GetOVNextEntry, MessageType::To2GetOVNextEntry));
  try {
    expect_next(MessageType::To2GetOVNextEntry, MessageType::To2ProveDevice);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidMessageError);
  }
}

TEST_F(DispatcherTest, UnknownAndServerToClientTypesAre100) {
  EXPECT_EQ(error_of(post(99, {0x80})).em_error_code, 100);
  EXPECT_EQ(error_of(post(21, {0x80})).em_error_code, 100);
  EXPECT_EQ(error_of(post(60, {0x80})).em_error_code, 100);  // no TO2 endpoint on this server
}

TEST_F(DispatcherTest, ClientErrorMessageIsAcknowledgedAndEndsTheRun) {
  const auto hello = post(20, {0x80});
  ErrorMessage em;
  em.em_error_code = 101;
  em.em_prev_msg_id = 21;
  const auto ack = post(255, em.encode(), hello.token);
  EXPECT_EQ(ack.http_status, 200);
  EXPECT_TRUE(ack.body.empty());
  EXPECT_EQ(error_of(post(22, {0x80}, hello.token)).em_error_code, 1);
}

TEST_F(DispatcherTest, ExpiredSessionIsGone) {
  const auto hello = post(20, {0x80});
  m_now += 301;
  EXPECT_EQ(error_of(post(22, {0x80}, hello.token)).em_error_code, 1);
}

// The session TTL boundary (the dispatcher's session_ttl, 300 s here): a message one second before the TTL
// still belongs to the run (the test endpoint answers 22 with 23); at exactly the TTL the session is gone (1).
TEST_F(DispatcherTest, SessionIsLiveOneSecondBeforeItsTtlAndGoneAtIt) {
  const std::int64_t start = m_now;
  const auto live = post(20, {0x80});
  m_now = start + 299;
  EXPECT_EQ(post(22, {0x80}, live.token).msg_type, 23);
  m_now = start;
  const auto expired = post(20, {0x80});
  m_now = start + 300;
  EXPECT_EQ(error_of(post(22, {0x80}, expired.token)).em_error_code, 1);
}

TEST_F(DispatcherTest, SessionTtlBoundaryHoldsOverHttp) {
  transport::HttpServerOptions options;
  options.threads = 2;
  transport::HttpServer server(m_dispatcher, options);
  server.start();
  // Each run is one HttpTransport, which carries the run's token as a client does.
  const Bytes hello{0x80};
  const std::int64_t start = m_now;
  transport::HttpTransport live(server.url());
  ASSERT_EQ(live.exchange(20, hello).msg_type, 21);
  m_now = start + 299;
  EXPECT_EQ(live.exchange(22, hello).msg_type, 23);
  m_now = start;
  transport::HttpTransport expired(server.url());
  ASSERT_EQ(expired.exchange(20, hello).msg_type, 21);
  m_now = start + 300;
  const transport::Reply at_ttl = expired.exchange(22, hello);
  ASSERT_EQ(at_ttl.msg_type, 255);
  EXPECT_EQ(ErrorMessage::decode(at_ttl.body).em_error_code, 1);
  server.stop();
}

TEST_F(DispatcherTest, TwoConcurrentCopiesOfOneMessageGiveOneSuccessAndOneError) {
  // docs/adr/0005: both copies read the session at version 0 and run their handlers at the same time (the
  // scripted handler waits for the other copy); only the first to commit moves the run on and stores its record.
  // The second gets 101 and leaves the first's result alone.
  const auto hello = post(20, {0x80});
  transport::Response a;
  transport::Response b;
  std::thread first([&] { a = post(22, {0xFE, 0x01}, hello.token); });
  std::thread second([&] { b = post(22, {0xFE, 0x02}, hello.token); });
  first.join();
  second.join();
  const transport::Response& winner = a.msg_type == 23 ? a : b;
  const transport::Response& loser = a.msg_type == 23 ? b : a;
  ASSERT_EQ(winner.msg_type, 23);
  EXPECT_EQ(error_of(loser).em_error_code, 101);
  // Exactly one record, the winner's; and 22 ended the run, so the token is gone.
  auto tx = m_store->begin();
  const std::vector<storage::VoucherRecord> records = tx->list_vouchers();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].voucher, (&winner == &a ? Bytes{0xFE, 0x01} : Bytes{0xFE, 0x02}));
  EXPECT_FALSE(tx->get_session(*hello.token, m_now).has_value());
}

TEST_F(DispatcherTest, AbandonedRunsLeaveTheSessionTableAfterTheirTtl) {
  // 10^5 runs opened and never continued fill the table; once their TTL has passed, the next first message
  // purges them, and the table is back to its steady size (the one new run).
  constexpr std::size_t kAbandoned = 100'000;
  DispatcherOptions unlimited{300, [this] { return m_now.load(); }};
  unlimited.max_sessions_per_source = 0;  // one peer here; the per-source limit has its own test
  Dispatcher d(*m_store, unlimited);
  d.add(m_to0);
  for (std::size_t i = 0; i < kAbandoned; ++i) {
    ASSERT_EQ(send(d, 20, {0x80}).msg_type, 21);
  }
  {
    auto tx = m_store->begin();
    EXPECT_EQ(tx->count_sessions(m_now), kAbandoned);
  }
  m_now += 301;  // past the 300 s TTL and the purge interval
  ASSERT_EQ(send(d, 20, {0x80}).msg_type, 21);
  auto tx = m_store->begin();
  EXPECT_EQ(tx->count_sessions(m_now), 1u);
  EXPECT_EQ(tx->purge_expired_sessions(m_now), 0u) << "every expired session was already purged";
}

TEST_F(DispatcherTest, TwoServersOnOneStoreCapTheRunsInProgressTogether) {
  // Two server processes on one database (two dispatchers on one store here): the cap counts the store's live
  // sessions, so runs opened on A and finished on B leave no count behind on A.
  DispatcherOptions capped{300, [this] { return m_now.load(); }};
  capped.max_live_sessions = 2;
  Dispatcher a(*m_store, capped);
  Dispatcher b(*m_store, capped);
  a.add(m_to0);
  b.add(m_to0);
  const transport::Response first = send(a, 20, {0x80});
  ASSERT_EQ(send(b, 20, {0x80}).msg_type, 21);
  EXPECT_EQ(error_of(send(a, 20, {0x80})).em_error_code, 500);  // two live runs: full on both servers
  EXPECT_EQ(error_of(send(b, 20, {0x80})).em_error_code, 500);
  ASSERT_EQ(send(b, 22, {0x01}, first.token).msg_type, 23);  // A's run ends on B
  EXPECT_EQ(send(a, 20, {0x80}).msg_type, 21);
}

// docs/security.md "Session-table limits": 10 000 abandoned first messages from one address (TO0.Hello and
// DI.AppStart) leave that address at most max_sessions_per_source (64 by default) runs, its least recently used
// reclaimed at once, so a client at another address is still served under the global cap; and the attacker's
// newest run still works.
TEST_F(DispatcherTest, AbandonedRunsFromOneAddressDoNotLockOutOthers) {
  DispatcherOptions options{300, [this] { return m_now.load(); }};
  options.max_live_sessions = 10000;
  EXPECT_EQ(options.max_sessions_per_source, 64u);
  Dispatcher d(*m_store, options);
  d.add(m_to0);
  d.add(m_di);
  const auto from = [&](const std::string& peer, std::uint8_t type, std::optional<std::string> token = {}) {
    transport::Request r;
    r.msg_type = type;
    r.body = {0x80};
    r.token = token;
    r.authorization_present = token.has_value();
    r.peer = peer;
    return d.handle(r);
  };
  const transport::Response good_before = from("192.0.2.1", 20);
  ASSERT_EQ(good_before.msg_type, 21);
  transport::Response last;
  for (int i = 0; i < 10000; ++i) {
    last = from("198.51.100.7", i % 2 == 0 ? 20 : 10);
    ASSERT_NE(last.msg_type, 255) << "run " << i;
    if (i % 100 == 0) {
      ++m_now;  // time passes: the least recently used runs are the oldest
    }
  }
  {
    auto tx = m_store->begin();
    EXPECT_EQ(tx->count_sessions_from("198.51.100.7", m_now), 64u);
    EXPECT_EQ(tx->count_sessions(m_now), 65u);
  }
  EXPECT_EQ(from("192.0.2.2", 20).msg_type, 21);                          // a new client is served
  EXPECT_EQ(from("192.0.2.1", 22, good_before.token).msg_type, 23);       // and a run in progress goes on
  EXPECT_NE(from("198.51.100.7", last.msg_type == 21 ? 22 : 12, last.token).msg_type, 255);
}

TEST_F(DispatcherTest, RejectBuildsA255AndDropsTheSession) {
  const auto hello = post(20, {0x80});
  const auto r = m_dispatcher.reject(22, hello.token, ErrorCode::MessageBodyError, "body too large");
  EXPECT_EQ(error_of(r).em_error_code, 100);
  EXPECT_EQ(error_of(post(22, {0x80}, hello.token)).em_error_code, 1);
}

/// Forwards to a dispatcher and keeps every request it saw, so a test can check what a client sent.
class RecordingResponder final : public transport::Responder {
 public:
  explicit RecordingResponder(transport::Responder& inner) : m_inner(inner) {}
  transport::Response handle(const transport::Request& request) override {
    requests.push_back(request);
    responses.push_back(m_inner.handle(request));
    return responses.back();
  }
  transport::Response reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                             std::string_view reason) override {
    return m_inner.reject(msg_type, std::move(token), code, reason);
  }
  std::vector<transport::Request> requests;
  std::vector<transport::Response> responses;

 private:
  transport::Responder& m_inner;
};

TEST_F(DispatcherTest, ClientRunSendsItsErrorOnAFailedCheckButNotAfterAServerError) {
  RecordingResponder recorder(m_dispatcher);
  transport::LoopbackTransport loop(recorder);
  ClientRun run(loop);
  EXPECT_THROW(run.run([&] {
    run.exchange(MessageType::To0Hello, Bytes{0x80}, MessageType::To0HelloAck);
    throw_invalid("nonce check failed");
  }),
               Error);
  EXPECT_FALSE(run.peer_error().has_value());
  // FDO 1.1 §5.1: the client's own 255, with the run's token, the code of the failed check and the message it
  // was checking (21); the server then ends the run.
  ASSERT_EQ(recorder.requests.size(), 2u);
  const transport::Request& sent = recorder.requests[1];
  EXPECT_EQ(sent.msg_type, 255);
  ASSERT_TRUE(sent.token.has_value());
  EXPECT_EQ(sent.token, recorder.responses[0].token);  // the token HelloAck gave
  const ErrorMessage em = ErrorMessage::decode(sent.body);
  EXPECT_EQ(em.em_error_code, 101);
  EXPECT_EQ(em.em_prev_msg_id, 21);
  EXPECT_EQ(error_of(post(22, {0x80}, sent.token)).em_error_code, 1);
  recorder.requests.clear();
  recorder.responses.clear();

  ClientRun second(loop);
  try {
    second.run([&] {
      second.exchange(MessageType::To0Hello, Bytes{0x80}, MessageType::To0HelloAck);
      second.exchange(MessageType::To0OwnerSign, Bytes{0xFF}, MessageType::To0AcceptOwner);
    });
    FAIL() << "expected the server's error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidMessageError);
  }
  ASSERT_TRUE(second.peer_error().has_value());
  EXPECT_EQ(second.peer_error()->em_prev_msg_id, 22);
  // After the server's 255 the client sends nothing more.
  ASSERT_EQ(recorder.requests.size(), 2u);
  EXPECT_EQ(recorder.requests[1].msg_type, 22);
}

}  // namespace
}  // namespace fdo::protocol

namespace fdo::protocol {
namespace {

TEST(Trace, MasksServiceInfoBodiesOnly) {
  EXPECT_TRUE(body_is_secret(MessageType::To2DeviceServiceInfo));
  EXPECT_TRUE(body_is_secret(MessageType::To2OwnerServiceInfo));
  EXPECT_FALSE(body_is_secret(MessageType::DiSetHMAC));
  EXPECT_FALSE(body_is_secret(MessageType::To0OwnerSign));
}


// ---- Conformance checklist section 7 at the dispatcher (TR-01, TR-05, TR-06) ----

// The number of sessions in `store`: counted by purging them all in a transaction that is then rolled back.
std::size_t session_count(storage::Store& store) {
  auto tx = store.begin();
  return tx->purge_expired_sessions(std::numeric_limits<std::int64_t>::max());
}

// A request as the HTTP server hands it to the binding: `content_type` (none when nullopt) and an optional token.
transport::InboundMessage inbound(std::uint8_t type, Bytes body, std::optional<std::string> content_type,
                                  std::optional<std::string> token = std::nullopt) {
  transport::InboundMessage in;
  in.msg_type = type;
  if (content_type) {
    in.headers.emplace_back("Content-Type", *content_type);
  }
  if (token) {
    in.headers.emplace_back("Authorization", transport::bearer_value(*token));
  }
  in.body_too_large = body.size() > transport::kMaxBody;
  if (!in.body_too_large) {
    in.body = std::move(body);
  }
  in.peer = "test";
  return in;
}

TEST_F(DispatcherTest, TR01_WrongContentTypeOnAFirstMessageIs415With100AndOpensNoSession) {
  for (const std::optional<std::string>& type : {std::optional<std::string>("text/plain"),
                                                 std::optional<std::string>(),
                                                 std::optional<std::string>("application/cbor; charset=utf-8")}) {
    SCOPED_TRACE(type.value_or("no Content-Type"));
    const transport::Response r =
        transport::serve_message(m_dispatcher, inbound(20, {0x80}, type), transport::kMaxBody);
    EXPECT_EQ(r.http_status, 415);
    EXPECT_EQ(r.msg_type, 255);
    EXPECT_FALSE(r.token.has_value());
    const ErrorMessage em = ErrorMessage::decode(r.body);
    EXPECT_EQ(em.em_error_code, 100);
    EXPECT_EQ(em.em_prev_msg_id, 20);
  }
  EXPECT_EQ(session_count(*m_store), 0u);
  // The same first message with the right Content-Type opens one.
  const transport::Response ok =
      transport::serve_message(m_dispatcher, inbound(20, {0x80}, "application/cbor"), transport::kMaxBody);
  EXPECT_EQ(ok.msg_type, 21);
  EXPECT_EQ(session_count(*m_store), 1u);
}

TEST_F(DispatcherTest, TR05_OversizeBodyMidRunIs100AndTheTokenIsDeadAfterwards) {
  const auto hello = post(20, {0x80});
  ASSERT_TRUE(hello.token);
  const transport::Response r = transport::serve_message(
      m_dispatcher, inbound(22, Bytes(65536, 0x00), "application/cbor", hello.token), transport::kMaxBody);
  const ErrorMessage em = error_of(r);
  EXPECT_EQ(em.em_error_code, 100);
  EXPECT_EQ(em.em_prev_msg_id, 22);
  EXPECT_EQ(session_count(*m_store), 0u);
  EXPECT_EQ(error_of(post(22, {0x80}, hello.token)).em_error_code, 1);
  EXPECT_FALSE(voucher_stored());
}

TEST_F(DispatcherTest, TR06_EveryErrorIs500WithAFiveElementErrorMessageAndABareUintTimestamp) {
  const auto hello = post(20, {0x80});
  ASSERT_TRUE(hello.token);
  // A token error, an unknown type, and a handler's error after a valid token.
  for (const transport::Response& r : {post(22, {0x80}), post(99, {0x80}), post(22, {0xFF}, hello.token)}) {
    EXPECT_EQ(r.http_status, 500);
    EXPECT_EQ(r.msg_type, 255);
    EXPECT_FALSE(r.token.has_value());
    cbor::Reader reader(r.body, "ErrorMessage");
    reader.read_array_of("", 5);
    EXPECT_GE(reader.read_uint("[0] EMErrorCode"), 1u);
    EXPECT_LE(reader.read_uint("[1] EMPrevMsgID"), 255u);
    static_cast<void>(reader.read_tstr("[2] EMErrorStr"));
    ASSERT_EQ(reader.peek_type(), cbor::MajorType::Unsigned) << "EMErrorTs must be a bare uint";
    EXPECT_GT(reader.read_uint("[3] EMErrorTs"), 1'600'000'000u);
    EXPECT_EQ(reader.peek_type(), cbor::MajorType::Unsigned) << "EMErrorCID must be a uint";
    static_cast<void>(reader.read_uint("[4] EMErrorCID"));
    EXPECT_TRUE(reader.at_end());
  }
}

}  // namespace
}  // namespace fdo::protocol
