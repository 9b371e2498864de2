#pragma once
// The device's identity when its secrets live in a TPM (docs/tpm-credentials.md): the same DeviceSigner, DeviceHmac and
// CredentialStore interfaces as the file credential (protocol/device_identity.h), so DI, TO1 and TO2 cannot tell
// the two apart.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/protocol/device_identity.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm.h"

namespace fdo::tpm {

/// A TPM connection with its FDO state, opened by `fdo-device --tpm TCTI`.
class TpmDevice {
 public:
  /// Opens the TPM and finishes an interrupted credential replacement (logged).
  static std::unique_ptr<TpmDevice> open(std::string_view tcti);
  [[nodiscard]] Tpm& tpm() { return *m_tpm; }
  [[nodiscard]] FdoTpm& fdo() { return *m_fdo; }

 private:
  TpmDevice() = default;
  std::unique_ptr<Tpm> m_tpm;
  std::unique_ptr<FdoTpm> m_fdo;
};

/// The device attestation key at 0x81020002: ES256/ES384 signatures and the DI CSR are made in the TPM.
class TpmSigner final : public protocol::DeviceSigner {
 public:
  explicit TpmSigner(FdoTpm& fdo);
  [[nodiscard]] crypto::KeyType key_type() const override { return m_type; }
  [[nodiscard]] crypto::PublicKey public_key() const override { return m_public; }
  [[nodiscard]] Bytes sign(ByteView message) const override { return m_fdo.sign(message); }
  [[nodiscard]] Bytes csr(std::string_view common_name) const override;

 private:
  FdoTpm& m_fdo;
  crypto::KeyType m_type;
  crypto::PublicKey m_public;
};

/// DCHmacSecret as the TPM's keyed-hash key at 0x81020003: the HMAC is computed inside the TPM.
class TpmHmac final : public protocol::DeviceHmac {
 public:
  explicit TpmHmac(FdoTpm& fdo) : m_fdo(fdo) {}
  [[nodiscard]] Bytes hmac(crypto::HashAlg alg, ByteView data) const override { return m_fdo.hmac(alg, data); }

 private:
  FdoTpm& m_fdo;
};

/// The credential in the TPM's NV indices. save() goes through the journal (FdoTpm::commit). `cache`, when given,
/// receives a copy of the public parts (the credential file layout with Tpm storage) after each save: the TPM stays
/// the master copy (docs/tpm-credentials.md "Rescue").
class TpmCredentialStore final : public protocol::CredentialStore {
 public:
  TpmCredentialStore(FdoTpm& fdo, std::string tcti, std::optional<std::filesystem::path> cache = std::nullopt)
      : m_fdo(fdo), m_tcti(std::move(tcti)), m_cache(std::move(cache)) {}
  [[nodiscard]] std::optional<DeviceCredential> load() const override { return m_fdo.load(); }
  void save(const DeviceCredential& credential) override;
  [[nodiscard]] std::string describe() const override { return "TPM at " + m_tcti; }
  /// A fresh HMAC U/S, kept until the next save() commits it (FDO-in-TPM §6: renewed in every TO2).
  [[nodiscard]] std::unique_ptr<protocol::DeviceHmac> next_hmac() override;

 private:
  FdoTpm& m_fdo;
  std::string m_tcti;
  std::optional<std::filesystem::path> m_cache;
  std::shared_ptr<SecretBytes> m_next_us;
};

}  // namespace fdo::tpm
