#pragma once
// The device's side of DI, Device Initialize (FDO 1.1 §5.2): one function that reads like
// the spec. DI.AppStart (10) → DI.SetCredentials (11), DI.SetHMAC (12) → DI.Done (13).

#include <cstddef>
#include <string>

#include "libfdo/core/bytes.h"
#include "libfdo/core/quirks.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/protocol/device_identity.h"
#include "libfdo/transport/transport.h"
#include "libfdo/types/device_credential.h"
#include "libfdo/types/public_key.h"

namespace fdo::protocol {

/// What the device tells its manufacturer in DI.AppStart (docs/interop.md "devicemfginfo-formats").
struct DiDeviceOptions {
  /// MfgInfo serialNo; the manufacturer stores the voucher under it.
  std::string serial_no;
  /// MfgInfo deviceInfo: the model, which becomes OVDeviceInfo.
  std::string device_info;
  /// MfgInfo keyEnc: the encoding the manufacturer should use for OVPubKey (X509 for the C SDK's sake).
  PkEnc key_enc = PkEnc::X509;
  /// Deviations to accept in the manufacturer's OVHeader (RendezvousInfo, PublicKey).
  Leniency leniency;
};

/// A successful DI run.
struct DiResult {
  /// The new DeviceCredential's spec fields (FDO 1.1 §3.4.1, §5.2.4) and key_type. The secrets
  /// (storage, DCHmacSecret, key reference) are the caller's to fill in before saving it.
  DeviceCredential credential;
  /// The OVHeader bytes as received in DI.SetCredentials: the bytes the device MACed.
  Bytes header;
  /// OVPubKey as it was described (for logs).
  std::string manufacturer_key;
};

/// Runs DI over `transport` (FDO 1.1 §5.2): sends the MfgInfo with a CSR made by `signer`, checks
/// DI.SetCredentials (DEV-30: OVHProtVer 101, else 101; DEV-31: `[bstr]`, else 100), answers with
/// HMAC-H(DCHmacSecret, received header bytes) where H is the family of the device key
/// (docs/voucher.md "Which hash algorithm"),
/// and checks DI.Done. Returns only after DI.Done: the caller saves the credential then, never earlier.
/// On a failed check it sends an ErrorMessage (unless the server ended the run) and throws fdo::Error.
DiResult run_di(transport::MessageTransport& transport, const DiDeviceOptions& options, const DeviceSigner& signer,
                const DeviceHmac& hmac);

/// The DCHmacSecret length a device makes for its key (docs/voucher.md "Which hash algorithm"): 48 bytes for
/// the SHA-384 family (P-384, RSA-3072), else 32.
std::size_t hmac_secret_size(crypto::KeyType device_key_type);

/// A new file-backed device identity for DI: a fresh attestation key and a fresh DCHmacSecret from the
/// CSPRNG (FDO 1.1 §3.4.1). Move-only: it holds secrets.
class SoftwareDeviceIdentity {
 public:
  /// Generates a key of `type` and a secret of hmac_secret_size(type) bytes.
  static SoftwareDeviceIdentity generate(crypto::KeyType type);
  /// Uses an existing attestation key with a fresh secret of hmac_secret_size(key.type()) bytes.
  static SoftwareDeviceIdentity from_key(crypto::PrivateKey key);

  [[nodiscard]] const DeviceSigner& signer() const { return m_signer; }
  [[nodiscard]] const DeviceHmac& hmac() const { return m_hmac; }
  /// The File credential of a DI run with this identity: `result`'s fields plus the key and the secret.
  [[nodiscard]] DeviceCredential credential(DiResult&& result) const;

 private:
  SoftwareDeviceIdentity(SecretBytes key_pkcs8, crypto::PrivateKey key, SecretBytes hmac_secret);

  SecretBytes m_key_pkcs8;
  SecretBytes m_hmac_secret;
  SoftwareSigner m_signer;
  SoftwareHmac m_hmac;
};

}  // namespace fdo::protocol
