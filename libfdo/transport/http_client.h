#pragma once
// HTTP client for one FDO server base URL (FDO 1.1 §4.3). Not thread-safe: one per run.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/url.h"
#include "libfdo/transport/binding.h"
#include "libfdo/transport/tls.h"

namespace fdo::transport {

/// Client settings (docs/interop.md "http-limits").
struct HttpClientOptions {
  /// Connect, read and write timeout of one request.
  std::chrono::milliseconds timeout = kDefaultTimeout;
  /// Largest response body accepted.
  std::size_t max_body = kMaxBody;
  /// https only: skip certificate and host name verification (labs only).
  bool insecure_tls = false;
  /// https only: PEM file of trusted CA certificates; empty means the system store.
  std::string ca_file;
  /// https only, FDO 1.1 §3.7 RVSvCertHash and RVClCertHash: when either is set, the server is trusted through
  /// them instead of `ca_file` and its host name (docs/security.md "TLS").
  std::optional<CertPin> server_cert_pin;
  std::optional<CertPin> ca_cert_pin;
  /// https only: the client certificate of mutual TLS.
  std::shared_ptr<const TlsClientIdentity> identity;
};

/// POSTs FDO messages to "{base}/fdo/101/msg/{type}", FDO 1.1 §4.3.
/// Sends Content-Type application/cbor and Content-Length (never chunked, no Expect), keeps the
/// connection alive between requests, and reads Message-Type and Authorization from answers.
class HttpClient {
 public:
  /// A client for `base`. Throws Error(InternalServerError) if https cannot be set up.
  explicit HttpClient(const Url& base, HttpClientOptions options = {});
  /// Parses `base_url` with parse_url (throws Error(MessageBodyError) if malformed).
  explicit HttpClient(std::string_view base_url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  /// POSTs one message. `authorization` is sent verbatim as the Authorization header.
  /// Throws Error(InternalServerError, ErrorSource::Transport) saying what failed ("cannot connect to HOST:PORT:
  /// connection refused", "cannot resolve host …", "TLS handshake failed: …", "no answer from …"), and
  /// Error(MessageBodyError, ErrorSource::Transport) for a response body over max_body or a compressed response.
  ClientResponse post(std::uint8_t msg_type, ByteView body,
                      const std::optional<std::string>& authorization,
                      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  /// The base URL.
  [[nodiscard]] const Url& base() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fdo::transport
