#pragma once
// Sets up cpp-httplib's SSLClient from HttpClientOptions (docs/security.md "TLS"): the CA file or the insecure
// switch, certificate pins (FDO 1.1 §3.7 RVSvCertHash, RVClCertHash) and a client identity for mutual TLS.
// OpenSSL is reached here only as cpp-httplib's TLS back end: its SSL_CTX hooks.

#include <httplib.h>

#include <memory>
#include <string>

#include "libfdo/transport/http_client.h"

namespace fdo::transport::internal {

/// What a configured client must keep alive as long as its SSLClient: the pins its verify callback reads, the
/// hardware-key signer, and why the last handshake's pin check failed.
struct TlsClientState {
  HttpClientOptions options;
  /// Set by the pin check when it refuses the server ("the server certificate does not match RVSvCertHash").
  std::string pin_failure;
  /// The hardware key's ECDSA method (an EC_KEY_METHOD*, freed with the state).
  std::shared_ptr<void> key_method;
};

/// An SSLClient for host:port set up as `state.options` says. `state` must outlive it (the client is destroyed
/// first). Throws Error(InternalServerError) when the CA file, the pins or the client identity cannot be used.
std::unique_ptr<httplib::SSLClient> make_tls_client(const std::string& host, int port, TlsClientState& state);

/// The reason to report for a failed TLS request: the pin check's when it refused, else `fallback`.
std::string tls_failure(const TlsClientState& state, const std::string& fallback);

}  // namespace fdo::transport::internal
