#include "libfdo/protocol/device_identity.h"

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"

namespace fdo::protocol {

Bytes SoftwareSigner::csr(std::string_view common_name) const { return crypto::make_csr(m_key, common_name); }

Bytes SoftwareHmac::hmac(crypto::HashAlg alg, ByteView data) const { return crypto::hmac(alg, m_secret.view(), data); }

std::optional<DeviceCredential> FileCredentialStore::load() const {
  const auto data = read_file_if_exists(m_path);
  if (!data) {
    return std::nullopt;
  }
  const SecretBytes secret(*data);
  return DeviceCredential::decode(secret.view());
}

void FileCredentialStore::save(const DeviceCredential& credential) {
  const SecretBytes encoded = credential.encode();
  write_file_atomic(m_path, encoded.view(), 0600);
}

std::unique_ptr<DeviceSigner> software_signer(const DeviceCredential& credential) {
  if (credential.storage != CredentialStorage::File) {
    throw_internal("the credential's key is in a TPM; this build path needs the TPM signer");
  }
  return std::make_unique<SoftwareSigner>(credential.private_key());
}

std::unique_ptr<DeviceHmac> software_hmac(const DeviceCredential& credential) {
  if (credential.storage != CredentialStorage::File) {
    throw_internal("the credential's HMAC secret is in a TPM; this build path needs the TPM HMAC");
  }
  return std::make_unique<SoftwareHmac>(credential.dc_hmac_secret.clone());
}

}  // namespace fdo::protocol
