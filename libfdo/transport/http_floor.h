#pragma once
// The HTTP floor (docs/performance.md): what one request costs in cpp-httplib itself, with a handler that answers
// at once, beside what it costs through our server, binding and client with a responder that answers at once.
// For fdo-loadgen, which prints both next to the protocol figures of the same run.

#include <cstddef>

namespace fdo::transport {

/// CPU microseconds (user + system, client and server together: both run in this process) per POST of a
/// 1-byte body over a fresh loopback connection, as servers meet it from devices.
struct HttpFloor {
  /// cpp-httplib's Server and Client alone.
  double raw_us = 0;
  /// HttpServer, serve_message and HttpTransport (our binding on top of cpp-httplib).
  double ours_us = 0;
  std::size_t requests = 0;
};

/// Runs `requests` requests of each kind on 127.0.0.1 and times them. Throws Error(InternalServerError) if a
/// server cannot start or a request fails.
HttpFloor measure_http_floor(std::size_t requests);

}  // namespace fdo::transport
