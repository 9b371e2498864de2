#pragma once
// TO2, the device proves itself to its owner, the owner proves ownership through the voucher, and both configure the
// device over an encrypted tunnel: messages 60-71 (FDO 1.1 §5.5). Bodies 65-71 are the plaintexts inside the
// tunnel (libfdo/cose/session_cipher.h); this file knows nothing of the encryption.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/cose/sign1.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/serviceinfo/kv.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/message_type.h"
#include "libfdo/types/public_key.h"
#include "libfdo/types/rendezvous_info.h"
#include "libfdo/types/sig_info.h"
#include "libfdo/voucher/header.h"

namespace fdo::to2 {

/// COSE unprotected header labels of TO2 (FDO 1.1 §3.3.2): CUPHNonce and CUPHOwnerPubKey in TO2.ProveOVHdr,
/// EUPHNonce in the EAT of TO2.ProveDevice.
inline constexpr std::int64_t kCuphNonce = 256;
inline constexpr std::int64_t kCuphOwnerPubKey = 257;
inline constexpr std::int64_t kEuphNonce = -259;

/// The message size both sides assume when the peer says 0 (FDO 1.1 §5.5.1); values below it count as it
/// (docs/interop.md "message-size-17").
inline constexpr std::uint16_t kDefaultMessageSize = 1300;

/// TO2.HelloDevice, type 60: the device names itself and the key exchange and cipher it wants. FDO 1.1 §5.5.1
///   TO2.HelloDevice = [maxDeviceMessageSize, Guid, NonceTO2ProveOV, kexSuiteName, cipherSuiteName, eASigInfo]
struct HelloDevice {
  static constexpr MessageType kType = MessageType::To2HelloDevice;
  static constexpr std::string_view kName = "TO2.HelloDevice";
  std::uint16_t max_device_message_size = 0;
  Guid guid;
  Nonce nonce_to2_prove_ov;
  std::string kex_suite_name;
  std::int64_t cipher_suite_name = 0;
  SigInfo ea_sig_info;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 6-element array of uint16, 16-byte bstr, 16-byte bstr, tstr, int and SigInfo (Error 100).
  static HelloDevice decode(ByteView in);
};

/// The payload of TO2.ProveOVHdr. FDO 1.1 §5.5.2
///   TO2ProveOVHdrPayload = [bstr .cbor OVHeader, NumOVEntries, HMac, NonceTO2ProveOV, eBSigInfo,
///                           xAKeyExchange, helloDeviceHash: Hash, maxOwnerMessageSize]
struct ProveOVHdrPayload {
  /// The voucher's OVHeader bytes, unchanged.
  Bytes ov_header;
  std::uint8_t num_ov_entries = 0;
  /// OVHeaderHMac, unchanged.
  Hash hmac;
  Nonce nonce_to2_prove_ov;
  SigInfo eb_sig_info;
  Bytes xa_key_exchange;
  Hash hello_device_hash;
  std::uint16_t max_owner_message_size = 0;
  [[nodiscard]] Bytes encode() const;
  static ProveOVHdrPayload decode(ByteView in);
};

/// TO2.ProveOVHdr, type 61: the voucher header signed by the current owner key, with the owner's half of the key
/// exchange. FDO 1.1 §5.5.2
///   TO2.ProveOVHdr = CoseSignature   ;; payload TO2ProveOVHdrPayload,
///                                    ;; unprotected {CUPHNonce: NonceTO2ProveDv, CUPHOwnerPubKey: PublicKey}
struct ProveOVHdr {
  static constexpr MessageType kType = MessageType::To2ProveOVHdr;
  static constexpr std::string_view kName = "TO2.ProveOVHdr";
  /// The COSE_Sign1 as built or received; its payload bytes are what the signature covers.
  cose::Sign1 sign1;
  ProveOVHdrPayload payload;
  /// CUPHNonce: the NonceTO2ProveDv the device signs in TO2.ProveDevice and returns in TO2.Done.
  Nonce cuph_nonce;
  /// CUPHOwnerPubKey: the owner key, byte-identical to the voucher's last OVEPubKey.
  PublicKey cuph_owner_pub_key;
  /// Signs `payload` with the owner key; the unprotected header holds exactly 256 and 257.
  static ProveOVHdr sign(const crypto::PrivateKey& owner_key, crypto::SigAlg alg, const ProveOVHdrPayload& payload,
                         const Nonce& nonce_to2_prove_dv, const PublicKey& owner_pub_key);
  [[nodiscard]] Bytes encode() const { return sign1.encode(); }
  /// Strict (FDO 1.1 §5.5.2, device check 1): a tagged COSE_Sign1 whose payload is the 8-element array and whose
  /// unprotected map holds 256 (16-byte bstr) and 257 (a PublicKey). Error 100 otherwise.
  static ProveOVHdr decode(ByteView in, const Leniency& leniency = {});
};

/// TO2.GetOVNextEntry, type 62: the device asks for voucher entry `ov_entry_num`. FDO 1.1 §5.5.4
///   TO2.GetOVNextEntry = [OVEntryNum]
struct GetOVNextEntry {
  static constexpr MessageType kType = MessageType::To2GetOVNextEntry;
  static constexpr std::string_view kName = "TO2.GetOVNextEntry";
  std::uint8_t ov_entry_num = 0;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 1-element array holding a uint of at most 255 (Error 100).
  static GetOVNextEntry decode(ByteView in);
};

/// TO2.OVNextEntry, type 63: one voucher entry, exactly the bytes stored in the voucher. FDO 1.1 §5.5.5
///   TO2.OVNextEntry = [OVEntryNum, OVEntry]
struct OVNextEntry {
  static constexpr MessageType kType = MessageType::To2OVNextEntry;
  static constexpr std::string_view kName = "TO2.OVNextEntry";
  std::uint8_t ov_entry_num = 0;
  /// The OVEntry COSE_Sign1, complete encoding.
  Bytes ov_entry;
  [[nodiscard]] Bytes encode() const;
  /// Strict: a 2-element array of a uint8 and one well-formed CBOR item (the entry's own checks are the voucher
  /// layer's). Error 100.
  static OVNextEntry decode(ByteView in);
};

/// TO2.ProveDevice, type 64: the device's EAT over NonceTO2ProveDv with its half of the key exchange. FDO 1.1 §5.5.6
///   TO2.ProveDevice = EAToken   ;; payload {10: NonceTO2ProveDv, 256: h'01' || Guid, -257: [xBKeyExchange]},
///                               ;; unprotected {EUPHNonce: NonceTO2SetupDv}
struct ProveDevice {
  static constexpr MessageType kType = MessageType::To2ProveDevice;
  static constexpr std::string_view kName = "TO2.ProveDevice";
  cose::Sign1 eat;
  /// EUPHNonce: the NonceTO2SetupDv the owner returns in TO2.SetupDevice and TO2.Done2.
  Nonce euph_nonce;
  [[nodiscard]] Bytes encode() const { return eat.encode(); }
  /// Strict: a tagged COSE_Sign1 whose unprotected map holds -259 as a 16-byte bstr (Error 100). The claims are
  /// read by protocol/eat.h and xb_key_exchange().
  static ProveDevice decode(ByteView in, const Leniency& leniency = {});
};

/// The EAT-FDO claim of TO2.ProveDevice, `[xBKeyExchange]`: its CBOR encoding for make_eat, and its reader
/// (Error 100 unless exactly a 1-element array holding a bstr).
Bytes encode_eat_fdo_claim(ByteView xb_key_exchange);
Bytes decode_eat_fdo_claim(ByteView claim);

/// The payload of TO2.SetupDevice. FDO 1.1 §5.5.7
///   TO2SetupDevicePayload = [RendezvousInfo, Guid, NonceTO2SetupDv, Owner2Key]
/// RendezvousInfo and Owner2Key keep the bytes they arrived in: the replacement header is built from them
/// (FDO 1.1 §5.5.8), and both sides must produce the same bytes.
struct SetupDevicePayload {
  RendezvousInfo rendezvous_info;
  Bytes rendezvous_info_bytes;
  Guid guid;
  Nonce nonce_to2_setup_dv;
  PublicKey owner2_key;
  [[nodiscard]] Bytes encode() const;
  static SetupDevicePayload decode(ByteView in, const Leniency& leniency = {});
};

/// TO2.SetupDevice, type 65 (encrypted): the device's new rendezvous info, GUID and owner key, signed with the new
/// owner key. FDO 1.1 §5.5.7
///   TO2.SetupDevice = CoseSignature   ;; payload TO2SetupDevicePayload
struct SetupDevice {
  static constexpr MessageType kType = MessageType::To2SetupDevice;
  static constexpr std::string_view kName = "TO2.SetupDevice";
  cose::Sign1 sign1;
  SetupDevicePayload payload;
  /// Signs `payload` with `owner2_private` (the private half of payload.owner2_key); empty unprotected map.
  static SetupDevice sign(const crypto::PrivateKey& owner2_private, crypto::SigAlg alg,
                          const SetupDevicePayload& payload);
  [[nodiscard]] Bytes encode() const { return sign1.encode(); }
  /// Strict (FDO 1.1 §5.5.7, device check 2): a tagged COSE_Sign1 with an empty unprotected map and a 4-element
  /// payload with a 16-byte Guid and a RendezvousInfo of at least one directive. Error 100.
  static SetupDevice decode(ByteView in, const Leniency& leniency = {});
};

/// TO2.DeviceServiceInfoReady, type 66 (encrypted): the HMAC of the replacement header (null accepts credential
/// reuse) and the largest ServiceInfo the device receives. FDO 1.1 §5.5.8
///   TO2.DeviceServiceInfoReady = [ReplacementHMac: HMac / null, maxOwnerServiceInfoSz: uint16 / null]
struct DeviceServiceInfoReady {
  static constexpr MessageType kType = MessageType::To2DeviceServiceInfoReady;
  static constexpr std::string_view kName = "TO2.DeviceServiceInfoReady";
  std::optional<Hash> replacement_hmac;
  std::optional<std::uint16_t> max_owner_service_info_sz;
  [[nodiscard]] Bytes encode() const;
  /// Strict: 2 elements; an HMAC-SHA256/384 HMac of the right length or null; a uint16 or null (Error 100).
  static DeviceServiceInfoReady decode(ByteView in);
};

/// TO2.OwnerServiceInfoReady, type 67 (encrypted): the largest ServiceInfo the owner receives. FDO 1.1 §5.5.9
///   TO2.OwnerServiceInfoReady = [maxDeviceServiceInfoSz: uint16 / null]
struct OwnerServiceInfoReady {
  static constexpr MessageType kType = MessageType::To2OwnerServiceInfoReady;
  static constexpr std::string_view kName = "TO2.OwnerServiceInfoReady";
  std::optional<std::uint16_t> max_device_service_info_sz;
  [[nodiscard]] Bytes encode() const;
  static OwnerServiceInfoReady decode(ByteView in);
};

/// TO2.DeviceServiceInfo, type 68 (encrypted). FDO 1.1 §5.5.10
///   TO2.DeviceServiceInfo = [IsMoreServiceInfo: bool, ServiceInfo]
struct DeviceServiceInfo {
  static constexpr MessageType kType = MessageType::To2DeviceServiceInfo;
  static constexpr std::string_view kName = "TO2.DeviceServiceInfo";
  bool is_more_service_info = false;
  serviceinfo::ServiceInfo service_info;
  [[nodiscard]] Bytes encode() const;
  static DeviceServiceInfo decode(ByteView in);
};

/// TO2.OwnerServiceInfo, type 69 (encrypted). FDO 1.1 §5.5.11
///   TO2.OwnerServiceInfo = [IsMoreServiceInfo: bool, IsDone: bool, ServiceInfo]
struct OwnerServiceInfo {
  static constexpr MessageType kType = MessageType::To2OwnerServiceInfo;
  static constexpr std::string_view kName = "TO2.OwnerServiceInfo";
  bool is_more_service_info = false;
  bool is_done = false;
  serviceinfo::ServiceInfo service_info;
  [[nodiscard]] Bytes encode() const;
  static OwnerServiceInfo decode(ByteView in);
};

/// TO2.Done, type 70 (encrypted): the device returns NonceTO2ProveDv. FDO 1.1 §5.5.12
///   TO2.Done = [NonceTO2ProveDv]
struct Done {
  static constexpr MessageType kType = MessageType::To2Done;
  static constexpr std::string_view kName = "TO2.Done";
  Nonce nonce_to2_prove_dv;
  [[nodiscard]] Bytes encode() const;
  static Done decode(ByteView in);
};

/// TO2.Done2, type 71 (encrypted): the owner returns NonceTO2SetupDv. FDO 1.1 §5.5.13
///   TO2.Done2 = [NonceTO2SetupDv]
struct Done2 {
  static constexpr MessageType kType = MessageType::To2Done2;
  static constexpr std::string_view kName = "TO2.Done2";
  Nonce nonce_to2_setup_dv;
  [[nodiscard]] Bytes encode() const;
  static Done2 decode(ByteView in);
};

/// The replacement OVHeader both sides build after TO2.SetupDevice (FDO 1.1 §5.5.8, docs/voucher.md "Replacement"):
///   [OVHProtVer (old), Guid (new), RendezvousInfo (new), OVDeviceInfo (old), Owner2Key, OVDevCertChainHash (old)]
/// with the new RendezvousInfo and Owner2Key written byte for byte as SetupDevice carried them.
Bytes replacement_header(const voucher::OVHeader& old_header, const SetupDevicePayload& setup);

/// Whether TO2.SetupDevice offers credential reuse: GUID, RendezvousInfo and owner key all unchanged
/// (FDO 1.1 §5.5.8), compared as values: the owner may encode the same RendezvousInfo or key otherwise.
bool offers_reuse(const SetupDevicePayload& setup, const Guid& old_guid, const RendezvousInfo& old_rv_info,
                  const PublicKey& old_owner_key);

}  // namespace fdo::to2
