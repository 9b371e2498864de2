#pragma once
// fido_alliance (docs/service-info.md "fido_alliance"): the FIDO Alliance interop module. The owner sends the
// per-device access token of an interop event in `fido_alliance:dev_conformance` (tstr); the device accepts it and
// logs it, as the C SDK's device module does. No answer is expected beyond the activation.
//
// Plan parameters: token = "…" (default "fdo-cpp").

#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kFidoAlliance = "fido_alliance";

class FidoAllianceDevice final : public serviceinfo::DeviceModule {
 public:
  [[nodiscard]] std::string_view name() const override { return kFidoAlliance; }
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  /// The token received, for reports and tests.
  [[nodiscard]] const std::string& token() const { return m_token; }

 private:
  std::string m_token;
};

class FidoAllianceOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for an unknown parameter.
  explicit FidoAllianceOwner(ByteView params);
  [[nodiscard]] std::string_view name() const override { return kFidoAlliance; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;

 private:
  std::string m_token;
  bool m_sent = false;
};

}  // namespace fdo::fsim
