#pragma once
// AsymKey's and fdo.csr's application keys in the TPM (docs/tpm-credentials.md "Application keys"): made inside it,
// non-exportable (fixedTPM, fixedParent), persisted at 0x81020100-0x810201FF once their certificate is installed; the
// slot directory keeps key.tpm (the handle and the public key) instead of key.pem.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "libfdo/fsim/app_key.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm.h"

namespace fdo::tpm {

/// The persistent handles application keys take, first free first.
inline constexpr std::uint32_t kAppKeyFirst = handle::kAppKeyFirst;
inline constexpr std::uint32_t kAppKeyCount = handle::kAppKeyCount;

class TpmAppKeys final : public fsim::AppKeyFactory {
 public:
  explicit TpmAppKeys(Tpm& tpm) : m_tpm(tpm) {}
  /// P-256 or P-384; other types are Error(InternalServerError) (AsymKey answers 3, key generation failed).
  [[nodiscard]] std::unique_ptr<fsim::PendingAppKey> generate(crypto::KeyType type) override;
  [[nodiscard]] std::string where() const override { return "in the TPM at " + m_tpm.tcti(); }
  /// Evicts the key a replaced slot's key.tpm names.
  void release(const fsim::StoredKey& key_file) override;

  /// The handle a key.tpm file names; nullopt when it names none in our range.
  static std::optional<std::uint32_t> handle_of(const fsim::StoredKey& key_file);

 private:
  Tpm& m_tpm;
};

}  // namespace fdo::tpm
