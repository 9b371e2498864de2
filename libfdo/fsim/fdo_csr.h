#pragma once
// fdo.csr (docs/service-info.md "fdo.csr"): the FIDO Alliance FSIM for certificate enrolment, an EST (RFC 7030)
// subset. Device-initiated: once active, the device sends `cacerts-req` (281 = PKCS#7 certs-only) and
// `simpleenroll-req` (base64 PKCS#10 of a new P-256 key); the owner answers `cacerts-res` and `simpleenroll-res`
// (base64 DER certificate) or `error` (1 bad request, 2 unauthorized, 3 not supported, 5 unsupported format). The
// device keeps key, certificate and CA certificates in <root>/fdo.csr/. Signing as AsymKey's (cert_enrol.h).
//
// Plan parameters: sign_command = ["prog", …]; cacerts_file = "ca.pem" (the CA certificates cacerts-res gives
// when sign_command is used); validity_days = "365"; sign_timeout = "60"; timeout = seconds the owner waits, from
// activation, for the device's enrolment request (600).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

inline constexpr std::string_view kFdoCsr = "fdo.csr";

/// cacerts-req formats (CoAP content-format numbers, as fdo.csr gives them).
inline constexpr std::uint64_t kPkcs7CertsOnly = 281;
inline constexpr std::uint64_t kPkixCert = 287;

/// fdo.csr:error codes.
enum class CsrError : std::uint8_t {
  BadRequest = 1,
  Unauthorized = 2,
  NotSupported = 3,
  RateExceeded = 4,
  UnsupportedFormat = 5,
};

class FdoCsrDevice final : public serviceinfo::DeviceModule {
 public:
  explicit FdoCsrDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kFdoCsr; }
  void on_active(bool active) override { m_active = active; }
  /// The first poll after activation sends cacerts-req and simpleenroll-req.
  void on_poll(serviceinfo::Outbox& out) override;
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  void on_end(bool success) override;
  /// Where the key and certificates go, relative to the root.
  static constexpr std::string_view kDir = "fdo.csr";
  /// Whether a certificate was installed, and the last problem (an owner error, a bad answer).
  [[nodiscard]] bool enrolled() const { return m_enrolled; }
  [[nodiscard]] const std::string& error() const { return m_error; }

 private:
  void fail(const std::string& why);
  const DeviceContext& m_context;
  bool m_active = false;
  bool m_requested = false;
  bool m_enrolled = false;
  std::unique_ptr<PendingAppKey> m_key;
  std::vector<crypto::Certificate> m_cacerts;
  std::string m_error;
};

class FdoCsrOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for bad parameters (no CA and no sign_command, an unreadable cacerts_file, …).
  FdoCsrOwner(ByteView params, const OwnerContext& context);
  [[nodiscard]] std::string_view name() const override { return kFdoCsr; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  /// "cacerts sent, certificate issued (CN=…)", or the errors sent and why.
  [[nodiscard]] std::string summary() const override;

 private:
  void answer_error(std::string_view request, CsrError code, const std::string& why);
  const OwnerContext& m_context;
  CsrSigner m_signer;
  std::vector<crypto::Certificate> m_cacerts;
  serviceinfo::ServiceInfo m_out;
  bool m_enrol_answered = false;
  bool m_waiting = false;  // the wait for the enrolment request started (our first 69)
  transfer::OwnerDeadline m_deadline;
  std::vector<std::string> m_notes;
};

}  // namespace fdo::fsim
