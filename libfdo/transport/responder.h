#pragma once
// The server side of a message exchange, as the transport sees it (FDO 1.1 §4.3).
// The protocol dispatcher implements Responder; the transport never reads message contents.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"

namespace fdo::transport {

/// One inbound FDO message after the HTTP checks, FDO 1.1 §4.3.
struct Request {
  /// The message type from the path /fdo/101/msg/{type}; may be a type nobody implements.
  std::uint8_t msg_type{};
  /// The token: the part after "Bearer " when the Authorization header is exactly "Bearer <token>".
  std::optional<std::string> token;
  /// Whether the request carried an Authorization header at all.
  bool authorization_present = false;
  /// Present but not exactly one "Bearer <token>" (e.g. "Basic abc", a bare token, "Bearer").
  bool authorization_malformed = false;
  /// The body, at most the server's size limit, never interpreted here.
  Bytes body;
  /// The remote address, for logs.
  std::string peer;
};

/// The answer to a Request, FDO 1.1 §4.3.
struct Response {
  /// The response type, sent as Message-Type; 255 for an ErrorMessage.
  std::uint8_t msg_type{};
  /// The CBOR body; empty only for the 200 acknowledging a client's 255.
  Bytes body;
  /// The run's token; sent as "Authorization: Bearer <token>" on a 200 that is not a 255.
  std::optional<std::string> token;
  /// 200 for a message, 500 for an ErrorMessage (the transport may override it, e.g. 415).
  int http_status = 200;
};

/// Server-side message handler, implemented by the protocol dispatcher. FDO 1.1 §4.3, §5.1.
/// Called concurrently from the server's worker threads, so implementations must be thread-safe.
class Responder {
 public:
  virtual ~Responder() = default;

  /// Handles one message that passed the HTTP checks. Must not throw: errors become a 255
  /// Response (http_status 500); a client's 255 is acknowledged with {255, empty body, 200}.
  virtual Response handle(const Request& request) = 0;

  /// Builds the ErrorMessage (255) for a failure the transport found before handle() (wrong
  /// Content-Type, oversize body, missing length) and drops the token's session, FDO 1.1 §5.1.
  /// `msg_type` is the request's type (EMPrevMsgID); `reason` is safe to send.
  virtual Response reject(std::uint8_t msg_type, std::optional<std::string> token, ErrorCode code,
                          std::string_view reason) = 0;
};

}  // namespace fdo::transport
