#pragma once
// The one server-side dispatcher every FDO server uses (docs/style.md §7): token → session → endpoint → decode →
// handle → save, with every state change of a message in one storage transaction (docs/architecture.md).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "libfdo/core/metrics.h"
#include "libfdo/protocol/endpoint.h"
#include "libfdo/storage/store.h"
#include "libfdo/transport/responder.h"

namespace fdo::protocol {

/// The EMErrorStr the servers send (FDO 1.1 §5.1): the code's name and the correlation id, nothing about the
/// check that failed; e.g. "INVALID_MESSAGE_ERROR: request refused; the server's log gives the reason under
/// correlation id 42". The server logs the reason with the same id.
std::string public_error_text(ErrorCode code, std::uint64_t correlation_id);

/// Unix seconds now.
std::int64_t unix_now();

/// Settings of a Dispatcher.
struct DispatcherOptions {
  /// Idle lifetime of a protocol session in seconds (docs/interop.md "session-tokens": default 300).
  std::int64_t session_ttl = 300;
  /// The clock; tests replace it.
  std::function<std::int64_t()> clock = unix_now;
  /// Optional admission check run before a request touches any session (abuse limits: rate per peer, runs in
  /// progress). A returned Error is answered as an ErrorMessage with its code; no session is created.
  std::function<std::optional<Error>(const Context&, MessageType)> admit = nullptr;
  /// Runs in progress at once, counted as the store's live sessions (exact across every process sharing the
  /// store; a run leaves the count however it ends). A first message beyond it gets 500 and opens nothing.
  /// 0: unlimited.
  std::size_t max_live_sessions = 0;
  /// Runs in progress opened by one client address (docs/security.md "Session-table limits"). A first message
  /// from an address that has this many reclaims that address's least recently used runs to make room, so
  /// abandoned runs from one address never fill the table for others. 0: unlimited.
  std::size_t max_sessions_per_source = 64;
  /// Where the dispatcher counts what it does (docs/operations.md "Metrics"): fdo_messages_total,
  /// fdo_run_duration_seconds, fdo_store_commit_seconds and fdo_sessions_live (sampled from the store at each
  /// scrape). It must outlive the dispatcher; nullptr: nothing is counted.
  metrics::Registry* metrics = nullptr;
};

/// The per-run id of the logs (docs/operations.md "Logs"): the first 8 bytes of SHA-256(token) in hex. The token is
/// a bearer secret and never logged; this names its run without revealing it.
std::string run_id(std::string_view token);

/// Routes FDO messages to protocol endpoints and keeps their sessions in the store, FDO 1.1 §4.3, §5.1.
/// * First messages (10, 20, 30, 60) open a new session with a fresh random token, ignoring any
///   Authorization header (conformance TR-13).
/// * Other requests need "Bearer <token>" of a live session of the same protocol, else error 1.
/// * The session is deleted after the protocol's last response (13, 23, 33, 71), on any error sent,
///   and on a 255 received.
/// * Any fdo::Error becomes an ErrorMessage (HTTP 500, Message-Type 255) with its code and
///   EMPrevMsgID = the request type; the handler's writes are rolled back.
class Dispatcher final : public transport::Responder {
 public:
  Dispatcher(storage::Store& store, DispatcherOptions options = {});

  /// Registers the endpoint serving its protocol's requests; it must outlive the dispatcher.
  void add(Endpoint& endpoint);

  transport::Response handle(const transport::Request& request) override;
  transport::Response reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                             std::string_view reason) override;

 private:
  transport::Response handle_message(const transport::Request& request, const MessageInfo& info,
                                     Endpoint& endpoint, Context& ctx, std::optional<std::string>& token);
  transport::Response handle_client_error(const transport::Request& request);
  transport::Response error_response(std::uint8_t msg_type, const Error& error, const Context& ctx,
                                     const std::optional<std::string>& token);
  /// Drops the run's session and lets `endpoint` record the failure (Endpoint::on_failure).
  void report_failure(Endpoint& endpoint, MessageType type, ByteView state, const Error& error, const Context& ctx,
                      std::optional<std::string>& token);
  void drop_session(const std::string& token);
  void maybe_purge(storage::Transaction& tx, std::int64_t now);
  /// Counts one answered message under its type name and result ("ok" or the error code's name).
  void count_message(std::uint8_t msg_type, std::string_view result);
  /// Notes a run's first message, or its end with `result` (observed into fdo_run_duration_seconds).
  void run_started(const std::string& token, const std::string& protocol, std::chrono::steady_clock::time_point start,
                   std::int64_t now);
  void run_ended(const std::string& token, std::string_view result);

  /// A run this process saw start, for its duration (a run continued by another process is not measured).
  struct RunStart {
    std::chrono::steady_clock::time_point start;
    std::string protocol;
    std::int64_t last_seen = 0;
  };

  storage::Store& m_store;
  DispatcherOptions m_options;
  std::map<Protocol, Endpoint*> m_endpoints;
  std::atomic<std::uint64_t> m_correlation;
  std::atomic<std::int64_t> m_last_purge{0};
  metrics::Family<metrics::Counter>* m_messages = nullptr;
  metrics::Family<metrics::Histogram>* m_run_seconds = nullptr;
  metrics::Histogram* m_commit_seconds = nullptr;
  std::mutex m_runs_mutex;
  std::unordered_map<std::string, RunStart> m_runs;
};

}  // namespace fdo::protocol
