#pragma once
// The error message, type 255 (FDO 1.1 §5.1).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"

namespace fdo {

/// ErrorMessage, type 255: either side ends a protocol run with it. FDO 1.1 §5.1.
/// ```
/// ErrorMessage = [
///     EMErrorCode: uint16,        ;; Error code
///     EMPrevMsgID: uint8,         ;; Message ID of the previous message
///     EMErrorStr:  tstr,          ;; Error string
///     EMErrorTs:   timestamp,     ;; null / UTCStr / UTCInt / TIME_T
///     EMErrorCID:  correlationId  ;; uint
/// ]
/// ```
struct ErrorMessage {
  static constexpr std::uint8_t kType = 255;
  static constexpr std::string_view kName = "ErrorMessage";

  std::uint16_t em_error_code{};
  std::uint8_t em_prev_msg_id{};
  std::string em_error_str;
  /// Unix seconds; nullopt when the peer sent null or a form we keep only as text.
  std::optional<std::uint64_t> em_error_ts;
  /// Correlation id; nullopt when the peer sent null.
  std::optional<std::uint64_t> em_error_cid;

  /// The spec's code as our enum (unknown codes map to no enum value but are kept in em_error_code).
  [[nodiscard]] ErrorCode code() const { return static_cast<ErrorCode>(em_error_code); }

  /// [code, prev, str, <bare uint seconds>, <uint cid, 0 when none>]: the form every known
  /// implementation decodes (docs/interop.md "errormessage-timestamp").
  [[nodiscard]] Bytes encode() const;
  /// Lenient reader (FDO 1.1 §5.1, docs/interop.md "errormessage-timestamp"): EMErrorTs null, bare uint, #6.0(tstr) or
  /// #6.1(uint); EMErrorCID null or uint; any error code. Throws Error(MessageBodyError) otherwise.
  static ErrorMessage decode(ByteView body);

  /// An error for `error`, answering a message of type `prev_msg_id`, stamped now.
  static ErrorMessage from_error(const Error& error, std::uint8_t prev_msg_id, std::uint64_t correlation_id);
  /// "MESSAGE_BODY_ERROR (100) answering 10: <text>", for logs and CLI output.
  [[nodiscard]] std::string describe() const;
};

}  // namespace fdo
