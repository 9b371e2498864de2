#pragma once
// The Entity Attestation Token as FDO uses it: the device's proof in TO1.ProveToRV and TO2.ProveDevice
// (FDO 1.1 §3.3.6; docs/interop.md "eat-ueid-claim").
#include <cstdint>
#include <optional>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/header.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/types/sig_info.h"

namespace fdo::protocol {

/// EAT-NONCE claim key (IANA): NonceTO1Proof in TO1, NonceTO2ProveDv in TO2.
inline constexpr std::int64_t kEatNonce = 10;
/// EAT-UEID claim key (IANA), the key of the FDO 1.1 PS.
inline constexpr std::int64_t kEatUeid = 256;
/// The UEID key of the 1.0 errata, still written by fdo-rs (docs/interop.md "eat-ueid-claim"); read only
/// under Quirk::EatUeidClaim11.
inline constexpr std::int64_t kEatUeidClaim11 = 11;
/// EAT-FDO claim key (IANA): `[xBKeyExchange]` in TO2.ProveDevice, absent in TO1.
inline constexpr std::int64_t kEatFdo = -257;
/// EAT-RAND: the first byte of an EAT-GUID UEID.
inline constexpr std::uint8_t kEatRand = 0x01;
/// EAT-GUID = bstr .size 17: EAT-RAND followed by the GUID.
inline constexpr std::size_t kEatGuidSize = 17;

/// The claims FDO reads from an EAT payload (FDO 1.1 §3.3):
///   EATPayloadBaseMap = { ? EAT-FDO => $EATPayloads, EAT-NONCE => Nonce, EAT-UEID => EAT-GUID, * other }
/// Claims are kept in whatever order they came (the C SDK writes 256, 10, -257); other claims are skipped.
struct EatPayload {
  /// EAT-NONCE (10): the bstr content; nullopt when absent.
  std::optional<Bytes> nonce;
  /// EAT-UEID (256): the bstr content; nullopt when absent.
  std::optional<Bytes> ueid;
  /// EAT-FDO (-257): the claim value's complete CBOR encoding; nullopt when absent.
  std::optional<Bytes> fdo;
  /// Strict structure (FDO 1.1 §5.4.3, §5.5.6; check 2 in docs/protocols/to1.md): one CBOR map with unique keys,
  /// nothing after it; claims 10 and 256 are bstrs. A missing claim is left for the checks (101). When there is no
  /// claim 256 and `leniency` accepts Quirk::EatUeidClaim11, claim 11 is read as the UEID (fdo-rs,
  /// docs/interop.md "eat-ueid-claim").
  /// Error(MessageBodyError) naming the claim otherwise.
  static EatPayload decode(ByteView payload, const Leniency& leniency = {});
};

/// What a verifier expects of an EAT.
struct EatExpectation {
  /// The nonce the verifier issued (NonceTO1Proof or NonceTO2ProveDv).
  Nonce nonce;
  /// The device's GUID: the UEID must be `0x01 || guid`.
  Guid guid;
  /// When set, the protected alg must be this one (TO2: the alg of eASigInfo).
  std::optional<crypto::SigAlg> alg;
};

/// The device's EAT, FDO 1.1 §3.3.6: a tagged COSE_Sign1 with protected `{1: signer alg}`, the given
/// unprotected header, and the payload `{10: nonce, 256: h'01' || guid [, -257: fdo_claim]}` in canonical
/// order, signed by `signer`. `fdo_claim` is the claim value's complete CBOR encoding (TO2:
/// `[xBKeyExchange]`).
cose::Sign1 make_eat(const DeviceSigner& signer, const Nonce& nonce, const Guid& guid,
                     std::optional<ByteView> fdo_claim = std::nullopt, const cose::HeaderMap& unprotected = {});

/// Checks an EAT (FDO 1.1 §5.4.3; in TO2 §5.5.6) in the order of checks 2-5 in docs/protocols/to1.md:
/// * the payload decodes (EatPayload::decode, Error 100);
/// * claim 10 equals the expected nonce (101);
/// * claim 256 is 17 bytes, starts with 0x01 and carries the expected GUID (101);
/// * the protected alg is the expected one, if any, and suits `device_key`; the signature verifies with
///   `device_key` over the received bytes (101).
/// Returns the decoded payload (TO2 reads its EAT-FDO claim).
EatPayload verify_eat(const cose::Sign1& eat, const crypto::PublicKey& device_key, const EatExpectation& expected,
                      const Leniency& leniency = {});

/// The device's eASigInfo (TO1.HelloRV, TO2.HelloDevice; FDO 1.1 §5.4.1, §5.5.1; docs/interop.md "siginfo-answer"):
/// its sgType is one FDO supports and implies the type of `device_key` (OVDevCertChain[0]), and Info is empty.
/// Error(InvalidMessageError) naming `message` otherwise.
void check_ea_sig_info(const SigInfo& ea_sig_info, const crypto::PublicKey& device_key, std::string_view message);

}  // namespace fdo::protocol
