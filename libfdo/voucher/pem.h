#pragma once
// PEM framing of Ownership Vouchers (RFC 7468; docs/voucher.md "PEM files"): "-----BEGIN OWNERSHIP VOUCHER-----",
// base64 of the whole CBOR OwnershipVoucher. Read tolerantly (LF or CRLF, several blocks, other labels skipped, raw
// CBOR), written strictly (LF, 64 columns, final newline).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"

namespace fdo::voucher {

/// The PEM label of a voucher block (docs/voucher.md "PEM files").
inline constexpr std::string_view kPemLabel = "OWNERSHIP VOUCHER";

/// One voucher read from a file, with the private-key block that followed it, if any: the conformance
/// tools' bundle is a voucher block followed by the owner's PRIVATE KEY block
/// (docs/interop.md "voucher-key-bundle").
struct VoucherInput {
  /// The CBOR OwnershipVoucher, exactly as decoded from base64 (or the raw file).
  Bytes cbor;
  /// The complete PEM text ("-----BEGIN … PRIVATE KEY-----" … END line) of a private-key block that
  /// directly followed the voucher block; secret, never printed.
  std::optional<SecretBytes> private_key_pem;
  /// 1-based position of the voucher in the file, for messages.
  std::size_t index = 1;
};

/// Reads every voucher in `file` (docs/voucher.md "PEM files"). Input that does not start with
/// "-----BEGIN" (after leading whitespace) is one raw CBOR voucher, kept byte for byte. Otherwise each PEM block
/// labelled OWNERSHIP VOUCHER is one voucher; LF or CRLF and whitespace around lines are accepted; blocks
/// with other labels are skipped, except that a "PRIVATE KEY", "EC PRIVATE KEY" or "RSA PRIVATE KEY"
/// block directly after a voucher is attached to it. Throws Error(MessageBodyError) for broken PEM
/// framing or base64, and when no voucher block is found (naming the labels that were found).
std::vector<VoucherInput> read_vouchers(ByteView file);

/// The PEM form of one voucher: LF line ends, 64 base64 characters per line, final newline
/// (docs/voucher.md "PEM files").
std::string to_pem(ByteView voucher_cbor);

}  // namespace fdo::voucher
