#pragma once
// The FDO HTTP binding rules, independent of any HTTP library (FDO 1.1 §4.3; docs/interop.md "http-paths" to
// "http-limits"): message paths, the headers we read and write, the Authorization token form, size limits,
// and the server- and client-side interpretation shared by the HTTP and loopback transports.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/quirks.h"
#include "libfdo/core/bytes.h"
#include "libfdo/transport/responder.h"

namespace fdo::transport {

/// protver in the URL, FDO 1.1 §4.3: major × 100 + minor.
inline constexpr std::uint16_t kProtocolVersion = 101;
/// Every FDO message is POSTed to this prefix followed by the decimal type (FDO 1.1 §4.3).
inline constexpr std::string_view kMessagePathPrefix = "/fdo/101/msg/";
/// The only Content-Type we send and accept for message bodies (FDO 1.1 §4.3).
inline constexpr std::string_view kCborContentType = "application/cbor";
/// Largest body sent or accepted: msglen is a uint16, FDO 1.1 §3.2.
inline constexpr std::size_t kMaxBody = 65535;
/// The ErrorMessage type, FDO 1.1 §5.1.
inline constexpr std::uint8_t kErrorMessageType = 255;
/// Per-request client timeout (docs/interop.md "http-limits").
inline constexpr std::chrono::milliseconds kDefaultTimeout{30'000};
/// Timeout for a client's 255 POST (docs/interop.md "http-limits", as go-fdo).
inline constexpr std::chrono::milliseconds kErrorTimeout{5'000};

/// HTTP header fields in order; names compare case-insensitively.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// Largest declared Content-Length a server reads and discards to keep the connection usable after refusing
/// the body; a larger one is answered at once and the connection closed (docs/security.md "Content-Length").
inline constexpr std::uint64_t kMaxDrain = std::uint64_t{4} << 20;

/// All values of header `name` (case-insensitive), in order.
std::vector<std::string_view> header_values(const HeaderList& headers, std::string_view name);

/// Parses a decimal message type 0-255: digits only, no sign, no leading zeros.
std::optional<std::uint8_t> parse_message_type(std::string_view decimal);

/// "/fdo/101/msg/{type}" for a message type (FDO 1.1 §4.3).
std::string message_path(std::uint8_t msg_type);

/// The type in a request target of exactly the form "/fdo/101/msg/{type}" (no query, no
/// trailing segment, no leading zeros, 0-255); nullopt for any other target (answered 404).
std::optional<std::uint8_t> parse_message_path(std::string_view target);

/// Whether the Content-Type values are exactly one "application/cbor" (case-insensitive, no
/// parameters), as conformance and fdo-rs require (FDO 1.1 §4.3).
bool is_cbor_content_type(const std::vector<std::string_view>& values);

/// Why the header fields of a request cannot be served, or "" (docs/security.md "Header fields"): a name
/// that is not an RFC 9110 §5.1 token, or a value with a control character other than HTAB (NUL, CR, LF,
/// DEL included), RFC 9110 §5.5.
std::string header_field_problem(const HeaderList& headers);

/// How a request's headers frame its body, read before any of the body (RFC 9112 §6.3).
struct BodyFraming {
  /// Why the framing cannot be trusted, or "": a Content-Length that is not 1*DIGIT or does not fit 64 bits
  /// (RFC 9110 §8.6), Content-Length values that differ, or Content-Length together with
  /// Transfer-Encoding (RFC 9112 §6.3). Repeated equal values are one value.
  std::string problem;
  /// The declared length, when Content-Length was sent and is valid.
  std::optional<std::uint64_t> content_length;
  /// Transfer-Encoding was sent (a message request with it is refused with 411, see serve_message).
  bool chunked = false;
};

/// Reads the Content-Length and Transfer-Encoding fields of a request.
BodyFraming read_body_framing(const HeaderList& headers);

/// Whether the request names a content coding other than "identity" (answered 415, FDO 1.1 §4.3).
bool has_content_coding(const HeaderList& headers);

/// Whether `token` is a non-empty RFC 7235 token68 (what may follow "Bearer ").
bool is_token68(std::string_view token);

/// The Authorization header of a request, as the server reads it (FDO 1.1 §4.3; docs/interop.md "bearer-token").
struct Authorization {
  /// At least one Authorization header was sent.
  bool present = false;
  /// Present but not exactly one "Bearer <token68>" (the scheme as written, one space; another case of
  /// "Bearer" only under Quirk::BearerSchemeCase).
  bool malformed = false;
  /// The token after "Bearer ", when well formed.
  std::optional<std::string> token;
};

/// Reads the Authorization header values of a request.
Authorization parse_authorization(const std::vector<std::string_view>& values, const Leniency& leniency = {});

/// "Bearer <token>", the Authorization value a server sends (FDO 1.1 §4.3).
std::string bearer_value(std::string_view token);

/// A message request as received, before the binding's checks (server side).
struct InboundMessage {
  /// The type from the path.
  std::uint8_t msg_type{};
  /// The request headers (Content-Type, Content-Encoding, Authorization are read).
  HeaderList headers;
  /// The body; empty when it was too large.
  Bytes body;
  /// The body exceeded the limit and was discarded.
  bool body_too_large = false;
  /// False when the request had no Content-Length (chunked or no length at all).
  bool length_known = true;
  /// Remote address for logs.
  std::string peer;
};

/// Applies the server-side binding rules and asks `responder` for the answer
/// (FDO 1.1 §4.3; docs/interop.md "http-content-length", "http-limits"): no Content-Length → 411, body over `max_body`
/// → 500, Content-Type not exactly application/cbor or any Content-Encoding → 415, each with the
/// responder's reject() ErrorMessage (code 100); otherwise handle(). A throwing responder or an
/// answer over `max_body` becomes a reject() with code 500. Never throws.
/// `leniency` may accept Quirk::BearerSchemeCase.
Response serve_message(Responder& responder, const InboundMessage& message, std::size_t max_body,
                       const Leniency& leniency = {});

/// The HTTP form of a server answer; Content-Length is left to the HTTP layer.
struct HttpAnswer {
  int status = 200;
  HeaderList headers;
  Bytes body;
};

/// Headers for a Response (FDO 1.1 §4.3; docs/interop.md "http-errors"): every answer carries Content-Type
/// and Message-Type; a 200 that is not a 255 adds "Authorization: Bearer <token>"; a 255 never
/// carries Authorization and goes out as 500 unless its status is already 4xx/5xx; the 200
/// acknowledging a client's 255 (empty body) is an empty 200 without headers.
HttpAnswer to_http_answer(const Response& response);

/// An HTTP response as the client sees it (FDO 1.1 §4.3).
struct ClientResponse {
  int status = 0;
  /// Message-Type when it is exactly one valid decimal type.
  std::optional<std::uint8_t> msg_type;
  /// The Authorization value verbatim (e.g. "Bearer abc"), the first when repeated.
  std::optional<std::string> authorization;
  /// The Content-Type value, the first when repeated.
  std::optional<std::string> content_type;
  Bytes body;
};

/// Reads the FDO headers of an HTTP response.
ClientResponse to_client_response(int status, const HeaderList& headers, Bytes body);

}  // namespace fdo::transport
