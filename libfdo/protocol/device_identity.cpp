#include "libfdo/protocol/device_identity.h"

#include <string>
#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/file.h"
#include "libfdo/crypto/x509.h"

namespace fdo::protocol {

SoftwareSigner::SoftwareSigner(crypto::PrivateKey key, std::optional<crypto::SigAlg> alg)
    : m_key(std::move(key)), m_alg(alg.value_or(crypto::default_sig_alg(m_key.type()))) {
  if (!crypto::sig_alg_suits(m_alg, m_key.type())) {
    throw_internal("SoftwareSigner: " + std::string(crypto::sig_alg_name(m_alg)) + " does not suit a " +
                   std::string(crypto::key_type_name(m_key.type())) + " key");
  }
}

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
