#pragma once
// TPM-Attest (docs/service-info.md "TPM-Attest"): the owner asks a TPM device for a TPM2_Quote over a nonce and a PCR
// selection, checks it, and compares the PCRs with its policy; a mismatch onboards the device with only the
// quarantine plan (the whitepaper's dormant state), a forged or broken quote ends TO2.
//
//   TPM-Attest:quote-req  o→d  [bstr nonce, [+ [uint hashAlg, [+ uint pcr]]]]
//   TPM-Attest:ak-pub     d→o  bstr (marshalled TPMT_PUBLIC of the attestation key)
//   TPM-Attest:ak-cert    d→o  [uint index, uint total, bstr x509] (the AK's certificate, when the TPM holds one)
//   TPM-Attest:quote      d→o  [bstr attest (TPMS_ATTEST), bstr sig (TPMT_SIGNATURE), [+ [uint hashAlg, uint pcr,
//                               bstr value]]]
//   TPM-Attest:verdict    o→d  [uint plan (0 normal, 1 quarantine, 2 rejected), ? tstr reason]
//   TPM-Attest:error      d→o  [int code, ? tstr text]  (1 bad request, 2 no TPM, 3 unsupported bank/PCR, 4 TPM)
//
// Owner plan parameters: pcrs = ["0", "7"] (SHA-256 bank; default 0-7), expect = ["7=HEX", …] (the reference values;
// none: the values are recorded, verdict normal), ak-ca = [PEM files] (CA certificates: the AK must come with a
// certificate that chains to one), trusted-ak = [PEM files] (pinned AK public keys; with neither, the AK is trusted
// because it arrives in the TO2 tunnel of the device that proved its device key), quarantine = [modules that still
// run on a mismatch], timeout = seconds to wait for the quote (default 600).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"
#include "libfdo/tpm/fdo_tpm.h"
#include "libfdo/tpm/tpm.h"

namespace fdo::tpm {

inline constexpr std::string_view kTpmAttest = "TPM-Attest";
/// Our persistent handle of the attestation key (docs/tpm-credentials.md "What we write").
inline constexpr std::uint32_t kAttestKeyHandle = handle::kAttestKey;
/// Our NV index of the attestation key's certificate (DER), written by `fdo-tpm-provisioner certify-ak`.
inline constexpr std::uint32_t kAkCertIndex = handle::kAkCert;

/// Makes the attestation key when absent and stores `certificate` (DER, for that key) in kAkCertIndex, replacing a
/// previous one: the TPM maker's or board maker's certificate of the AK, in the way of an IEEE 802.1AR IAK
/// certificate. Error(InternalServerError) when the certificate is not for the TPM's attestation key.
void store_ak_certificate(Tpm& tpm, ByteView certificate);
/// The stored AK certificate, or nullopt.
std::optional<Bytes> load_ak_certificate(Tpm& tpm);

/// Device half: quotes with the TPM's attestation key and keeps the owner's verdict in `verdict_file` (the
/// management agent reads it: "normal", "quarantine: …" or "rejected: …").
class TpmAttestDevice final : public serviceinfo::DeviceModule {
 public:
  TpmAttestDevice(Tpm& tpm, std::filesystem::path verdict_file)
      : m_tpm(tpm), m_verdict_file(std::move(verdict_file)) {}
  [[nodiscard]] std::string_view name() const override { return kTpmAttest; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;

 private:
  void quote(ByteView value, serviceinfo::Outbox& out);
  Tpm& m_tpm;
  std::filesystem::path m_verdict_file;
};

/// Owner half. `plan_dir` resolves relative trusted-ak paths.
class TpmAttestOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for a bad parameter or an unreadable trusted-ak file.
  TpmAttestOwner(ByteView params, const std::filesystem::path& plan_dir);
  [[nodiscard]] std::string_view name() const override { return kTpmAttest; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;

  enum class Verdict : std::uint8_t { None = 255, Normal = 0, Quarantine = 1, Rejected = 2 };

 private:
  void check_quote(ByteView value);
  void decide(Verdict verdict, std::string reason);

  // Parameters.
  std::vector<unsigned> m_pcrs;
  std::vector<std::pair<unsigned, Bytes>> m_expect;
  std::vector<Bytes> m_trusted_ak;  // SPKI DER
  std::vector<crypto::Certificate> m_ak_ca;
  std::vector<std::string> m_quarantine;
  bool m_required = false;
  // State.
  enum class Step : std::uint8_t { Start, Waiting, Verdict, VerdictSent, Failed };
  Step m_step = Step::Start;
  Bytes m_nonce;
  Bytes m_ak_pub;
  Bytes m_ak_cert;
  std::string m_ak_subject;
  fsim::transfer::OwnerDeadline m_deadline;
  Verdict m_verdict = Verdict::None;
  std::string m_reason;
  std::string m_values;  // "0=…, 7=…" as quoted, for the summary
};

/// Registers the owner half (fdo-owner) and, for a device with a TPM, the device half (fdo-device --tpm).
void register_tpm_attest_owner(serviceinfo::OwnerRegistry& registry, std::filesystem::path plan_dir);
void register_tpm_attest_device(serviceinfo::DeviceRegistry& registry, Tpm& tpm, std::filesystem::path verdict_file);

}  // namespace fdo::tpm
