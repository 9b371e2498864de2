#include "libfdo/protocol/dispatcher.h"

#include <chrono>

#include "libfdo/core/hex.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/messages/error_message.h"
#include "libfdo/protocol/trace.h"

namespace fdo::protocol {
namespace {

// Tokens are opaque, random, at least 128 bits, base64url (FDO 1.1 §4.3; docs/interop.md "session-tokens").
std::string new_token() { return base64url_encode(random_bytes(24)); }

std::string message_name(std::uint8_t type) {
  const MessageInfo* info = find_message(type);
  return info != nullptr ? std::string(info->name) : "message " + std::to_string(type);
}

constexpr std::int64_t kPurgeInterval = 60;

// Runs tracked for their duration at most; beyond it new runs go unmeasured (their messages are still counted).
constexpr std::size_t kMaxTrackedRuns = std::size_t{1} << 20;

// The type label of fdo_messages_total: the spec's name, or "unknown" (a bounded set of values).
std::string_view type_label(std::uint8_t type) {
  const MessageInfo* info = find_message(type);
  return info != nullptr ? info->name : std::string_view("unknown");
}

}  // namespace

std::string public_error_text(ErrorCode code, std::uint64_t correlation_id) {
  return std::string(error_code_name(code)) +
         ": request refused; the server's log gives the reason under correlation id " + std::to_string(correlation_id);
}

std::string run_id(std::string_view token) {
  const Bytes digest = crypto::hash(
      crypto::HashAlg::Sha256, ByteView(reinterpret_cast<const std::uint8_t*>(token.data()), token.size()));
  return to_hex(ByteView(digest).first(8));
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void expect_next(MessageType expected, MessageType type) {
  if (expected != type) {
    throw_invalid(std::string(message_info(type).name) + " is out of order: the session expects " +
                  std::string(message_info(expected).name));
  }
}

std::string_view protocol_name(Protocol protocol) {
  switch (protocol) {
    case Protocol::Di: return "di";
    case Protocol::To0: return "to0";
    case Protocol::To1: return "to1";
    case Protocol::To2: return "to2";
    case Protocol::Any: return "any";
  }
  return "?";
}

Dispatcher::Dispatcher(storage::Store& store, DispatcherOptions options)
    : m_store(store), m_options(std::move(options)) {
  std::uint64_t seed = 0;
  fill_random(std::span(reinterpret_cast<std::uint8_t*>(&seed), sizeof seed));
  m_correlation = seed >> 16;  // keeps ids well inside uint64 while unique per process
  if (metrics::Registry* registry = m_options.metrics) {
    m_messages = &registry->counter("fdo_messages_total",
                                    "FDO messages answered, by message type and result (ok or the error code sent)",
                                    {"type", "result"});
    m_run_seconds = &registry->histogram(
        "fdo_run_duration_seconds",
        "Protocol runs from their first message to their end, by protocol and result (ok, the error code, peer_error)",
        {"protocol", "result"}, metrics::duration_buckets());
    m_commit_seconds =
        &registry
             ->histogram("fdo_store_commit_seconds", "Commit of the store transaction of each FDO message", {},
                         metrics::latency_buckets())
             .with({});
    const std::function<std::int64_t()> clock = m_options.clock;
    registry->sampled_gauge("fdo_sessions_live", "Protocol runs in progress (live sessions in the store)",
                            [&store, clock] {
                              return static_cast<double>(storage::read_only(
                                  store, [&](storage::Transaction& tx) { return tx.count_sessions(clock()); }));
                            });
  }
}

void Dispatcher::add(Endpoint& endpoint) { m_endpoints[endpoint.protocol()] = &endpoint; }

transport::Response Dispatcher::handle(const transport::Request& request) {
  // docs/operations.md "Logs": every line written while this message is handled names it and its run.
  const log::Scope scope;
  log::annotate(log::Field::MsgType, std::string(type_label(request.msg_type)));
  if (request.token && !request.authorization_malformed) {
    log::annotate(log::Field::RunId, run_id(*request.token));
  }
  Context ctx;
  ctx.now = m_options.clock();
  ctx.peer = request.peer;
  if (request.msg_type == static_cast<std::uint8_t>(MessageType::Error)) {
    return handle_client_error(request);
  }
  std::optional<std::string> token = request.authorization_malformed ? std::nullopt : request.token;
  try {
    const MessageInfo* info = find_message(request.msg_type);
    const auto endpoint = info != nullptr ? m_endpoints.find(info->protocol) : m_endpoints.end();
    if (info == nullptr || !info->is_request || endpoint == m_endpoints.end()) {
      // TR-04: an unknown type or a server-to-client type is not a request this server takes.
      token.reset();  // the token, if any, stays valid: nothing of its run was touched
      throw_body_error(message_name(request.msg_type) + " is not a request this server accepts");
    }
    if (m_options.admit) {
      if (std::optional<Error> refusal = m_options.admit(ctx, info->type)) {
        if (info->starts_protocol) {
          token.reset();  // a refused first message touches no session, not even a stale one (TR-13)
        }
        throw *refusal;
      }
    }
    if (info->starts_protocol && m_options.max_live_sessions > 0) {
      const std::size_t live =
          storage::read_only(m_store, [&](storage::Transaction& tx) { return tx.count_sessions(ctx.now); });
      if (live >= m_options.max_live_sessions) {
        token.reset();
        throw Error(ErrorCode::InternalServerError, "too many runs in progress, retry later");
      }
    }
    return handle_message(request, *info, *endpoint->second, ctx, token);
  } catch (const Error& e) {
    return error_response(request.msg_type, e, ctx, token);
  } catch (const std::exception& e) {
    return error_response(request.msg_type, Error(ErrorCode::InternalServerError, e.what()), ctx, token);
  }
}

transport::Response Dispatcher::handle_message(const transport::Request& request, const MessageInfo& info,
                                               Endpoint& endpoint, Context& ctx,
                                               std::optional<std::string>& token) {
  const std::string proto(protocol_name(info.protocol));
  const auto arrived = std::chrono::steady_clock::now();
  storage::Session session;
  bool stored = false;
  if (info.starts_protocol) {
    // FDO 1.1 §4.3: the first message of a run carries no token; a stale one is ignored (TR-13).
    token = new_token();
    log::annotate(log::Field::RunId, run_id(*token));
    session = storage::Session{*token, proto, {}, ctx.now + m_options.session_ttl, 0};
  } else {
    if (!token) {
      throw Error(ErrorCode::InvalidJwtToken,
                  request.authorization_present ? "Authorization is not 'Bearer <token>'" : "no Authorization token");
    }
    auto found = storage::read_only(m_store, [&](storage::Transaction& tx) { return tx.get_session(*token, ctx.now); });
    if (!found) {
      token.reset();
      throw Error(ErrorCode::InvalidJwtToken, "unknown or expired token");
    }
    if (found->protocol != proto) {
      throw Error(ErrorCode::InvalidJwtToken, "token belongs to " + found->protocol + ", not " + proto);
    }
    session = std::move(*found);
    stored = true;
  }

  // docs/adr/0005: the handler's work (decoding, checks, signatures, vouchers, certificates) runs outside any
  // store transaction, so runs proceed in parallel; the transaction below covers only the session's
  // read-modify-write and the records the message writes.
  trace_message("received", request.msg_type, request.body);
  const Bytes state_before = session.state;
  Answer answer;
  try {
    answer = endpoint.handle(info.type, request.body, session.state, m_store, ctx);
  } catch (const Error& e) {
    report_failure(endpoint, info.type, state_before, e, ctx, token);
    throw;
  }
  if (!ctx.guid_hex.empty()) {
    log::annotate(log::Field::Guid, ctx.guid_hex);
  }
  trace_message("answering", static_cast<std::uint8_t>(answer.type), answer.body, ctx.guid_hex);
  const bool ends = message_info(answer.type).ends_protocol;

  auto tx = m_store.begin();
  if (info.starts_protocol) {
    maybe_purge(*tx, ctx.now);
  }
  session.expires_at = ctx.now + m_options.session_ttl;
  if (stored) {
    // The session moves on only from the version this message read: of two concurrent copies of one message,
    // the second finds the run moved on (or ended) and gets an error, without touching the first's result.
    const bool moved = ends ? tx->end_session(session) : tx->update_session(session);
    if (!moved) {
      token.reset();  // the run belongs to the copy that came first: this error must not end it
      throw Error(ErrorCode::InvalidMessageError,
                  std::string(info.name) + ": another copy of this message was handled first; the run has moved on");
    }
  } else if (!ends) {
    session.source = ctx.peer;
    if (m_options.max_sessions_per_source > 0) {
      const std::size_t reclaimed =
          tx->reclaim_sessions_from(session.source, ctx.now, m_options.max_sessions_per_source - 1);
      if (reclaimed > 0) {
        log::info("reclaimed " + std::to_string(reclaimed) + " least recently used runs of " + ctx.peer +
                  " (at most " + std::to_string(m_options.max_sessions_per_source) + " per client address)");
      }
    }
    tx->insert_session(session);
  }
  if (answer.apply) {
    try {
      answer.apply(*tx);
    } catch (const Error& e) {
      tx.reset();  // rolled back: the run's failure is recorded in a transaction of its own
      report_failure(endpoint, info.type, state_before, e, ctx, token);
      throw;
    }
  }
  const auto commit_start = std::chrono::steady_clock::now();
  tx->commit();
  if (m_commit_seconds != nullptr) {
    m_commit_seconds->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count());
  }
  count_message(request.msg_type, "ok");
  if (ends) {
    run_ended(*token, "ok");
  } else if (info.starts_protocol) {
    run_started(*token, proto, arrived, ctx.now);
  } else if (m_run_seconds != nullptr) {
    const std::lock_guard lock(m_runs_mutex);
    if (const auto it = m_runs.find(*token); it != m_runs.end()) {
      it->second.last_seen = ctx.now;
    }
  }
  log::info(std::string(info.name) + " from " + ctx.peer + " -> " + std::string(message_info(answer.type).name),
            ctx.guid_hex);
  transport::Response response;
  response.msg_type = static_cast<std::uint8_t>(answer.type);
  response.body = std::move(answer.body);
  response.token = token;
  return response;
}

transport::Response Dispatcher::handle_client_error(const transport::Request& request) {
  // FDO 1.1 §5.1: the server logs a received 255 and ends the run; it answers 200 with an empty body
  // (docs/interop.md "http-errors").
  std::string what = "undecodable ErrorMessage";
  std::optional<ErrorMessage> received;
  try {
    received = ErrorMessage::decode(request.body);
    what = received->describe();
  } catch (const Error&) {
    // A 255 needs no checks beyond decoding it leniently; an undecodable one still ends the run.
  }
  if (request.token && !request.authorization_malformed) {
    std::optional<storage::Session> session;
    try {
      session = storage::read_only(m_store, [&](storage::Transaction& tx) {
        return tx.get_session(*request.token, m_options.clock());
      });
    } catch (const Error& e) {
      log::error(std::string("cannot read the session of a received ErrorMessage: ") + e.what());
    }
    drop_session(*request.token);
    run_ended(*request.token, "peer_error");
    if (session) {
      // The endpoint records the run's end as the peer reported it (an owner's device status, docs/owner.md).
      for (const auto& [protocol, endpoint] : m_endpoints) {
        if (protocol_name(protocol) == session->protocol) {
          Context ctx;
          ctx.now = m_options.clock();
          ctx.peer = request.peer;
          const MessageType prev = received ? static_cast<MessageType>(received->em_prev_msg_id) : MessageType::Error;
          const Error error = received ? Error(received->code(), received->em_error_str, ErrorSource::Peer)
                                       : Error(ErrorCode::MessageBodyError, what, ErrorSource::Peer);
          endpoint->on_failure(prev, session->state, error, m_store, ctx);
        }
      }
    }
  }
  log::warn("peer " + request.peer + " sent ErrorMessage: " + what);
  count_message(request.msg_type, "ok");
  return transport::Response{static_cast<std::uint8_t>(MessageType::Error), {}, std::nullopt, 200};
}

transport::Response Dispatcher::error_response(std::uint8_t msg_type, const Error& error, const Context& ctx,
                                               const std::optional<std::string>& token) {
  const std::string_view code_name = error_code_name(error.code());
  if (token) {
    drop_session(*token);  // the session behind the token is gone after an error (conformance "→ N")
    run_ended(*token, code_name);
  }
  count_message(msg_type, code_name);
  // FDO 1.1 §5.1: the peer gets the code, its own message type and a correlation id, never which check failed
  // (that would help a probing client); the reason goes to this server's log under the same id.
  const std::uint64_t cid = m_correlation++;
  log::annotate(log::Field::CorrelationId, std::to_string(cid));
  ErrorMessage em = ErrorMessage::from_error(error, msg_type, cid);
  em.em_error_str = public_error_text(error.code(), cid);
  log::warn(message_name(msg_type) + " from " + ctx.peer + " rejected [correlation id " + std::to_string(cid) +
                "]: " + std::string(error_code_name(error.code())) + " (" +
                std::to_string(static_cast<int>(error.code())) + "): " + error.what(),
            ctx.guid_hex);
  return transport::Response{static_cast<std::uint8_t>(MessageType::Error), em.encode(), std::nullopt, 500};
}

transport::Response Dispatcher::reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                                       std::string_view reason) {
  Context ctx;
  ctx.now = m_options.clock();
  ctx.peer = "transport";
  return error_response(msg_type, Error(code, std::string(reason)), ctx, token);
}

