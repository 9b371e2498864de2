#pragma once
// Connection gate in front of cpp-httplib's request processing (docs/security.md "Connections"), for HTTP and
// HTTPS alike: the TLS handshake runs in the gate's poll thread too. Internal to the transport layer: includes httplib
// (and, through it, OpenSSL).

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fdo::transport::gate {

struct Limits {
  /// The request line and header fields must arrive within this time of the connection opening.
  std::chrono::milliseconds header_timeout{10000};
  /// An idle connection between two requests is closed after this.
  std::chrono::milliseconds keep_alive_timeout{5000};
  /// The body of one request must be read within this time of its head (a deadline, not per read).
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds write_timeout{30000};
  /// Header fields after the request line: at most this many lines and bytes (CRLFs included).
  std::size_t max_header_count = 100;
  std::size_t max_header_bytes = 16 * 1024;
  /// A body of at most this many bytes (every FDO message's) is awaited in the poll thread too, so a slow body
  /// holds no worker; a larger one (admin uploads) is read by the worker within read_timeout.
  std::size_t max_gated_body = 64 * 1024;
  /// A body over max_gated_body and of at most this many bytes (an admin upload) is awaited in the poll thread as
  /// well, at most max_large_bodies of them at once; beyond that a new one gets 503. 0: none.
  std::size_t max_large_body = 0;
  std::size_t max_large_bodies = 4;
  /// A body over both limits above and of at most this many bytes is read and discarded in the poll thread, and
  /// the worker sees a body of zeros of its length (which every handler refuses as too large); a larger one goes
  /// to the worker at once (kMaxDrain in binding.h: answered without reading). The limits above must be at least
  /// the largest body any route accepts.
  std::size_t max_discarded_body = std::size_t{4} << 20;
  /// Open connections; beyond it the oldest one still waiting for a request head is closed.
  std::size_t max_connections = 4096;
  /// Open connections from one source address; a new one beyond it gets 503 and is closed, so that one client
  /// cannot take the whole table (and push other clients' waiting connections out of it).
  std::size_t max_connections_per_source = 256;
  std::size_t keep_alive_max_count = 100;
  std::size_t workers = 8;
  /// Told the status of each refusal the gate answers itself (408, 414, 431, 503), for metrics and the access log;
  /// runs on the poll or accept thread with the gate's lock held, so it must be quick and not call back.
  std::function<void(int status, const std::string& peer)> on_refused{};
};

/// What scan_head() found in the first bytes of a connection.
struct HeadScan {
  enum class Verdict { Incomplete, Complete, UriTooLong, HeadersTooLarge };
  Verdict verdict = Verdict::Incomplete;
  /// Bytes of the request line, header fields and blank line (when Complete).
  std::size_t head_bytes = 0;
  /// The one Content-Length of a Complete head without Transfer-Encoding; nullopt otherwise (cpp-httplib and the
  /// binding judge those heads).
  std::optional<std::size_t> content_length;
  /// Whether the head has "Expect: 100-continue" (RFC 9110 §10.1.1): the client waits for an interim answer
  /// before it sends the body.
  bool expects_continue = false;
};

/// Finds the end of a request head as cpp-httplib 0.11 reads it: the request line up to the first LF, then
/// lines up to the first one that is exactly CRLF. Exposed for tests.
HeadScan scan_head(std::string_view data, const Limits& limits);

/// An httplib::Server whose connections wait in one poll thread, holding no worker, through the TLS handshake (for
/// HTTPS) and until a whole request head has arrived, and its body too when it declares at most max_gated_body
/// bytes (or max_large_body); only then does a worker run httplib's request processing over the bytes read. A
/// handshake or head that does not arrive within header_timeout, a body that does not arrive within read_timeout
/// of its head, or a head too large, closes the connection (408 / 431 / 414). A body over every limit (up to
/// kMaxDrain) is discarded in the poll thread, and the worker answers it as too large.
class GatedServer : public httplib::Server {
 public:
  /// `tls`, when not null, makes it an HTTPS server (the gate owns the context and frees it).
  explicit GatedServer(const Limits& limits, SSL_CTX* tls = nullptr);
  ~GatedServer() override;
  GatedServer(const GatedServer&) = delete;
  GatedServer& operator=(const GatedServer&) = delete;

  /// Stops the poll thread and the workers and closes every connection; after httplib's stop().
  void stop_gate();

 private:
  // Called by httplib's accept loop (through an inline task queue) for each accepted socket.
  bool process_and_close_socket(socket_t sock) override;

  struct State;
  std::unique_ptr<State> m_state;
  void poll_loop();
  void worker_loop();
};

}  // namespace fdo::transport::gate
