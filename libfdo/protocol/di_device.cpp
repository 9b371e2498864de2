#include "libfdo/protocol/di_device.h"

#include <utility>

#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/messages/di.h"
#include "libfdo/protocol/client_run.h"
#include "libfdo/types/hash.h"
#include "libfdo/voucher/header.h"

namespace fdo::protocol {
namespace {

// DI.AppStart (10) → DI.SetCredentials (11): the MfgInfo array with a CSR for the device key
// (docs/interop.md "devicemfginfo-formats"; we send the 5-element form).
di::SetCredentials app_start(ClientRun& run, const DiDeviceOptions& options, const DeviceSigner& signer) {
  di::MfgInfo info;
  info.key_type = default_pk_type(signer.public_key());
  info.key_enc = options.key_enc;
  info.serial_no = options.serial_no;
  info.device_info = options.device_info;
  info.cert_info = signer.csr(options.serial_no);
  return run.exchange<di::SetCredentials>(di::AppStart{info.encode()});
}

// DI.SetHMAC (12) → DI.Done (13).
void set_hmac(ClientRun& run, const HMac& hmac) { static_cast<void>(run.exchange<di::Done>(di::SetHMAC{hmac})); }

}  // namespace

DiResult run_di(transport::MessageTransport& transport, const DiDeviceOptions& options, const DeviceSigner& signer,
                const DeviceHmac& hmac) {
  ClientRun run(transport);
  return run.run([&] {
    const di::SetCredentials credentials = app_start(run, options, signer);
    // FDO 1.1 §5.2.2: the device's checks of the header (DEV-30, DEV-31).
    voucher::OVHeader header = credentials.header(options.leniency);

    // HMAC-SHA384 for a P-384 or RSA-3072 device key, otherwise HMAC-SHA256 (docs/voucher.md
    // "Which hash algorithm").
    const crypto::HashAlg family = crypto::hash_family(signer.key_type());
    // The HMAC covers the exact bstr content received (DEV-32), never a re-encoding
    // (docs/interop.md "noncanonical-header").
    set_hmac(run, HMac(hmac_type_for(family), hmac.hmac(family, credentials.ov_header)));

    // FDO 1.1 §5.2.4: DI.Done arrived; the credential may now be persisted.
    DiResult result;
    result.credential.dc_active = true;
    result.credential.dc_prot_ver = voucher::kOVProtVer;
    result.credential.dc_device_info = std::move(header.ov_device_info);
    result.credential.dc_guid = header.ov_guid;
    result.credential.dc_rv_info = std::move(header.ov_rv_info);
    // DCPubKeyHash: H over the CBOR of OVPubKey as received (FDO 1.1 §3.4.1; our device hashes the received bytes).
    result.credential.dc_pub_key_hash = Hash::compute(hash_type_for(family), header.ov_pub_key.raw());
    result.credential.key_type = signer.key_type();
    result.header = credentials.ov_header;
    result.manufacturer_key = header.ov_pub_key.describe();
    log::info("DI done: manufacturer key " + result.manufacturer_key, header.ov_guid.hex());
    return result;
  });
}

std::size_t hmac_secret_size(crypto::KeyType device_key_type) {
  return crypto::digest_size(crypto::hash_family(device_key_type));
}

SoftwareDeviceIdentity::SoftwareDeviceIdentity(SecretBytes key_pkcs8, crypto::PrivateKey key, SecretBytes hmac_secret)
    : m_key_pkcs8(std::move(key_pkcs8)),
      m_hmac_secret(std::move(hmac_secret)),
      m_signer(std::move(key)),
      m_hmac(m_hmac_secret.clone()) {}

SoftwareDeviceIdentity SoftwareDeviceIdentity::generate(crypto::KeyType type) {
  return from_key(crypto::PrivateKey::generate(type));
}

SoftwareDeviceIdentity SoftwareDeviceIdentity::from_key(crypto::PrivateKey key) {
  SecretBytes pkcs8 = key.to_pkcs8_der();
  SecretBytes secret(random_bytes(hmac_secret_size(key.type())));
  return SoftwareDeviceIdentity(std::move(pkcs8), std::move(key), std::move(secret));
}

DeviceCredential SoftwareDeviceIdentity::credential(DiResult&& result) const {
  DeviceCredential c = std::move(result.credential);
  c.storage = CredentialStorage::File;
  c.key_type = m_signer.key_type();
  c.dc_hmac_secret = m_hmac_secret.clone();
  c.device_key_pkcs8 = m_key_pkcs8.clone();
  return c;
}

}  // namespace fdo::protocol
