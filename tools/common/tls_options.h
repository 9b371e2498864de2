#pragma once
// The TLS options the tools share (docs/cli.md "TLS"): `--tls-cert`/`--tls-key` on every server, and
// `--ca-file`/`--insecure-tls` on every https client.

#include <CLI/CLI.hpp>

#include <string>

#include "libfdo/transport/http_client.h"
#include "libfdo/transport/http_server.h"

namespace fdo::tool {

/// A server's certificate chain and key, PEM files; both empty serves plain HTTP.
struct ServerTls {
  std::string cert;
  std::string key;
};

/// Adds `--tls-cert FILE` and `--tls-key FILE` (also config keys tls-cert / tls-key) to `cmd`.
void add_server_tls_options(CLI::App& cmd, ServerTls& tls);

/// Puts the files into `http`. Error(MessageBodyError) when only one is given (a usage error); the files
/// themselves are read, and their errors reported, when the server starts.
void apply_server_tls(const ServerTls& tls, transport::HttpServerOptions& http);

/// How an https client trusts servers.
struct ClientTls {
  std::string ca_file;
  bool insecure = false;
};

/// Adds `--ca-file FILE` and `--insecure-tls` to `cmd`.
void add_client_tls_options(CLI::App& cmd, ClientTls& tls);

/// Client options for `tls`.
[[nodiscard]] transport::HttpClientOptions client_options(const ClientTls& tls);

}  // namespace fdo::tool
