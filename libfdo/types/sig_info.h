#pragma once
// SigInfo = [sgType, Info], FDO 1.1 §3.3.5.

#include <cstdint>
#include <optional>
#include <string_view>

#include "libfdo/cbor/reader.h"
#include "libfdo/cbor/writer.h"
#include "libfdo/core/bytes.h"
#include "libfdo/crypto/keys.h"

namespace fdo {

/// DeviceSgType values (FDO 1.1 §3.3.5) plus the COSE-compatible ones go-fdo adds; values are the
/// COSE algorithm ids for the signature types.
enum class DeviceSgType : std::int32_t {
  /// ES256: ECDSA secp256r1.
  StSecp256r1 = -7,
  /// ES384: ECDSA secp384r1.
  StSecp384r1 = -35,
  /// ES512, listed in COSECompatibleSignatureTypes; no FDO key type uses it.
  Es512 = -36,
  /// PS256: not in the spec list; go-fdo uses it for RSAPSS device keys.
  Ps256 = -37,
  /// PS384: not in the spec list; go-fdo uses it for RSAPSS device keys.
  Ps384 = -38,
  /// RS256: RSA 2048 bit.
  StRsa2048 = -257,
  /// RS384: RSA 3072 bit.
  StRsa3072 = -258,
  /// Intel EPID 1.0 (unsupported).
  StEpid10 = 90,
  /// Intel EPID 1.1 (unsupported).
  StEpid11 = 91,
};

/// The spec's name ("StSECP256R1", "PS256", …).
std::string_view sg_type_name(DeviceSgType type);
/// The COSE signature algorithm of an sgType; nullopt for EPID and ES512, which FDO keys cannot make.
std::optional<crypto::SigAlg> sig_alg_of(DeviceSgType type);
/// The sgType naming a signature algorithm (ES256 → StSECP256R1, RS384 → StRSA3072, PS256 → PS256, …).
DeviceSgType sg_type_for(crypto::SigAlg alg);
/// The device key type an sgType implies (FDO 1.1 §3.3; docs/interop.md "signature-alg-from-header"): P-256, P-384,
/// RSA-2048 (RS256, PS256), RSA-3072 (RS384, PS384); nullopt for EPID and ES512.
std::optional<crypto::KeyType> device_key_type_of(DeviceSgType type);

/// SigInfo, FDO 1.1 §3.3.5 (eASigInfo from the device, eBSigInfo from the server):
///   SigInfo = [sgType: DeviceSgType, Info: bstr]
/// For ECDSA and RSA the Info is empty: `[-7, h'']` is `82 26 40`.
struct SigInfo {
  DeviceSgType sg_type = DeviceSgType::StSecp256r1;
  Bytes info;

  /// `[sgType of alg, h'']`: what a device with this signature algorithm sends.
  static SigInfo for_alg(crypto::SigAlg alg);

  /// Reads a SigInfo. A non-integer sgType or non-bstr Info is Error(MessageBodyError); an integer
  /// sgType FDO does not define is Error(InvalidMessageError) (FDO 1.1 §5.1.1.1: unsupported algorithm).
  static SigInfo decode(cbor::Reader& in, std::string_view field = "SigInfo");
  /// Decodes `in`, which must be exactly one SigInfo.
  static SigInfo decode(ByteView in, std::string_view field = "SigInfo");
  void encode(cbor::Writer& out) const;
  [[nodiscard]] Bytes encode() const;

  /// The signature algorithm; nullopt for EPID / ES512.
  [[nodiscard]] std::optional<crypto::SigAlg> sig_alg() const { return sig_alg_of(sg_type); }

  bool operator==(const SigInfo&) const = default;
};

}  // namespace fdo
