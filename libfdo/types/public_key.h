#pragma once
// PublicKey = [pkType, pkEnc, pkBody], FDO 1.1 §3.3.4.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"

namespace fdo {

/// pkType values, FDO 1.1 §3.3.4.
enum class PkType : std::uint8_t {
  /// RSA 2048 with restricted key/exponent (PKCS1 1.5 encoding).
  Rsa2048Restr = 1,
  /// RSA key, PKCS1 v1.5.
  RsaPkcs = 5,
  /// RSA key, PSS.
  RsaPss = 6,
  /// ECDSA secp256r1 = NIST-P-256 = prime256v1.
  Secp256r1 = 10,
  /// ECDSA secp384r1 = NIST-P-384.
  Secp384r1 = 11,
};

/// pkEnc values, FDO 1.1 §3.3.4.
enum class PkEnc : std::uint8_t {
  /// Crypto-specific (EPID); not supported by any modern implementation, rejected.
  Crypto = 0,
  /// DER SubjectPublicKeyInfo.
  X509 = 1,
  /// COSE x5chain: DER certificates, leaf first.
  X5Chain = 2,
  /// COSE_Key (EC keys).
  CoseKey = 3,
};

/// The spec's names: "RSA2048RESTR", "RSAPKCS", "RSAPSS", "SECP256R1", "SECP384R1".
std::string_view pk_type_name(PkType type);
/// The spec's names: "Crypto", "X509", "X5CHAIN", "COSEKEY".
std::string_view pk_enc_name(PkEnc enc);
/// The pkType our encoders give a key (docs/interop.md "public-key-forms"): SECP256R1 / SECP384R1 for EC;
/// RSA2048RESTR for a 2048-bit key with exponent 65537; RSAPKCS for other RSA keys.
PkType default_pk_type(const crypto::PublicKey& key);
/// Whether a key of `key_type` may be labelled `pk_type` (curve for EC; 2048 only for RSA2048RESTR;
/// 2048 or 3072 for RSAPKCS / RSAPSS).
bool pk_type_fits(PkType pk_type, crypto::KeyType key_type);

/// An FDO PublicKey. Keeps its complete CBOR encoding (as received, or as built) next to the decoded
/// key, so hashes and byte comparisons use the wire bytes (docs/style.md §5).
///   PublicKey = [pkType, pkEnc, pkBody]
///   pkBody: X509 bstr (SPKI DER) / X5CHAIN [+ bstr] (leaf first) / COSEKEY COSE_Key map
class PublicKey {
 public:
  /// Encodes `key` as `enc` (X509 or COSEKEY; X5CHAIN needs from_chain) with `type`, or
  /// default_pk_type(key). Throws Error(InternalServerError) for an unsuitable combination.
  static PublicKey from_key(const crypto::PublicKey& key, PkEnc enc = PkEnc::X509,
                            std::optional<PkType> type = std::nullopt);
  /// X5CHAIN from a leaf-first certificate chain; the key is the leaf's.
  static PublicKey from_chain(const std::vector<crypto::Certificate>& chain, std::optional<PkType> type = std::nullopt);

  /// Reads a PublicKey. Error(MessageBodyError) for an unknown pkType or pkEnc, pkEnc Crypto (0), a body
  /// that does not parse, or a key that does not fit its pkType (curve, RSA size). COSEKEY coordinates
  /// follow cose::read_cose_key and `leniency`.
  static PublicKey decode(cbor::Reader& in, const Leniency& leniency = {}, std::string_view field = "PublicKey");
  /// Decodes `in`, which must be exactly one PublicKey.
  static PublicKey decode(ByteView in, const Leniency& leniency = {}, std::string_view field = "PublicKey");

  [[nodiscard]] PkType pk_type() const { return m_type; }
  [[nodiscard]] PkEnc pk_enc() const { return m_enc; }
  /// The complete CBOR encoding, as received (what DCPubKeyHash and byte comparisons use).
  [[nodiscard]] ByteView raw() const { return m_raw; }
  /// Writes the held encoding verbatim.
  void encode(cbor::Writer& out) const;
  [[nodiscard]] Bytes encode() const { return m_raw; }

  /// The key: the SPKI (X509), the leaf certificate's key (X5CHAIN) or the COSE_Key point (COSEKEY).
  [[nodiscard]] const crypto::PublicKey& key() const { return m_key; }
  /// The certificates of an X5CHAIN key, leaf first; empty for other encodings.
  [[nodiscard]] const std::vector<crypto::Certificate>& certificates() const { return m_chain; }

  /// The voucher's one-key-type rule (FDO 1.1 §3.4.2): same pkType and same curve or RSA size.
  [[nodiscard]] bool same_type_as(const PublicKey& other) const;
  /// Same key material, whatever the encoding.
  [[nodiscard]] bool same_key(const PublicKey& other) const { return m_key.same_key(other.m_key); }
  /// Whether signatures with `alg` may be verified with this key: the alg suits the key
  /// (docs/interop.md "signature-alg-from-header") and, for RSAPKCS / RSA2048RESTR, is RS*; for RSAPSS, PS*.
  [[nodiscard]] bool suits(crypto::SigAlg alg) const;
  /// The alg we sign with for this key: ES256 / ES384, RS256 / RS384, PS256 / PS384 for RSAPSS.
  [[nodiscard]] crypto::SigAlg sig_alg() const;
  /// "SECP256R1 X509 (p256)" for logs and `show`.
  [[nodiscard]] std::string describe() const;

  /// Byte-identical encodings (what the C SDK compares; docs/interop.md "public-key-forms").
  bool operator==(const PublicKey& other) const { return m_raw == other.m_raw; }

 private:
  PublicKey(PkType type, PkEnc enc, Bytes raw, crypto::PublicKey key, std::vector<crypto::Certificate> chain);

  PkType m_type;
  PkEnc m_enc;
  Bytes m_raw;
  crypto::PublicKey m_key;
  std::vector<crypto::Certificate> m_chain;
};

}  // namespace fdo
