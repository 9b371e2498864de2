#include "libfdo/tpm/tpm_identity.h"

#include <utility>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/crypto/x509.h"

namespace fdo::tpm {
namespace {

// The HMAC under a U/S that is not yet in the TPM's NV (TO2's ReplacementHMac).
class NextTpmHmac final : public protocol::DeviceHmac {
 public:
  NextTpmHmac(FdoTpm& fdo, std::shared_ptr<SecretBytes> us) : m_fdo(fdo), m_us(std::move(us)) {}
  [[nodiscard]] Bytes hmac(crypto::HashAlg alg, ByteView data) const override {
    return m_fdo.hmac_with_us(m_us->view(), alg, data);
  }

 private:
  FdoTpm& m_fdo;
  std::shared_ptr<SecretBytes> m_us;
};

}  // namespace

std::unique_ptr<TpmDevice> TpmDevice::open(std::string_view tcti) {
  std::unique_ptr<TpmDevice> device(new TpmDevice());
  device->m_tpm = Tpm::open(tcti);
  if (device->m_tpm->in_lockout()) {
    throw_internal("TPM at " + std::string(tcti) +
                   " is in dictionary-attack lockout: its keys cannot be used until the lockout ends");
  }
  device->m_fdo = std::make_unique<FdoTpm>(*device->m_tpm);
  return device;
}

TpmSigner::TpmSigner(FdoTpm& fdo) : m_fdo(fdo), m_type(fdo.key_type()), m_public(fdo.public_key()) {}

Bytes TpmSigner::csr(std::string_view common_name) const {
  return crypto::make_csr_signed_by(m_public, common_name, crypto::default_sig_alg(m_type),
                                    [this](ByteView tbs) { return m_fdo.sign(tbs); });
}

void TpmCredentialStore::save(const DeviceCredential& credential) {
  std::optional<SecretBytes> us;
  if (m_next_us) {
    us = m_next_us->clone();
  }
  m_fdo.commit(credential, us);
  m_next_us.reset();
  if (m_cache) {
    protocol::FileCredentialStore(*m_cache).save(credential);
  }
}

std::unique_ptr<protocol::DeviceHmac> TpmCredentialStore::next_hmac() {
  m_next_us = std::make_shared<SecretBytes>(m_fdo.new_hmac_us());
  return std::make_unique<NextTpmHmac>(m_fdo, m_next_us);
}

}  // namespace fdo::tpm
