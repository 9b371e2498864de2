#pragma once
// A plain HTTP(S) GET of one resource, for ServiceInfo modules that fetch over the device's own network (fdo.wget,
// docs/service-info.md "fdo.wget"), and a plain POST, for a device that reports to its owner's platform over mutual
// TLS (docs/owner.md "Platform endpoint"). cpp-httplib stays in this layer.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/transport/http_client.h"

namespace fdo::transport {

/// GET settings.
struct FetchOptions {
  /// Connect, read and write timeout of the request.
  std::chrono::milliseconds timeout{60'000};
  /// Largest body accepted.
  std::size_t max_body = std::size_t{256} << 20;
  /// https only: skip certificate verification (labs only), or trust this PEM file instead of the system store.
  bool insecure_tls = false;
  std::string ca_file;
  /// Sent as "Authorization: Bearer <token>" when not empty (an admin listener, docs/operations.md). Never logged.
  std::string bearer_token;
};

/// GETs `url` ("http://host[:port]/path[?query]", https when built with TLS) and returns the body of a 200 answer.
/// Redirects are not followed. Error(MessageBodyError) for a malformed URL; Error(InternalServerError,
/// ErrorSource::Transport) saying what failed for no connection, a status other than 200 or a body over max_body.
Bytes http_get(std::string_view url, const FetchOptions& options = {});

/// The answer to http_post().
struct PostAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

/// POSTs `body` as `content_type` to `url` ("http(s)://host[:port]/path"), trusting and identifying as `options`
/// says (CA file, pins, the client certificate of mutual TLS); answers of at most options.max_body bytes. Any
/// HTTP status is returned. Error(MessageBodyError) for a malformed URL; Error(InternalServerError,
/// ErrorSource::Transport) saying what failed when no answer came (no connection, a refused handshake).
PostAnswer http_post(std::string_view url, std::string_view content_type, std::string_view body,
                     const HttpClientOptions& options);

}  // namespace fdo::transport