void Dispatcher::report_failure(Endpoint& endpoint, MessageType type, ByteView state, const Error& error,
                                const Context& ctx, std::optional<std::string>& token) {
  // The session goes first (error_response drops it too), so the endpoint records a run that is over.
  if (token) {
    drop_session(*token);
    run_ended(*token, error_code_name(error.code()));
    token.reset();
  }
  endpoint.on_failure(type, state, error, m_store, ctx);
}

void Dispatcher::drop_session(const std::string& token) {
  try {
    auto tx = m_store.begin();
    tx->erase_session(token);
    tx->commit();
  } catch (const Error& e) {
    log::error(std::string("cannot drop session: ") + e.what());
  }
}

void Dispatcher::maybe_purge(storage::Transaction& tx, std::int64_t now) {
  std::int64_t last = m_last_purge.load();
  if (now - last >= kPurgeInterval && m_last_purge.compare_exchange_strong(last, now)) {
    const std::size_t n = tx.purge_expired_sessions(now);
    if (n > 0) {
      log::debug("purged " + std::to_string(n) + " expired sessions");
    }
    // Runs abandoned by their client are forgotten here too, unmeasured.
    const std::lock_guard lock(m_runs_mutex);
    std::erase_if(m_runs, [&](const auto& run) { return run.second.last_seen + m_options.session_ttl < now; });
  }
}

void Dispatcher::count_message(std::uint8_t msg_type, std::string_view result) {
  if (m_messages != nullptr) {
    m_messages->with({type_label(msg_type), result}).inc();
  }
}

void Dispatcher::run_started(const std::string& token, const std::string& protocol,
                             std::chrono::steady_clock::time_point start, std::int64_t now) {
  if (m_run_seconds == nullptr) {
    return;
  }
  const std::lock_guard lock(m_runs_mutex);
  if (m_runs.size() < kMaxTrackedRuns) {
    m_runs[token] = RunStart{.start = start, .protocol = protocol, .last_seen = now};
  }
}

void Dispatcher::run_ended(const std::string& token, std::string_view result) {
  if (m_run_seconds == nullptr) {
    return;
  }
  std::optional<RunStart> run;
  {
    const std::lock_guard lock(m_runs_mutex);
    const auto it = m_runs.find(token);
    if (it == m_runs.end()) {
      return;
    }
    run = std::move(it->second);
    m_runs.erase(it);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run->start).count();
  m_run_seconds->with({run->protocol, result}).observe(seconds);
}

}  // namespace fdo::protocol
