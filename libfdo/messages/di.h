#pragma once
// DI, Device Initialize (FDO 1.1 §5.2): the four messages between a new device and its
// manufacturer, in spec order, and the DeviceMfgInfo format our manufacturer reads (docs/interop.md
// "devicemfginfo-formats").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/message_type.h"
#include "libfdo/types/public_key.h"
#include "libfdo/voucher/header.h"

namespace fdo::di {

/// The "MfgInfo array" inside DeviceMfgInfo, as the C SDK, Java PRI and go-fdo write it (docs/interop.md
/// "devicemfginfo-formats"; FDO 1.1 §5.2.1 leaves DeviceMfgInfo implementation-defined):
/// ```
/// MfgInfo = [
///     keyType:  pkType,       ;; device key type; selects the manufacturer key type
///     keyEnc:   pkEnc,        ;; encoding the manufacturer should use for OVPubKey
///     serialNo: tstr,
///     deviceInfo: tstr,       ;; becomes OVDeviceInfo
///     certInfo: bstr,         ;; DER PKCS#10 CSR for the device attestation key
///     ? macAddresses: bstr,   ;; C SDK toolkit and CSE builds
///     ? onDieCertChain: bstr, ;; C SDK CSE builds
///     ? testSignature: bstr,  ;; C SDK CSE builds
///     ? maroePrefix: bstr     ;; C SDK CSE builds
/// ]
/// ```
/// We accept 5 to 9 elements and send 5 (docs/interop.md "devicemfginfo-formats").
struct MfgInfo {
  static constexpr std::string_view kName = "DeviceMfgInfo";
  static constexpr std::size_t kMinElements = 5;
  static constexpr std::size_t kMaxElements = 9;

  PkType key_type = PkType::Secp256r1;
  PkEnc key_enc = PkEnc::X509;
  std::string serial_no;
  std::string device_info;
  /// DER PKCS#10 certificate signing request for the device attestation key.
  Bytes cert_info;
  std::optional<Bytes> mac_addresses;
  std::optional<Bytes> on_die_cert_chain;
  std::optional<Bytes> test_signature;
  std::optional<Bytes> maroe_prefix;

  /// Deterministic encoding: the five mandatory elements, then the optional ones up to the last present
  /// one. Error(InternalServerError) if an optional element is present after an absent one.
  [[nodiscard]] Bytes encode() const;
  /// Strict decode of the DeviceMfgInfo bstr content. Error(MessageBodyError) for anything but one 5- to
  /// 9-element array of the types above (a tstr, the fdo-rs form, included: DI-03); then
  /// Error(InvalidMessageError) for a keyType that is not a pkType, or a keyEnc that is not X509, X5CHAIN
  /// or COSEKEY (Crypto, EPID, is unsupported: DI-05).
  static MfgInfo decode(ByteView in);
};

/// DI.AppStart, type 10, device → manufacturer: opens DI. FDO 1.1 §5.2.1
/// ```
/// DI.AppStart = [
///     DeviceMfgInfo
/// ]
/// DeviceMfgInfo = bstr .cbor any   ;; implementation-defined; we use MfgInfo
/// ```
struct AppStart {
  static constexpr MessageType kType = MessageType::DiAppStart;
  static constexpr std::string_view kName = "DI.AppStart";

  /// The content of the DeviceMfgInfo bstr, as received (decode it with MfgInfo::decode).
  Bytes device_mfg_info;

  [[nodiscard]] Bytes encode() const;
  /// Strict: a 1-element array holding a bstr, nothing after it. go-fdo's `[null]` (no info) is refused.
  static AppStart decode(ByteView body);
};

/// DI.SetCredentials, type 11, manufacturer → device: the new voucher header. FDO 1.1 §5.2.2
/// ```
/// DI.SetCredentials = [
///     bstr .cbor OVHeader    ;; the same bytes that will become OwnershipVoucher.OVHeaderTag
/// ]
/// ```
struct SetCredentials {
  static constexpr MessageType kType = MessageType::DiSetCredentials;
  static constexpr std::string_view kName = "DI.SetCredentials";

  /// The OVHeader bstr content exactly as received: the device MACs these bytes, never a re-encoding
  /// (FDO 1.1 §5.2.2, docs/interop.md "noncanonical-header", conformance DEV-32).
  Bytes ov_header;

  [[nodiscard]] Bytes encode() const;
  /// Strict: a 1-element array holding a non-empty bstr, nothing after it. The bare OVHeader array that
  /// fdo-rs sends is refused ("devicemfginfo-formats", DEV-31). The header itself is read by header().
  static SetCredentials decode(ByteView body);
  /// The device's checks of the header (FDO 1.1 §5.2.2): Error(MessageBodyError) unless the bytes are a
  /// 6-element array; Error(InvalidMessageError) when OVHProtVer is not 101 (DEV-30); then
  /// Error(MessageBodyError) for any field OVHeader::decode refuses.
  [[nodiscard]] voucher::OVHeader header(const Leniency& leniency = {}) const;
};

/// DI.SetHMAC, type 12, device → manufacturer: the device's HMAC over the header bytes. FDO 1.1 §5.2.3
/// ```
/// DI.SetHMAC = [
///     HMac      ;; HMAC over the OVHeader bytes, keyed by DCHmacSecret
/// ]
/// ```
struct SetHMAC {
  static constexpr MessageType kType = MessageType::DiSetHMAC;
  static constexpr std::string_view kName = "DI.SetHMAC";

  HMac hmac;

  [[nodiscard]] Bytes encode() const;
  /// Strict: a 1-element array holding an HMac of type 5 with 32 bytes or 6 with 48 bytes (FDO 1.1 §5.2.3,
  /// docs/interop.md "hashtype-strict", DI-08); Error(MessageBodyError) otherwise.
  static SetHMAC decode(ByteView body);
};

/// DI.Done, type 13, manufacturer → device: DI is over; the device stores its credential. FDO 1.1 §5.2.4
/// ```
/// DI.Done = []     ;; encodes as 80
/// ```
struct Done {
  static constexpr MessageType kType = MessageType::DiDone;
  static constexpr std::string_view kName = "DI.Done";

  [[nodiscard]] Bytes encode() const;
  /// Strict: exactly the empty array `80` (the C SDK's check; DEV-31 refuses `81 00`).
  static Done decode(ByteView body);
};

}  // namespace fdo::di
