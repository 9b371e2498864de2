#pragma once
// COSE_Mac0 as FDO uses it: the outer block of the TO2 encrypt-then-MAC suites (FDO 1.1 §4.4,
// RFC 9052 §6.2).

#include <cstdint>
#include <optional>
#include <string_view>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/cose/header.h"
#include "libfdo/crypto/hash.h"

namespace fdo::cose {

/// The HMAC algorithms of ETMMacType (FDO 1.1 §4.4); values are the COSE ids (RFC 9053 §3.1).
enum class MacAlg : std::int64_t {
  HmacSha256 = 5,
  HmacSha384 = 6,
};
/// Maps a COSE alg id to MacAlg; nullopt for anything else (e.g. Java PRI's -43).
std::optional<MacAlg> mac_alg_from_id(std::int64_t id);
/// The hash inside the HMAC.
crypto::HashAlg mac_alg_hash(MacAlg alg);
/// Tag length in bytes: 32 or 48.
std::size_t mac_alg_size(MacAlg alg);

/// The CBOR encoding of MAC_structure = ["MAC0", protected, external_aad, payload] (RFC 9052 §6.3),
/// built from the bstr contents as received (RFC 9052 §6.3): starts `84 64 4D 41 43 30 …`.
Bytes mac_structure(ByteView protected_bytes, ByteView payload, ByteView external_aad = {});

/// A COSE_Mac0 (FDO 1.1 §4.4):
///   ETMOuterBlock = #6.17([protected: bstr .cbor {1: ETMMacType}, unprotected: {},
///                          payload: bstr .cbor ETMInnerBlock, tag: bstr])
class Mac0 {
 public:
  /// COSE_Mac0_Tagged.
  static constexpr std::uint64_t kTag = 17;

  /// MACs `payload` with `key`: tag = HMAC(key, MAC_structure) (docs/interop.md "etm-mac-input").
  static Mac0 create(MacAlg alg, const SecretBytes& key, ByteView payload, HeaderMap unprotected = {});

  /// Reads one COSE_Mac0: tag 17 (untagged only under Quirk::UntaggedCose), protected exactly
  /// `{1: alg}` with any integer alg (the caller checks it against the negotiated suite).
  static Mac0 decode(cbor::Reader& in, const Leniency& leniency = {});
  /// Decodes `in`, which must be exactly one COSE_Mac0.
  static Mac0 decode(ByteView in, std::string_view context = "COSE_Mac0", const Leniency& leniency = {});

  /// Tagged encoding (always tag 17).
  [[nodiscard]] Bytes encode() const;
  void encode(cbor::Writer& out) const;

  /// Whether the tag equals HMAC(key, MAC_structure), compared in constant time. False for an alg
  /// other than 5 or 6. FDO 1.1 §4.4: the MAC is verified before decrypting.
  [[nodiscard]] bool verify(const SecretBytes& key) const;
  /// The MAC_structure bytes the tag covers.
  [[nodiscard]] Bytes mac_structure() const;

  [[nodiscard]] ByteView protected_bytes() const { return m_protected; }
  /// The protected alg id as received.
  [[nodiscard]] std::int64_t alg() const { return m_alg; }
  [[nodiscard]] const HeaderMap& unprotected() const { return m_unprotected; }
  [[nodiscard]] ByteView payload() const { return m_payload; }
  [[nodiscard]] ByteView tag() const { return m_tag; }

 private:
  Mac0(Bytes protected_bytes, std::int64_t alg, HeaderMap unprotected, Bytes payload, Bytes tag);

  Bytes m_protected;
  std::int64_t m_alg;
  HeaderMap m_unprotected;
  Bytes m_payload;
  Bytes m_tag;
};

}  // namespace fdo::cose
