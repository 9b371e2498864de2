#include "libfdo/tpm/tpm_app_key.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "libfdo/core/error.h"
#include "libfdo/core/log.h"
#include "libfdo/core/random.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/x509.h"

namespace fdo::tpm {
namespace {

constexpr std::string_view kHandleLine = "tpm-persistent-handle: ";

class TpmPendingKey final : public fsim::PendingAppKey {
 public:
  TpmPendingKey(Tpm& tpm, crypto::KeyType curve)
      : m_tpm(tpm), m_curve(curve), m_unique(random_bytes(curve == crypto::KeyType::P384 ? 96 : 64)) {
    const ObjectPublic pub = m_tpm.app_key_public(m_curve, m_unique);
    m_public = crypto::PublicKey::from_ec_point(m_curve, pub.x, pub.y);
  }
  [[nodiscard]] crypto::PublicKey public_key() const override { return *m_public; }
  [[nodiscard]] Bytes csr(std::string_view common_name) const override {
    const crypto::SigAlg alg = crypto::default_sig_alg(m_curve);
    return crypto::make_csr_signed_by(*m_public, common_name, alg, [this, alg](ByteView tbs) {
      return m_tpm.app_key_sign(m_curve, m_unique, crypto::hash(crypto::sig_alg_hash(alg), tbs));
    });
  }
  [[nodiscard]] fsim::StoredKey install(std::uint64_t slot) override {
    const std::vector<std::uint32_t> used = m_tpm.handles(kAppKeyFirst, kAppKeyCount);
    std::uint32_t handle = kAppKeyFirst;
    while (std::find(used.begin(), used.end(), handle) != used.end()) {
      ++handle;
    }
    if (handle >= kAppKeyFirst + kAppKeyCount) {
      throw_internal("TPM: every application key handle (0x81020100-0x810201ff) is in use");
    }
    m_tpm.persist_app_key(handle, m_curve, m_unique);
    m_persisted = handle;
    log::info("TPM: the application key of slot " + std::to_string(slot) + " persisted at " + handle_text(handle));
    const std::string text = std::string(kHandleLine) + handle_text(handle) + "\n" + m_public->to_pem();
    return fsim::StoredKey{.file = "key.tpm", .data = SecretBytes(to_bytes(text)), .mode = 0644};
  }
  void discard() override {
    if (m_persisted) {
      m_tpm.evict(*m_persisted);
      m_persisted.reset();
    }
  }

 private:
  Tpm& m_tpm;
  crypto::KeyType m_curve;
  Bytes m_unique;
  std::optional<crypto::PublicKey> m_public;
  std::optional<std::uint32_t> m_persisted;
};

}  // namespace

std::unique_ptr<fsim::PendingAppKey> TpmAppKeys::generate(crypto::KeyType type) {
  if (type != crypto::KeyType::P256 && type != crypto::KeyType::P384) {
    throw_internal("a TPM application key is P-256 or P-384, not " + std::string(crypto::key_type_name(type)));
  }
  return std::make_unique<TpmPendingKey>(m_tpm, type);
}

std::optional<std::uint32_t> TpmAppKeys::handle_of(const fsim::StoredKey& key_file) {
  const std::string text = to_string(key_file.data.view());
  if (text.rfind(kHandleLine, 0) != 0) {
    return std::nullopt;
  }
  try {
    const std::uint64_t h = std::stoull(text.substr(kHandleLine.size(), 10), nullptr, 16);
    if (h >= kAppKeyFirst && h < kAppKeyFirst + kAppKeyCount) {
      return static_cast<std::uint32_t>(h);
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

void TpmAppKeys::release(const fsim::StoredKey& key_file) {
  if (const std::optional<std::uint32_t> h = handle_of(key_file)) {
    m_tpm.evict(*h);
    log::info("TPM: evicted the replaced application key at " + handle_text(*h));
  }
}

}  // namespace fdo::tpm
