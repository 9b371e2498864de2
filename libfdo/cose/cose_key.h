#pragma once
// COSE_Key for EC public keys, the pkBody of PublicKey pkEnc COSEKEY (FDO 1.1 §3.3.4, RFC 9053 §7.1.1).

#include <cstdint>
#include <optional>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/crypto/keys.h"

namespace fdo::cose {

/// COSE_Key labels and values used for EC2 keys (RFC 9052 §7.1, RFC 9053 §7.1).
inline constexpr std::int64_t kKeyLabelKty = 1;
inline constexpr std::int64_t kKeyLabelCrv = -1;
inline constexpr std::int64_t kKeyLabelX = -2;
inline constexpr std::int64_t kKeyLabelY = -3;
inline constexpr std::int64_t kKtyEc2 = 2;

/// COSE elliptic curves FDO uses (RFC 9053 §7.1).
enum class CoseCurve : std::int64_t {
  P256 = 1,
  P384 = 2,
};
/// The curve of an EC key type; nullopt for RSA.
std::optional<CoseCurve> cose_curve_for(crypto::KeyType type);

/// Writes `{1: 2, -1: crv, -2: x, -3: y}` with x and y at the field size (32 / 48 bytes).
/// Throws Error(InternalServerError) for an RSA key: FDO defines COSEKEY for EC keys only.
void write_cose_key(cbor::Writer& out, const crypto::PublicKey& key);
/// The encoding written by write_cose_key.
Bytes encode_cose_key(const crypto::PublicKey& key);

/// Reads a COSE_Key EC2 map: crv, x and y, with or without kty (which must then be 2); any other label,
/// a missing entry, or an unknown curve gives Error(MessageBodyError). x and y must be exactly the field
/// size; shorter ones, or one extra leading 0x00, are accepted only under
/// Quirk::CoseKeyCoordinateLength (docs/interop.md "cose-key-coordinates"). A point not on the curve gives
/// Error(MessageBodyError).
crypto::PublicKey read_cose_key(cbor::Reader& in, const Leniency& leniency = {});
/// Decodes `in`, which must be exactly one COSE_Key.
crypto::PublicKey decode_cose_key(ByteView in, const Leniency& leniency = {});

}  // namespace fdo::cose
