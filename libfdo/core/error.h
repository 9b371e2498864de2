#pragma once
// The one exception type of libfdo, carrying the FDO error code (FDO 1.1 §5.1.1.1, docs/style.md §4).

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace fdo {

/// FDO error codes, FDO 1.1 §5.1.1.1. Values are the wire values.
enum class ErrorCode : std::uint16_t {
  /// Token missing, unknown, expired or of another protocol. Any non-first message.
  InvalidJwtToken = 1,
  /// A voucher verification check failed. TO0.OwnerSign.
  InvalidOwnershipVoucher = 2,
  /// to1d does not verify with the last owner key. TO0.OwnerSign.
  InvalidOwnerSignBody = 3,
  /// Bytes are not a valid IPv4/IPv6 address. TO0.OwnerSign.
  InvalidIpAddress = 4,
  /// Bytes are not a proper GUID. TO0.OwnerSign.
  InvalidGuid = 5,
  /// No owner information for this GUID. TO1.HelloRV, TO2.HelloDevice.
  ResourceNotFound = 6,
  /// Body structurally unsound: CBOR error or wrong shape. Any message.
  MessageBodyError = 100,
  /// Well formed but a check failed (nonce, signature, hash, state). Any message.
  InvalidMessageError = 101,
  /// The device refuses credential reuse. TO2.SetupDevice (device side).
  CredReuseError = 102,
  /// Our bug, storage or environment failure.
  InternalServerError = 500,
};

/// The spec's name of an error code ("MESSAGE_BODY_ERROR"); "UNKNOWN" for others.
std::string_view error_code_name(ErrorCode code);

/// Where an error arose, so that a client reports what happened instead of a code nobody sent: a check or the
/// environment here (Local), the peer's ErrorMessage (Peer: the code is the peer's), or the way to the peer (Transport:
/// no connection, no answer, TLS, an HTTP answer that is not FDO; the code is only what a server would reply).
enum class ErrorSource : std::uint8_t { Local, Peer, Transport };

/// The only exception type libfdo throws: a message plus the FDO error code it maps to, and where it arose.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& what, ErrorSource source = ErrorSource::Local)
      : std::runtime_error(what), m_code(code), m_source(source) {}
  [[nodiscard]] ErrorCode code() const noexcept { return m_code; }
  [[nodiscard]] ErrorSource source() const noexcept { return m_source; }

 private:
  ErrorCode m_code;
  ErrorSource m_source;
};

/// Throws Error(MessageBodyError, what).
[[noreturn]] void throw_body_error(const std::string& what);
/// Throws Error(InvalidMessageError, what).
[[noreturn]] void throw_invalid(const std::string& what);
/// Throws Error(InternalServerError, what).
[[noreturn]] void throw_internal(const std::string& what);
/// Throws Error(code, what, ErrorSource::Transport): the peer could not be reached or did not answer in FDO.
[[noreturn]] void throw_transport(const std::string& what, ErrorCode code = ErrorCode::InternalServerError);

}  // namespace fdo
