#pragma once
// The application keys AsymKey and fdo.csr make on the device (docs/service-info.md "AsymKey"): in software by
// default, in the TPM when the device has one (libfdo/tpm/tpm_app_key.h). Either way the private key never leaves the
// device; the module only sees the public key, a CSR signed by the key, and what the slot directory keeps for it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/keys.h"

namespace fdo::fsim {

/// What a slot directory keeps for its key: key.pem (PKCS#8, 0600) for a software key, key.tpm (the TPM handle and
/// public key, 0644) for a TPM key.
struct StoredKey {
  std::string file;
  SecretBytes data;
  unsigned mode = 0600;
};

/// A key made for a slot, pending until its certificate is installed.
class PendingAppKey {
 public:
  virtual ~PendingAppKey() = default;
  [[nodiscard]] virtual crypto::PublicKey public_key() const = 0;
  /// DER PKCS#10 request with subject CN=`common_name`, signed by this key (proof of possession, RFC 2986).
  [[nodiscard]] virtual Bytes csr(std::string_view common_name) const = 0;
  /// Makes the key permanent for `slot` (a TPM persists it) and returns what the slot directory keeps.
  [[nodiscard]] virtual StoredKey install(std::uint64_t slot) = 0;
  /// The slot's files could not be written after install(): undo what install() made permanent.
  virtual void discard() {}
};

/// Makes pending keys. Error(InternalServerError) for a type it cannot make (a TPM makes P-256 and P-384).
class AppKeyFactory {
 public:
  virtual ~AppKeyFactory() = default;
  [[nodiscard]] virtual std::unique_ptr<PendingAppKey> generate(crypto::KeyType type) = 0;
  /// "software" or "TPM at …", for logs.
  [[nodiscard]] virtual std::string where() const = 0;
  /// A slot's previous key was replaced; `key_file` is what its directory kept (a TPM evicts the old key).
  virtual void release(const StoredKey& key_file) { (void)key_file; }
};

/// Keys made by OpenSSL, stored as PKCS#8 PEM in the slot (the default).
class SoftwareAppKeys final : public AppKeyFactory {
 public:
  [[nodiscard]] std::unique_ptr<PendingAppKey> generate(crypto::KeyType type) override;
  [[nodiscard]] std::string where() const override { return "software"; }
};

}  // namespace fdo::fsim
