#pragma once
// COSE_Sign1 as FDO uses it (FDO 1.1 §3.3, RFC 9052 §4.2).

#include <cstdint>
#include <optional>
#include <string_view>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/header.h"
#include "libfdo/crypto/keys.h"

namespace fdo::cose {

/// The CBOR encoding of Sig_structure = ["Signature1", body_protected, external_aad, payload]
/// (RFC 9052 §4.4), built from the bstr contents exactly as received. FDO's
/// external_aad is always empty.
Bytes sig_structure(ByteView protected_bytes, ByteView payload, ByteView external_aad = {});

/// A COSE_Sign1 ("CoseSignature", FDO 1.1 §3.3):
///   CoseSignature = #6.18([protected: bstr .cbor {1: alg}, unprotected: {* label => any},
///                          payload: bstr, signature: bstr])
/// The protected bstr and the payload keep the bytes they arrived in, so verification never re-encodes.
class Sign1 {
 public:
  /// COSE_Sign1_Tagged.
  static constexpr std::uint64_t kTag = 18;

  /// Signs `payload` with `key` and `alg` (protected `{1: alg}`, empty external_aad). Throws
  /// Error(InternalServerError) if `alg` does not suit the key (docs/interop.md "signature-alg-from-header").
  static Sign1 sign(const crypto::PrivateKey& key, crypto::SigAlg alg, ByteView payload, HeaderMap unprotected = {});

  /// Reads one COSE_Sign1. Requires tag 18 unless `leniency` allows Quirk::UntaggedCose; the protected
  /// header must be exactly `{1: alg}` (else Error 100); an alg FDO does not use gives Error 101.
  static Sign1 decode(cbor::Reader& in, const Leniency& leniency = {});
  /// Decodes `in`, which must be exactly one COSE_Sign1; `context` names it in errors ("TO1.RVRedirect").
  static Sign1 decode(ByteView in, std::string_view context = "COSE_Sign1", const Leniency& leniency = {});

  /// Tagged encoding (always tag 18), protected and payload bytes as held.
  [[nodiscard]] Bytes encode() const;
  void encode(cbor::Writer& out) const;

  /// Whether the signature verifies with `key` over the held protected and payload bytes. False if the
  /// alg does not suit the key (docs/interop.md "signature-alg-from-header") or the signature is wrong; never throws
  /// for bad input.
  [[nodiscard]] bool verify(const crypto::PublicKey& key) const;
  /// The Sig_structure bytes this signature covers.
  [[nodiscard]] Bytes sig_structure() const;

  /// The protected header bstr content, as received.
  [[nodiscard]] ByteView protected_bytes() const { return m_protected; }
  [[nodiscard]] crypto::SigAlg alg() const { return m_alg; }
  [[nodiscard]] const HeaderMap& unprotected() const { return m_unprotected; }
  /// The encoded value under `label` in the unprotected header, if present.
  [[nodiscard]] std::optional<ByteView> unprotected_value(std::int64_t label) const;
  /// The payload bstr content, as received.
  [[nodiscard]] ByteView payload() const { return m_payload; }
  [[nodiscard]] ByteView signature() const { return m_signature; }

 private:
  Sign1(Bytes protected_bytes, crypto::SigAlg alg, HeaderMap unprotected, Bytes payload, Bytes signature);

  Bytes m_protected;
  crypto::SigAlg m_alg;
  HeaderMap m_unprotected;
  Bytes m_payload;
  Bytes m_signature;
};

}  // namespace fdo::cose
