#include "libfdo/fsim/app_key.h"

#include <utility>

#include "libfdo/crypto/x509.h"

namespace fdo::fsim {
namespace {

class SoftwareKey final : public PendingAppKey {
 public:
  explicit SoftwareKey(crypto::PrivateKey key) : m_key(std::move(key)) {}
  [[nodiscard]] crypto::PublicKey public_key() const override { return m_key.public_key(); }
  [[nodiscard]] Bytes csr(std::string_view common_name) const override { return crypto::make_csr(m_key, common_name); }
  [[nodiscard]] StoredKey install(std::uint64_t slot) override {
    (void)slot;
    return StoredKey{.file = "key.pem", .data = m_key.to_pem(), .mode = 0600};
  }

 private:
  crypto::PrivateKey m_key;
};

}  // namespace

std::unique_ptr<PendingAppKey> SoftwareAppKeys::generate(crypto::KeyType type) {
  return std::make_unique<SoftwareKey>(crypto::PrivateKey::generate(type));
}

}  // namespace fdo::fsim
