#pragma once
// DeviceCredential, FDO 1.1 §3.4.1, and the file our device keeps it in.

#include <cstdint>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/fixed_bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/types/hash.h"
#include "libfdo/types/json.h"
#include "libfdo/types/rendezvous_info.h"

namespace fdo {

/// Where the device's secrets (attestation key, HMAC secret) live.
enum class CredentialStorage : std::uint8_t {
  /// In the credential file: PKCS#8 key and DCHmacSecret.
  File = 1,
  /// In a TPM: the file holds persistent handles only (the TPM layer is coming: not built yet).
  Tpm = 2,
};
/// "file" or "tpm" (the `storage` field of `fdo-device show --json`, docs/cli.md).
std::string_view storage_name(CredentialStorage storage);

/// Persistent TPM handles of a TPM-backed credential.
struct TpmKeyRef {
  /// The device attestation key.
  std::uint32_t device_key_handle = 0;
  /// The HMAC key that stands in for DCHmacSecret.
  std::uint32_t hmac_key_handle = 0;
  bool operator==(const TpmKeyRef&) const = default;
};

/// What the device stores: the spec's seven fields (FDO 1.1 §3.4.1)
///   DeviceCredential = [DCActive: bool, DCProtVer: protver, DCHmacSecret: bstr, DCDeviceInfo: tstr,
///                       DCGuid: Guid, DCRVInfo: RendezvousInfo, DCPubKeyHash: Hash]
/// plus our reference to the device key (our own file layout, below). Move-only: it holds secrets.
///
/// File layout (CBOR, written 0600 and atomically by the device tool):
///   DeviceCredentialFile = [
///     FormatVersion: 1,
///     DeviceCredential,            ;; the spec array above, in spec order
///     KeyType: tstr,               ;; "p256" / "p384" / "rsa2048" / "rsa3072"
///     DeviceKey: [1, bstr]         ;; File: PKCS#8 DER of the attestation private key
///              / [2, uint32, uint32] ;; Tpm: device key handle, HMAC key handle
///   ]
/// With Tpm storage DCHmacSecret is h'' (the HMAC key stays in the TPM); with File storage it is non-empty.
struct DeviceCredential {
  /// FormatVersion written and accepted.
  static constexpr std::uint64_t kFormatVersion = 1;

  /// DCActive: true after DI; false after a successful TO2 (FDO dormant).
  bool dc_active = true;
  /// DCProtVer: 101 for FDO 1.1.
  std::uint16_t dc_prot_ver = 101;
  /// DCHmacSecret (File storage only).
  SecretBytes dc_hmac_secret;
  /// DCDeviceInfo: the manufacturer's device-type string.
  std::string dc_device_info;
  /// DCGuid: the current GUID, replaced in TO2.
  Guid dc_guid;
  /// DCRVInfo: how to find the rendezvous server, replaced in TO2.
  RendezvousInfo dc_rv_info;
  /// DCPubKeyHash: hash of the manufacturer key (after TO2: of Owner2Key).
  Hash dc_pub_key_hash;

  /// Type of the device attestation key.
  crypto::KeyType key_type = crypto::KeyType::P256;
  CredentialStorage storage = CredentialStorage::File;
  /// PKCS#8 DER of the attestation key (File storage only).
  SecretBytes device_key_pkcs8;
  /// TPM handles (Tpm storage only).
  TpmKeyRef tpm;

  /// The file layout above. Error(InternalServerError) if the storage fields are inconsistent.
  [[nodiscard]] SecretBytes encode() const;
  /// Reads the file layout; Error(MessageBodyError) for another format version, a malformed field, a
  /// File credential without HMAC secret or whose key does not parse as `key_type`, or a Tpm one with
  /// an HMAC secret.
  static DeviceCredential decode(ByteView in, const Leniency& leniency = {});

  /// Imports go-fdo's `blob.DeviceCredential` (the go-fdo example client's cred.bin; FDO 1.1 §3.4.1):
  ///   [Active, Version, DeviceInfo, GUID, RvInfo, PublicKeyHash, HmacSecret, PrivateKey (PKCS#8 DER)]
  static DeviceCredential import_go_fdo_blob(ByteView in, const Leniency& leniency = {});

  /// The attestation key of a File credential; Error(InternalServerError) for Tpm storage.
  [[nodiscard]] crypto::PrivateKey private_key() const;

  /// `fdo-device show --json` (docs/cli.md): guid (hex), active, protocol_version, device_info,
  /// rendezvous_info, manufacturer_key_hash {"alg", "hex"}, key_type, storage, the TPM handles for Tpm
  /// storage, and hmac_secret (hex) only when `reveal` and File storage.
  void to_json(JsonWriter& out, bool reveal = false) const;
  /// The members of that object, written into an object the caller opened (to add fields of its own).
  void to_json_fields(JsonWriter& out, bool reveal = false) const;
};

}  // namespace fdo
