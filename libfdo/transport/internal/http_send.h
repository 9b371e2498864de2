#pragma once
// One POST over a configured cpp-httplib client, shared by HttpClient (FDO messages) and http_post (the platform
// readings): the answer's body collected up to a bound, and every failure turned into one Error that says why.

#include <httplib.h>

#include <chrono>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/url.h"
#include "libfdo/transport/internal/tls_client.h"

namespace fdo::transport::internal {

/// Sends `request` (its method, path, headers and body set) on `client` within `wait`; the answer's status and
/// headers go to `response`, its body is returned. Error(transport) when the connection, the TLS handshake (with the
/// pin or client-certificate refusal that caused it) or the exchange fails; Error(MessageBodyError) when the body
/// exceeds `max_body` bytes (the rest is not read). `where` names the target in messages ("http://h:p/fdo/101/msg/10").
Bytes send_collect(httplib::ClientImpl& client, TlsClientState& tls, const Url& base, httplib::Request& request,
                   std::string_view where, std::chrono::milliseconds wait, std::size_t max_body,
                   httplib::Response& response);

}  // namespace fdo::transport::internal
