#pragma once
// OVHeader, FDO 1.1 §3.4.2: the part of the voucher the device MACs at DI.

#include <cstdint>
#include <optional>
#include <string>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo::voucher {

/// The protocol version of FDO 1.1 vouchers: OVProtVer and OVHProtVer (FDO 1.1 §3.4.2).
inline constexpr std::uint16_t kOVProtVer = 101;
/// The protocol version FDO 1.0 vouchers carry; recognised only to name it (docs/interop.md "fdo10-vouchers").
inline constexpr std::uint16_t kOVProtVer10 = 100;

/// Ownership Voucher header, FDO 1.1 §3.4.2:
///   OVHeader = [
///       OVHProtVer:         protver,        ;; protocol version
///       OVGuid:             Guid,           ;; guid
///       OVRVInfo:           RendezvousInfo, ;; rendezvous instructions
///       OVDeviceInfo:       tstr,           ;; DeviceInfo
///       OVPubKey:           PublicKey,      ;; mfg public key
///       OVDevCertChainHash: OVDevCertChainHashOrNull
///   ]
/// The bytes that are MACed and hashed are the received ones, kept by OwnershipVoucher; encode() is the
/// canonical form a manufacturer emits (docs/interop.md "noncanonical-header").
struct OVHeader {
  std::uint16_t ovh_prot_ver = kOVProtVer;
  Guid ov_guid;
  RendezvousInfo ov_rv_info;
  std::string ov_device_info;
  PublicKey ov_pub_key;
  /// Hash over the concatenated DER certificates; null only for EPID devices (unsupported, docs/interop.md
  /// "epid-unsupported").
  std::optional<Hash> ov_dev_cert_chain_hash;

  /// Deterministic encoding (RFC 8949 §4.2.1).
  [[nodiscard]] Bytes encode() const;
  /// Strict decode of the OVHeaderTag content (FDO 1.1 §3.4.2; docs/voucher.md check `header`): a 6-element array,
  /// OVHProtVer 101, a 16-byte GUID, a RendezvousInfo with at least one directive, a non-empty OVDeviceInfo, a
  /// supported OVPubKey and a SHA Hash or null; nothing after it. Error(MessageBodyError) naming the field otherwise.
  static OVHeader decode(ByteView header_bytes, const Leniency& leniency = {});
};

}  // namespace fdo::voucher
