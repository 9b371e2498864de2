#pragma once
// The device's secrets behind interfaces (docs/style.md §7): the attestation key (DeviceSigner) and the HMAC secret
// (DeviceHmac). Protocol code cannot tell a software key from a TPM key; the TPM implementations come with the
// TPM layer. FDO 1.1 §3.4.1.

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/secret_bytes.h"
#include "libfdo/crypto/hash.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/types/device_credential.h"

namespace fdo::protocol {

/// The device attestation key: signs EATs (TO1.ProveToRV, TO2.ProveDevice) and the DI CSR.
/// FDO 1.1 §3.4.1: its public key is OVDevCertChain[0]'s.
class DeviceSigner {
 public:
  virtual ~DeviceSigner() = default;
  [[nodiscard]] virtual crypto::KeyType key_type() const = 0;
  [[nodiscard]] virtual crypto::PublicKey public_key() const = 0;
  /// The COSE algorithm the device signs with (ES256, ES384, RS256, RS384; PS256/PS384 for RSAPSS devices).
  [[nodiscard]] virtual crypto::SigAlg sig_alg() const { return crypto::default_sig_alg(key_type()); }
  /// COSE-form signature over `message` with sig_alg().
  [[nodiscard]] virtual Bytes sign(ByteView message) const = 0;
  /// DER PKCS#10 request for this key with subject CN=`common_name` (DI.AppStart certInfo).
  [[nodiscard]] virtual Bytes csr(std::string_view common_name) const = 0;
};

/// The device's HMAC secret DCHmacSecret: HMACs the OVHeader in DI and the replacement header in TO2.
class DeviceHmac {
 public:
  virtual ~DeviceHmac() = default;
  /// HMAC-SHA256 or HMAC-SHA384 of `data` keyed by DCHmacSecret.
  [[nodiscard]] virtual Bytes hmac(crypto::HashAlg alg, ByteView data) const = 0;
};

/// A DeviceSigner over a private key held in memory (file-backed credential).
class SoftwareSigner final : public DeviceSigner {
 public:
  /// Signs with `alg` (e.g. PS256 for an RSAPSS device, FDO 1.1 §3.3.5) or the key's default_sig_alg; an alg
  /// that does not suit the key is Error(InternalServerError).
  explicit SoftwareSigner(crypto::PrivateKey key, std::optional<crypto::SigAlg> alg = std::nullopt);
  [[nodiscard]] crypto::KeyType key_type() const override { return m_key.type(); }
  [[nodiscard]] crypto::PublicKey public_key() const override { return m_key.public_key(); }
  [[nodiscard]] crypto::SigAlg sig_alg() const override { return m_alg; }
  [[nodiscard]] Bytes sign(ByteView message) const override { return m_key.sign(sig_alg(), message); }
  [[nodiscard]] Bytes csr(std::string_view common_name) const override;

 private:
  crypto::PrivateKey m_key;
  crypto::SigAlg m_alg;
};

/// A DeviceHmac over a secret held in memory (file-backed credential).
class SoftwareHmac final : public DeviceHmac {
 public:
  explicit SoftwareHmac(SecretBytes secret) : m_secret(std::move(secret)) {}
  [[nodiscard]] Bytes hmac(crypto::HashAlg alg, ByteView data) const override;

 private:
  SecretBytes m_secret;
};

/// Where the device keeps its DeviceCredential. The file store writes atomically (temp, fsync, rename), 0600.
class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  /// The stored credential, or nullopt when none exists yet. Throws Error if it exists but cannot be read.
  [[nodiscard]] virtual std::optional<DeviceCredential> load() const = 0;
  /// Replaces the stored credential atomically: afterwards either the old or the new one is stored.
  virtual void save(const DeviceCredential& credential) = 0;
  /// A human name for messages ("file /path/cred.bin").
  [[nodiscard]] virtual std::string describe() const = 0;
  /// For a store that renews the HMAC secret at credential replacement (the TPM store, FDO-in-TPM §6): the HMAC
  /// of the next secret, for TO2's ReplacementHMac; the next save() commits that secret with the credential.
  /// nullptr (the file store): the current secret stays, as go-fdo does (docs/protocols/to2.md).
  [[nodiscard]] virtual std::unique_ptr<DeviceHmac> next_hmac() { return nullptr; }
};

/// The credential in one CBOR file (types/device_credential.h layout).
class FileCredentialStore final : public CredentialStore {
 public:
  explicit FileCredentialStore(std::filesystem::path path) : m_path(std::move(path)) {}
  [[nodiscard]] std::optional<DeviceCredential> load() const override;
  void save(const DeviceCredential& credential) override;
  [[nodiscard]] std::string describe() const override { return "file " + m_path.string(); }

 private:
  std::filesystem::path m_path;
};

/// The signer and HMAC of a File credential (Error(InternalServerError) for a TPM credential: that needs the
/// TPM layer).
std::unique_ptr<DeviceSigner> software_signer(const DeviceCredential& credential);
std::unique_ptr<DeviceHmac> software_hmac(const DeviceCredential& credential);

}  // namespace fdo::protocol
