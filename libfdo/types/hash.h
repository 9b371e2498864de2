#pragma once
// Hash and HMac, FDO 1.1 §3.3.1.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/hash.h"

namespace fdo {

/// hashtype values; they are the COSE algorithm ids (FDO 1.1 §3.3).
enum class HashType : std::int64_t {
  Sha256 = -16,
  Sha384 = -43,
  HmacSha256 = 5,
  HmacSha384 = 6,
};

/// Which hashtypes a decoder accepts for a field.
enum class HashKind {
  /// Any of the four.
  Any,
  /// SHA256 / SHA384 only (OVDevCertChainHash, OVEHashPrevEntry, DCPubKeyHash, …).
  Digest,
  /// HMAC-SHA256 / HMAC-SHA384 only (OVHeaderHMac, DI.SetHMAC, ReplacementHMac).
  Hmac,
};

/// Maps a wire hashtype to HashType; nullopt for any other value.
std::optional<HashType> hash_type_from_id(std::int64_t id);
/// Digest length: 32 for -16 and 5, 48 for -43 and 6.
std::size_t hash_type_size(HashType type);
/// True for HMAC-SHA256 / HMAC-SHA384.
bool is_hmac(HashType type);
/// The SHA-2 function under the hashtype.
crypto::HashAlg hash_alg_of(HashType type);
/// "SHA256", "SHA384", "HMAC-SHA256", "HMAC-SHA384" (the spec's names).
std::string_view hash_type_name(HashType type);
/// SHA256 / SHA384 for a hash function.
HashType hash_type_for(crypto::HashAlg alg);
/// HMAC-SHA256 / HMAC-SHA384 for a hash function.
HashType hmac_type_for(crypto::HashAlg alg);

/// A hash or HMAC value with its type.
///   Hash = [hashtype: int, hash: bstr];  HMac = Hash
/// The length always matches the type (checked on construction and decode).
class Hash {
 public:
  /// SHA256 of nothing in particular: 32 zero bytes, so aggregates holding a Hash can be default-built.
  Hash();
  /// Throws Error(MessageBodyError) if `value` does not have the length of `type`.
  Hash(HashType type, Bytes value);

  /// The digest of `data` (SHA types only; an HMAC type throws Error(InternalServerError)).
  static Hash compute(HashType type, ByteView data);
  /// The HMAC of `data` keyed by `key` (HMAC types only; a SHA type throws Error(InternalServerError)).
  static Hash compute_hmac(HashType type, const SecretBytes& key, ByteView data);

  /// Reads a Hash; rejects a hashtype outside `kind` and a length that does not match its hashtype,
  /// with Error(MessageBodyError) naming `field` (docs/interop.md "hashtype-strict").
  static Hash decode(cbor::Reader& in, std::string_view field = "Hash", HashKind kind = HashKind::Any);
  /// Decodes `in`, which must be exactly one Hash.
  static Hash decode(ByteView in, std::string_view field = "Hash", HashKind kind = HashKind::Any);

  void encode(cbor::Writer& out) const;
  [[nodiscard]] Bytes encode() const;

  [[nodiscard]] HashType type() const { return m_type; }
  [[nodiscard]] ByteView value() const { return m_value; }
  /// Lower-case hex of the value.
  [[nodiscard]] std::string hex() const;

  /// Whether this (SHA) hash is the digest of `data`, compared in constant time. False for HMAC types.
  [[nodiscard]] bool matches(ByteView data) const;
  /// Whether this (HMAC) value is the HMAC of `data` under `key`, compared in constant time.
  /// False for SHA types.
  [[nodiscard]] bool verify_hmac(const SecretBytes& key, ByteView data) const;

  /// Same type and value (value compared in constant time).
  bool operator==(const Hash& other) const;

 private:
  HashType m_type;
  Bytes m_value;
};

/// HMac = Hash (FDO 1.1 §3.3.1): an HMAC value carries an HMAC hashtype.
using HMac = Hash;

}  // namespace fdo
