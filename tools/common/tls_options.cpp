#include "tools/common/tls_options.h"

#include "libfdo/core/error.h"

namespace fdo::tool {

void add_server_tls_options(CLI::App& cmd, ServerTls& tls) {
  cmd.add_option("--tls-cert", tls.cert,
                 "Serve HTTPS with this PEM certificate chain (leaf first); with --tls-key. Default: plain HTTP");
  cmd.add_option("--tls-key", tls.key, "The PEM private key of --tls-cert (keep it 0600)");
}

void apply_server_tls(const ServerTls& tls, transport::HttpServerOptions& http) {
  if (tls.cert.empty() != tls.key.empty()) {
    throw_body_error("--tls-cert and --tls-key go together: give both for HTTPS, neither for HTTP");
  }
  http.tls_cert_file = tls.cert;
  http.tls_key_file = tls.key;
}

void add_client_tls_options(CLI::App& cmd, ClientTls& tls) {
  cmd.add_option("--ca-file", tls.ca_file, "https: PEM file of trusted CA certificates (default: the system's)");
  cmd.add_flag("--insecure-tls", tls.insecure, "https: skip certificate verification (labs only)");
}

transport::HttpClientOptions client_options(const ClientTls& tls) {
  transport::HttpClientOptions o;
  o.ca_file = tls.ca_file;
  o.insecure_tls = tls.insecure;
  return o;
}

}  // namespace fdo::tool
