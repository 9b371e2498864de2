#pragma once
// Asymmetric keys and signatures on OpenSSL 3 EVP (FDO 1.1 §3.3): EC P-256/P-384 with COSE raw
// r‖s signatures, RSA-2048/3072 with PKCS#1 v1.5 and PSS.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/hash.h"

namespace fdo::crypto {

/// Key families FDO uses (FDO 1.1 §3.3).
enum class KeyType { P256, P384, Rsa2048, Rsa3072 };

/// "p256", "p384", "rsa2048", "rsa3072".
std::string_view key_type_name(KeyType type);
/// Parses the names above; nullopt for anything else.
std::optional<KeyType> parse_key_type(std::string_view name);
/// True for P256/P384.
bool is_ec(KeyType type);
/// SHA-384 for P-384 and RSA-3072, else SHA-256 (the hash family, docs/voucher.md "Which hash algorithm").
HashAlg hash_family(KeyType type);

/// COSE signature algorithms FDO uses; values are the COSE ids (FDO 1.1 §3.3).
enum class SigAlg : int {
  ES256 = -7,
  ES384 = -35,
  PS256 = -37,
  PS384 = -38,
  RS256 = -257,
  RS384 = -258,
};
/// Maps a COSE alg id to SigAlg; nullopt for unsupported ids.
std::optional<SigAlg> sig_alg_from_id(std::int64_t id);
/// "ES256", …
std::string_view sig_alg_name(SigAlg alg);
/// The hash inside the signature algorithm.
HashAlg sig_alg_hash(SigAlg alg);
/// Default alg for a key: ES256/ES384, RS256 for RSA-2048, RS384 for RSA-3072.
SigAlg default_sig_alg(KeyType type);
/// Whether `alg` may be used with a key of `type` (curve for ES*, RSA size for RS*/PS*:
/// RS256/PS256 for 2048, RS384/PS384 for 3072).
bool sig_alg_suits(SigAlg alg, KeyType type);

/// A public key (EC P-256/P-384 or RSA 2048/3072). Copyable (shared, immutable).
class PublicKey {
 public:
  /// From DER SubjectPublicKeyInfo; throws Error(MessageBodyError) if it does not parse or is
  /// not one of the four supported key types.
  static PublicKey from_spki_der(ByteView der);
  /// From a PEM "PUBLIC KEY" block, or the key of a PEM "CERTIFICATE"; throws Error otherwise.
  static PublicKey from_pem(std::string_view pem);
  /// From affine EC coordinates (big-endian, any length up to the field size); checks the
  /// point is on the curve. Throws Error(MessageBodyError) otherwise.
  static PublicKey from_ec_point(KeyType curve, ByteView x, ByteView y);
  /// From RSA modulus and public exponent (big-endian unsigned).
  static PublicKey from_rsa(ByteView modulus, ByteView exponent);

  [[nodiscard]] KeyType type() const;
  /// DER SubjectPublicKeyInfo (X509 pkBody).
  [[nodiscard]] Bytes spki_der() const;
  /// PEM "PUBLIC KEY".
  [[nodiscard]] std::string to_pem() const;
  /// EC only: x and y, each left-padded to the field size (32/48 bytes).
  [[nodiscard]] Bytes ec_x() const;
  [[nodiscard]] Bytes ec_y() const;
  /// RSA only: modulus and exponent, minimal big-endian.
  [[nodiscard]] Bytes rsa_modulus() const;
  [[nodiscard]] Bytes rsa_exponent() const;
  /// Verifies a COSE-form signature (raw r‖s for ES*, PKCS#1 v1.5 / PSS with salt = hash length).
  /// Returns false (never throws) for a wrong signature, wrong length, or an alg unsuited to the key.
  [[nodiscard]] bool verify(SigAlg alg, ByteView message, ByteView signature) const;
  /// Same key material (compares SPKI DER).
  [[nodiscard]] bool same_key(const PublicKey& other) const;

  struct Impl;
  explicit PublicKey(std::shared_ptr<const Impl> impl);
  [[nodiscard]] const Impl& impl() const { return *m_impl; }

 private:
  std::shared_ptr<const Impl> m_impl;
};

/// RSAES-OAEP encryption to an RSA public key, SHA-256 for OAEP and MGF1, empty label (FDO 1.1 §3.6).
Bytes rsa_oaep_encrypt(const PublicKey& key, ByteView plaintext);

/// A private key. Move-only; key material is never logged or printed.
class PrivateKey {
 public:
  /// Fresh key from the CSPRNG (RSA exponent 65537).
  static PrivateKey generate(KeyType type);
  /// From PEM ("PRIVATE KEY" PKCS#8, "EC PRIVATE KEY", "RSA PRIVATE KEY"); throws Error.
  static PrivateKey from_pem(std::string_view pem);
  /// From DER PKCS#8.
  static PrivateKey from_pkcs8_der(ByteView der);
  /// EC only: an ephemeral key pair from ec_key_pair_bytes() (scalar ‖ X ‖ Y, each the field width), built without
  /// OpenSSL's decoder framework. Meant for our own stored state (a TO2 session): only the lengths are checked.
  /// Error(InternalServerError) if the bytes do not make a key.
  static PrivateKey from_ec_key_pair_bytes(KeyType curve, ByteView bytes);

  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  [[nodiscard]] KeyType type() const;
  [[nodiscard]] PublicKey public_key() const;
  /// PKCS#8 PEM ("PRIVATE KEY"), unencrypted; write it with mode 0600.
  [[nodiscard]] SecretBytes to_pem() const;
  /// PKCS#8 DER.
  [[nodiscard]] SecretBytes to_pkcs8_der() const;
  /// EC only: scalar ‖ X ‖ Y, each left-padded to the field size (32/48 bytes), for from_ec_key_pair_bytes().
  [[nodiscard]] SecretBytes ec_key_pair_bytes() const;
  /// COSE-form signature: ES* gives raw r‖s (64/96 bytes); RS* PKCS#1 v1.5; PS* PSS salt = hash len.
  /// Throws Error(InternalServerError) if `alg` does not suit the key.
  [[nodiscard]] Bytes sign(SigAlg alg, ByteView message) const;
  /// Signs with default_sig_alg(type()).
  [[nodiscard]] Bytes sign(ByteView message) const { return sign(default_sig_alg(type()), message); }
  /// EC only: ECDH with `peer` (same curve); the shared x-coordinate at fixed field width
  /// (Shx, FDO 1.1 §3.6). Throws Error(InvalidMessageError) on a curve mismatch.
  [[nodiscard]] SecretBytes ecdh(const PublicKey& peer) const;
  /// RSA only: RSAES-OAEP decryption, SHA-256 for OAEP and MGF1, empty label (FDO 1.1 §3.6).
  /// Throws Error(InvalidMessageError) on any failure, without saying which step failed.
  [[nodiscard]] SecretBytes rsa_oaep_decrypt(ByteView ciphertext) const;

  struct Impl;
  explicit PrivateKey(std::unique_ptr<Impl> impl);
  [[nodiscard]] const Impl& impl() const { return *m_impl; }

 private:
  std::unique_ptr<Impl> m_impl;
};

}  // namespace fdo::crypto
