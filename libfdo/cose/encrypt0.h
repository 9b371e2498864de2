#pragma once
// COSE_Encrypt0 as FDO uses it: the TO2 encrypted message body (FDO 1.1 §4.4, RFC 9052 §5.2) and the
// inner block of the encrypt-then-MAC suites.

#include <cstdint>
#include <string_view>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/cose/header.h"
#include "libfdo/cose/mac0.h"
#include "libfdo/crypto/kdf.h"

namespace fdo::cose {

/// The CBOR encoding of Enc_structure = ["Encrypt0", protected, external_aad] (RFC 9052 §5.3): the AAD
/// of the AEAD suites. For A128GCM it is `83 68 45 6E 63 72 79 70 74 30 43 A1 01 01 40` (RFC 9052 §5.3).
Bytes enc_structure(ByteView protected_bytes, ByteView external_aad = {});

/// A COSE_Encrypt0 (FDO 1.1 §4.4):
///   EMBlock = #6.16([protected: bstr .cbor {1: AESPlainType}, unprotected: {5: AESIV}, ciphertext: bstr])
/// ETMInnerBlock is the same array without the tag, inside a COSE_Mac0 payload.
class Encrypt0 {
 public:
  /// COSE_Encrypt0_Tagged.
  static constexpr std::uint64_t kTag = 16;

  /// Assembles an Encrypt0 from its parts: protected `{1: alg}` (alg = the cipherSuiteName),
  /// unprotected `{5: iv}`, and the ciphertext (with its AEAD tag appended for GCM/CCM).
  static Encrypt0 make(std::int64_t alg, ByteView iv, ByteView ciphertext);

  /// Encrypts `plaintext` with an AEAD suite (GCM / CCM) under SEVK: a fresh random nonce of the suite's
  /// size, AAD = Enc_structure (FDO 1.1 §4.4). Error(InternalServerError) for a CTR/CBC suite.
  static Encrypt0 encrypt(crypto::CipherSuite suite, const SecretBytes& sevk, ByteView plaintext);
  /// Same with a caller-chosen nonce (test vectors); Error(MessageBodyError) for a wrong nonce size.
  static Encrypt0 encrypt(crypto::CipherSuite suite, const SecretBytes& sevk, ByteView plaintext, ByteView iv);
  /// Decrypts an AEAD message (FDO 1.1 §4.4): a protected alg other than `suite` is
  /// Error(InvalidMessageError), a wrong IV length Error(MessageBodyError), an authentication failure
  /// Error(InvalidMessageError) that does not say which step failed.
  [[nodiscard]] Bytes decrypt(crypto::CipherSuite suite, const SecretBytes& sevk) const;

  /// Reads one tagged COSE_Encrypt0 (untagged only under Quirk::UntaggedCose). The protected header
  /// must be exactly `{1: alg}` and the unprotected header must hold an IV (label 5) as a bstr.
  static Encrypt0 decode(cbor::Reader& in, const Leniency& leniency = {});
  /// Decodes `in`, which must be exactly one tagged COSE_Encrypt0.
  static Encrypt0 decode(ByteView in, std::string_view context = "COSE_Encrypt0", const Leniency& leniency = {});
  /// Reads the untagged ETMInnerBlock form (FDO 1.1 §4.4); a tag is an error here.
  static Encrypt0 decode_untagged(cbor::Reader& in);

  /// Tagged encoding (tag 16).
  [[nodiscard]] Bytes encode() const;
  void encode(cbor::Writer& out) const;
  /// The untagged array (ETMInnerBlock).
  [[nodiscard]] Bytes encode_untagged() const;

  /// The AAD of this message: Enc_structure over the protected bytes as held, empty external_aad.
  [[nodiscard]] Bytes enc_structure() const;

  [[nodiscard]] ByteView protected_bytes() const { return m_protected; }
  /// The protected alg id as received (the cipherSuiteName).
  [[nodiscard]] std::int64_t alg() const { return m_alg; }
  [[nodiscard]] const HeaderMap& unprotected() const { return m_unprotected; }
  /// The IV / nonce (unprotected label 5).
  [[nodiscard]] ByteView iv() const { return m_iv; }
  [[nodiscard]] ByteView ciphertext() const { return m_ciphertext; }

 private:
  Encrypt0(Bytes protected_bytes, std::int64_t alg, HeaderMap unprotected, Bytes iv, Bytes ciphertext);
  static Encrypt0 read_body(cbor::Reader& in);
  void write_body(cbor::Writer& out) const;

  Bytes m_protected;
  std::int64_t m_alg;
  HeaderMap m_unprotected;
  Bytes m_iv;
  Bytes m_ciphertext;
};

/// Encrypt-then-MAC (FDO 1.1 §4.4) for the CTR/CBC suites: the plaintext is encrypted with SEK and `iv`
/// (16 bytes; no AAD) into an untagged Encrypt0 with alg = the suite id, which becomes the payload of a
/// Mac0 {1: 5 or 6} MACed with SVK over MAC_structure. Error(InternalServerError) for an AEAD suite.
Mac0 etm_encrypt(crypto::CipherSuite suite, const crypto::SessionKeys& keys, ByteView plaintext, ByteView iv);
/// Verifies and decrypts an ETM message (FDO 1.1 §4.4): the MAC is checked first (constant time); the
/// outer alg must be the suite's HMAC and the inner alg the suite (else Error(InvalidMessageError)); a
/// malformed inner block or wrong IV length is Error(MessageBodyError); MAC or padding failure
/// Error(InvalidMessageError).
Bytes etm_decrypt(const Mac0& message, crypto::CipherSuite suite, const crypto::SessionKeys& keys);

}  // namespace fdo::cose
