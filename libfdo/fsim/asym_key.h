#pragma once
// AsymKey (docs/service-info.md "AsymKey"): the whitepaper's Table 2. The owner asks for a key in slot N (`gen`); the
// device makes the key pair, keeps the private key and answers with a PKCS#10 CSR signed by it (`csr`); the owner
// verifies the CSR and signs it with its device-application CA (or an external command) and returns the chain
// (`chain`, issuer first) and the certificate (`cert`); the device installs key and certificates in
// <root>/asymkey/<N>/ and answers `status = [slot, code, ? text]`. The private key never leaves the device.
// Objects over 1 KiB travel in parts: the message's form with `part, parts` appended.
//
// Plan parameters: slot = "0"; curve = "secp256r1" (secp384r1, rsa2048, rsa3072); subject = "CN=…";
// send_chain = "true"; sign_command = ["prog", "arg"…]; validity_days = "365"; sign_timeout = "60"; timeout = seconds
// the owner waits for the device's csr and then its status (600).

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libfdo/core/bytes.h"
#include "libfdo/crypto/keys.h"
#include "libfdo/crypto/x509.h"
#include "libfdo/fsim/cert_enrol.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kAsymKey = "AsymKey";

/// AsymKey:status codes (docs/service-info.md "AsymKey").
enum class AsymKeyStatus : std::int8_t {
  Installed = 0,
  BadRequest = 1,
  UnsupportedCurve = 2,
  KeyGenFailed = 3,
  CertMismatch = 4,
  NoPendingKey = 5,
  Storage = 6,
  ChainInvalid = 7,
};

/// Highest slot number a device accepts.
inline constexpr std::uint64_t kMaxAsymKeySlot = 255;

class AsymKeyDevice final : public serviceinfo::DeviceModule {
 public:
  explicit AsymKeyDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kAsymKey; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  /// Pending keys without a certificate are discarded (they were never written).
  void on_end(bool success) override;
  /// Where slot `slot` lives, relative to the root.
  static std::string slot_dir(std::uint64_t slot) { return "asymkey/" + std::to_string(slot); }

 private:
  struct Pending {
    std::unique_ptr<PendingAppKey> key;
    std::map<std::uint64_t, crypto::Certificate> chain;
    std::uint64_t chain_total = 0;
    PartCollector chain_part;
    PartCollector cert_part;
  };
  /// One `chain` or `cert` value: [slot, fields…, x509, ? part, ? parts].
  struct X509Part {
    std::uint64_t slot = 0;
    std::vector<std::uint64_t> fields;  // chain: index, total; cert: none
    Bytes data;
    std::pair<std::uint64_t, std::uint64_t> part{0, 1};
  };
  /// Reads a `chain` or `cert` part (`fields` uints after the slot; a cert may be text) into `got` and finds the
  /// slot's pending key; nullptr once the failure's status is sent (1 bad request, 5 no pending key).
  Pending* read_part_for(std::string_view message, ByteView value, std::size_t fields, X509Part& got,
                         serviceinfo::Outbox& out);
  void gen(ByteView value, serviceinfo::Outbox& out);
  void chain(ByteView value, serviceinfo::Outbox& out);
  void cert(ByteView value, serviceinfo::Outbox& out);
  const DeviceContext& m_context;
  std::map<std::uint64_t, Pending> m_pending;
};

class AsymKeyOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for bad parameters (no CA and no sign_command, an unknown curve, …).
  AsymKeyOwner(ByteView params, const OwnerContext& context);
  [[nodiscard]] std::string_view name() const override { return kAsymKey; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  /// "slot 0 certificate installed (CN=…)", or what failed.
  [[nodiscard]] std::string summary() const override;
  /// The certificate issued (DER), empty before.
  [[nodiscard]] const Bytes& issued() const { return m_issued; }
  /// The device's status code, or -1 before it came.
  [[nodiscard]] std::int64_t device_code() const { return m_code; }

 private:
  enum class Stage : std::uint8_t { Gen = 0, AwaitCsr = 1, SendCert = 2, AwaitStatus = 3, Done = 4 };
  void on_csr(ByteView value);
  /// Records why the wait failed and throws Error(InternalServerError) (docs/service-info.md "Owner deadlines").
  [[noreturn]] void fail_wait(std::string_view awaited);
  const OwnerContext& m_context;
  CsrSigner m_signer;
  std::uint64_t m_slot = 0;
  crypto::KeyType m_curve = crypto::KeyType::P256;
  std::string m_subject;
  bool m_send_chain = true;
  Stage m_stage = Stage::Gen;
  transfer::OwnerDeadline m_deadline;  // for csr after gen, for status after cert
  PartCollector m_csr;
  serviceinfo::ServiceInfo m_out;  // chain and cert KVs waiting for produce()
  Bytes m_issued;
  std::string m_issued_subject;
  std::int64_t m_code = -1;
  std::string m_error;
};

}  // namespace fdo::fsim
