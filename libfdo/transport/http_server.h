#pragma once
// HTTP server for FDO messages and a few admin endpoints (FDO 1.1 §4.3). Serves from
// background threads; the caller prints "listening on …".

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/metrics.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/responder.h"

namespace fdo::transport {

/// Server settings (docs/interop.md "http-limits").
struct HttpServerOptions {
  /// "IPv4:port" or "[IPv6]:port"; port 0 picks a free port.
  std::string listen = "127.0.0.1:0";
  /// Largest FDO message body accepted.
  std::size_t max_body = kMaxBody;
  /// Largest admin POST body accepted (vouchers with certificate chains); read whole without a worker, at most 4
  /// such uploads at once (docs/security.md "Body size").
  std::size_t admin_max_body = std::size_t{1} << 20;
  /// Worker threads; 0 picks default_worker_count() for this machine.
  int threads = 0;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds write_timeout{30};
  /// How long an idle keep-alive connection is kept.
  std::chrono::seconds keep_alive_timeout{5};
  /// docs/security.md "Connections": the request line and header fields must arrive within this time of the
  /// connection opening (or of the first byte of a next request on a kept-alive one), else 408 and close.
  std::chrono::seconds header_timeout{10};
  /// docs/security.md "Header fields": at most this many header lines and bytes after the request line,
  /// else 431 and close.
  std::size_t max_header_count = 100;
  std::size_t max_header_bytes = 16 * 1024;
  /// Open connections; a new one beyond it closes the one that has waited longest for a request head.
  std::size_t max_connections = 4096;
  /// docs/security.md "Connections": open connections from one source address; beyond it a new one gets 503.
  std::size_t max_connections_per_source = 256;
  /// Named deviations the binding accepts (only Quirk::BearerSchemeCase is met at this layer).
  Leniency leniency;
  /// Where fdo_http_requests_total{listener,status} is counted (docs/operations.md "Metrics"), refusals of the
  /// connection gate included; it must outlive the server. nullptr: nothing is counted.
  metrics::Registry* metrics = nullptr;
  /// The listener label of those counts: "protocol" or "admin".
  std::string metrics_listener = "protocol";
  /// Reverse proxies (IP literals) whose X-Forwarded-For names an FDO message's client address (client_address(),
  /// docs/security.md "Behind a reverse proxy"); the connection gate still counts the TCP peer. Empty: none.
  std::vector<std::string> trusted_proxies;
  /// PEM certificate chain and private key; both set serves HTTPS, both empty HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// HTTPS only, mutual TLS: PEM CA certificates a client certificate must chain to; a client without one is
  /// refused in the handshake. Empty: no client certificate is asked for.
  std::string tls_client_ca_file;
};

/// Workers when none is configured: 4 per core, at least 8. A worker is held by a commit waiting for its
/// fdatasync, so a pool of one per core would idle the cores.
int default_worker_count();

/// A request to an admin endpoint (anything outside /fdo/).
struct AdminRequest {
  std::string method;
  /// The decoded path, without query.
  std::string path;
  /// The raw query after '?', or empty.
  std::string query;
  HeaderList headers;
  Bytes body;
  std::string peer;
  /// Mutual TLS: the client's verified certificate (DER), else empty.
  Bytes peer_certificate;
  /// For a route added with add_admin_route: the path's value of each "{name}" segment of the template, decoded.
  std::map<std::string, std::string, std::less<>> path_params = {};
};

/// An admin endpoint's answer.
struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain";
  std::string body;
  /// Further header fields of the answer (Content-Type and Content-Length are set from the fields above).
  HeaderList headers = {};
};

/// A route an HttpServer serves outside /fdo/, as registered: what HttpServer::admin_routes() lists.
struct AdminRouteInfo {
  /// "GET", "POST", "DELETE", …
  std::string method;
  /// A template of add_admin_route ("/admin/vouchers/{guid}"), or the prefix of add_admin_get/add_admin_post.
  std::string path;
  /// True for a prefix route: it also serves every path below `path`.
  bool prefix = false;
  bool operator==(const AdminRouteInfo&) const = default;
};

/// An admin endpoint. Runs on worker threads; exceptions become a plain 500.
using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

/// Checks that `listen` ("IPv4:port", "[IPv6]:port", "localhost:port") can be bound now, by binding and closing a
/// socket, so a server can refuse to start before it creates any file. Throws Error(MessageBodyError) for a
/// malformed address and Error(InternalServerError) "cannot listen on HOST:PORT: REASON" (the errno text).
void check_listen(std::string_view listen);

/// Serves POST /fdo/101/msg/{type} through a Responder, FDO 1.1 §4.3 (docs/interop.md "http-paths"):
/// At log level debug, every request gets one access-log line: method, path, status, body bytes sent, duration and
/// peer address (docs/operations.md "Logs").
/// other methods on a message path → 405; other protver or path shape → 404 without FDO body;
/// binding checks and answers as in serve_message and to_http_answer. Header fields, body framing and content
/// coding are checked before the body is read, and a request refused then has its connection closed
/// (docs/security.md "HTTP binding").
class HttpServer {
 public:
  /// A stopped server; `responder` must outlive it and be thread-safe.
  explicit HttpServer(Responder& responder, HttpServerOptions options = {});
  /// Stops the server.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Routes GET requests whose path is `path_prefix` or below it to `handler`. Before start().
  void add_admin_get(std::string path_prefix, AdminHandler handler);
  /// Routes POST requests whose path is `path_prefix` or below it to `handler`. Before start().
  void add_admin_post(std::string path_prefix, AdminHandler handler);
  /// Routes `method` ("GET", "POST", "PUT", "PATCH" or "DELETE") requests whose path matches `path_template` to
  /// `handler`. The template is literal segments and "{name}" segments, each of which matches one non-empty segment
  /// and is passed in AdminRequest::path_params ("/admin/vouchers/{guid}"); a trailing '/' of the request path is
  /// ignored. A path several templates match goes to the one with the most literal segments, template routes before
  /// prefix routes. A path some template matches for other methods only is answered 405 with `Allow` and a JSON
  /// body {"error": …}. Before start(); Error(InternalServerError) for a malformed template, an unknown method or
  /// a template registered twice for one method.
  void add_admin_route(std::string method, std::string path_template, AdminHandler handler);
  /// Every route added, in the order added (docs/api/README.md: each one is in the server's OpenAPI document).
  [[nodiscard]] std::vector<AdminRouteInfo> admin_routes() const;

  /// Binds and starts serving. Throws Error(MessageBodyError) for a malformed listen address,
  /// Error(InternalServerError) if binding ("cannot listen on HOST:PORT: Address already in use") or TLS setup
  /// fails or the server already started.
  void start();
  /// Stops accepting, finishes running requests and joins the threads. Idempotent.
  void stop();

  /// The bound port (after start()).
  [[nodiscard]] std::uint16_t port() const;
  /// "http://127.0.0.1:PORT" (or https, or [::1]) for the bound address.
  [[nodiscard]] std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fdo::transport
