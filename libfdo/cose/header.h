#pragma once
// COSE header pieces shared by Sign1, Mac0 and Encrypt0 (RFC 9052 §3, FDO 1.1 §3.3): the labels FDO
// uses, the unprotected header map, the `{1: alg}` protected header and the CBOR tag check.

#include <cstdint>
#include <map>
#include <string_view>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"

namespace fdo::cose {

/// Header labels FDO uses (FDO 1.1 §3.3, RFC 9052 §3.1).
inline constexpr std::int64_t kLabelAlg = 1;
inline constexpr std::int64_t kLabelIv = 5;
/// TO2.ProveOVHdr unprotected: NonceTO2ProveDv.
inline constexpr std::int64_t kLabelCuphNonce = 256;
/// TO2.ProveOVHdr unprotected: the owner's PublicKey.
inline constexpr std::int64_t kLabelCuphOwnerPubKey = 257;
/// EAT unprotected: ROE-specific prefix.
inline constexpr std::int64_t kLabelEatMaroePrefix = -258;
/// TO2.ProveDevice unprotected: NonceTO2SetupDv.
inline constexpr std::int64_t kLabelEuphNonce = -259;

/// Orders integer labels the way RFC 8949 §4.2.1 orders their encodings: 0, 1, …, then -1, -2, ….
struct LabelOrder {
  bool operator()(std::int64_t a, std::int64_t b) const {
    if ((a >= 0) != (b >= 0)) {
      return a >= 0;
    }
    return a >= 0 ? a < b : a > b;
  }
};

/// An unprotected header: integer label → the value's complete CBOR encoding (as received or built),
/// kept in deterministic order. RFC 9052 §3 `header_map`; FDO uses integer labels only.
using HeaderMap = std::map<std::int64_t, Bytes, LabelOrder>;

/// The protected header content `{1: alg}` (the bytes inside the protected bstr; FDO 1.1 §3.3).
Bytes encode_protected_alg(std::int64_t alg);

/// Decodes protected-header bstr content that must be exactly `{1: alg}` (FDO 1.1 §3.3) and returns
/// alg; any other shape throws Error(MessageBodyError) naming `context`.
std::int64_t decode_protected_alg(ByteView protected_bytes, std::string_view context);

/// Writes an unprotected header map in deterministic order.
void write_header_map(cbor::Writer& out, const HeaderMap& map);

/// Reads an unprotected header map: integer labels, each once; values kept as their raw encoding.
HeaderMap read_header_map(cbor::Reader& in, std::string_view field);

/// Consumes COSE tag `tag` (RFC 9052 §2). An untagged array is accepted only when `leniency` allows
/// Quirk::UntaggedCose (logged); otherwise, or for any other tag, throws Error(MessageBodyError).
void read_cose_tag(cbor::Reader& in, std::uint64_t tag, std::string_view name, const Leniency& leniency);

}  // namespace fdo::cose
