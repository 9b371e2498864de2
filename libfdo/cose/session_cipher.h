#pragma once
// The TO2 session cipher (FDO 1.1 §4.4): the encrypted message body of TO2.ProveDevice's answer (65)
// and of every message 66-71, for the device and the owner alike. Its state can be saved and restored,
// so the owner can keep it in the session record between HTTP requests.

#include <cstdint>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/kdf.h"

namespace fdo::cose {

/// One side's TO2 session encryption under the negotiated cipher suite (FDO 1.1 §3.6.5, §4.4):
///   GCM / CCM: EMBlock = COSE_Encrypt0_Tagged (tag 16), a fresh random nonce per message, under SEVK.
///   CTR / CBC: ETMOuterBlock = COSE_Mac0_Tagged (tag 17) over an untagged Encrypt0, SEK then SVK.
/// CTR IVs are a 12-byte random nonce chosen once per session followed by a 4-byte big-endian block
/// counter that starts at 0 and advances by each message's number of AES blocks (FDO 1.1 §3.6.5); CBC
/// takes a fresh random IV per message. The receiver always uses the IV the message carries.
/// Move-only; keys are never logged or printed.
class SessionCipher {
 public:
  /// `keys` as derive_session_keys(suite, ...) returns them; a key of another size is
  /// Error(InternalServerError).
  SessionCipher(crypto::CipherSuite suite, crypto::SessionKeys keys);
  /// The state saved by save(): suite, keys, CTR nonce and counter. Error(InternalServerError) if it does
  /// not decode.
  static SessionCipher restore(ByteView saved);

  SessionCipher(SessionCipher&&) noexcept = default;
  SessionCipher& operator=(SessionCipher&&) noexcept = default;
  SessionCipher(const SessionCipher&) = delete;
  SessionCipher& operator=(const SessionCipher&) = delete;
  ~SessionCipher() = default;

  [[nodiscard]] crypto::CipherSuite suite() const { return m_suite; }

  /// The complete EncryptedMessage carrying `plaintext` (the CBOR of a message body), FDO 1.1 §4.4.
  /// CTR: Error(InternalServerError) once the session's block counter would wrap.
  [[nodiscard]] Bytes encrypt(ByteView plaintext);
  /// The plaintext of an EncryptedMessage (FDO 1.1 §4.4): anything but one tagged Encrypt0 (GCM/CCM) or
  /// Mac0 (CTR/CBC) is Error(MessageBodyError) (untagged only under Quirk::UntaggedCose); a protected alg
  /// other than the negotiated suite Error(InvalidMessageError); an IV of the wrong length
  /// Error(MessageBodyError); any authentication failure (tag, HMAC, padding) Error(InvalidMessageError)
  /// with one text that does not say which step failed.
  [[nodiscard]] Bytes decrypt(ByteView message, const Leniency& leniency = {}) const;

  /// A compact encoding of the whole state, for the session record.
  [[nodiscard]] SecretBytes save() const;

 private:
  SessionCipher(crypto::CipherSuite suite, crypto::SessionKeys keys, Bytes ctr_nonce, std::uint64_t ctr_counter);

  crypto::CipherSuite m_suite;
  crypto::SessionKeys m_keys;
  /// CTR only: the per-session 12-byte nonce and the next block counter (at most 2^32).
  Bytes m_ctr_nonce;
  std::uint64_t m_ctr_counter = 0;
};

}  // namespace fdo::cose
