#pragma once
// The TO2 key exchange (FDO 1.1 §3.6): the six kexSuiteName suites, the xAKeyExchange and
// xBKeyExchange byte layouts, and the shared secret (ShSe) and ContextRand they yield for the
// session KDF (kdf.h). Layouts and checks: docs/interop.md "ecdh-param-layout",
// "shared-secret-leading-zeros" and "owner-random-nonzero".

#include <memory>
#include <optional>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/keys.h"

namespace fdo::crypto {

/// kexSuiteName of TO2.HelloDevice (FDO 1.1 §3.6).
enum class KexSuite { Ecdh256, Ecdh384, DhKexId14, DhKexId15, AsymKex2048, AsymKex3072 };

/// The spec's name: "ECDH256", "ECDH384", "DHKEXid14", "DHKEXid15", "ASYMKEX2048", "ASYMKEX3072".
std::string_view kex_suite_name(KexSuite suite);
/// Parses a spec name (exact, case-sensitive); nullopt for anything else.
std::optional<KexSuite> parse_kex_suite(std::string_view name);
/// Whether the owner can run `suite` with `owner_key`: ASYMKEX2048 needs an RSA-2048 owner key and
/// ASYMKEX3072 an RSA-3072 one (the device encrypts to it, FDO 1.1 §3.6); ECDH and DH suites work
/// with any owner key.
bool kex_suits_owner_key(KexSuite suite, const PublicKey& owner_key);

/// What the key exchange yields for the session KDF (FDO 1.1 §3.6, §3.6.4):
///   ECDH:    ShSe = Shx ‖ DeviceRandom ‖ OwnerRandom, ContextRand empty
///   DH:      ShSe = g^ab mod p (|p| bytes),            ContextRand empty
///   ASYMKEX: ShSe = DeviceRandom,                      ContextRand = OwnerRandom
struct KexSecret {
  SecretBytes shse;
  Bytes context_rand;
};

/// The owner's half of the key exchange. It starts with TO2.ProveOVHdr (61), which carries xA, and
/// finishes with TO2.ProveDevice (64), which carries xB; in between its state lives in the session
/// record (save / restore). Move-only; the private state is never logged or printed.
class KexOwner {
 public:
  /// A fresh ephemeral key (ECDH, DH) or OwnerRandom (ECDH, ASYMKEX). OwnerRandom never starts with
  /// a zero byte (docs/interop.md "owner-random-nonzero").
  static KexOwner start(KexSuite suite);
  /// The state saved by save(); Error(InternalServerError) if it does not decode.
  static KexOwner restore(ByteView saved);

  KexOwner(KexOwner&&) noexcept;
  KexOwner& operator=(KexOwner&&) noexcept;
  ~KexOwner();

  [[nodiscard]] KexSuite suite() const;
  /// xAKeyExchange (FDO 1.1 §3.6): ECDH len(X) ‖ X ‖ len(Y) ‖ Y ‖ len(R) ‖ R with fixed-width X and
  /// Y (86 / 150 bytes); DH A = g^a mod p, |p| bytes; ASYMKEX OwnerRandom (32 / 96 bytes).
  [[nodiscard]] Bytes xa() const;
  /// A compact encoding of the suite and the private state, for the session record.
  [[nodiscard]] SecretBytes save() const;
  /// The shared secret from the device's xBKeyExchange. `owner_key` is the owner's current private
  /// key, needed only for ASYMKEX (RSA-OAEP decryption of xB); Error(InternalServerError) if it is
  /// missing or unsuited there. A malformed or invalid xB throws Error(InvalidMessageError); for
  /// ASYMKEX with one text that does not say which step failed.
  [[nodiscard]] KexSecret finish(ByteView xb, const PrivateKey* owner_key) const;

  struct Impl;

 private:
  explicit KexOwner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

/// The device's half: its xBKeyExchange for TO2.ProveDevice (64) and the shared secret.
struct DeviceKex {
  Bytes xb;
  KexSecret secret;
};

/// Runs the device side of `suite` against the owner's xAKeyExchange (FDO 1.1 §3.6). `owner_key` (the
/// owner key of TO2.ProveOVHdr) is used only for ASYMKEX, which encrypts DeviceRandom to it with
/// RSA-OAEP. A malformed or invalid xA, or an owner key unsuited to ASYMKEX, throws
/// Error(InvalidMessageError).
DeviceKex device_kex(KexSuite suite, ByteView xa, const PublicKey& owner_key);

}  // namespace fdo::crypto
