#pragma once
// fdo.wget (docs/service-info.md "fdo.wget"; FIDO Alliance FSIM fdo.wget): the owner names a URL, the device fetches
// it over its own network and writes it under its root.
//
//   owner → device: active, sha-384 (bstr 48, optional), name (tstr, optional), url (tstr: starts the fetch)
//   device → owner: done (int: the length written) or error (tstr: why not)
//
// sha-384 and name apply to the next url only. The device fetches over HTTP (HTTPS when built with TLS), checks the
// SHA-384 when given, and writes the file atomically; a failure of any kind (wrong type, unknown message, a path
// leaving the root, a fetch that fails, a checksum mismatch) is answered with error and leaves nothing. The fetch
// runs in the device's ServiceInfo loop, bounded by the device's command timeout.
//
// Plan parameters: url = "http://…" (required), name = "…" (device path relative to its root; default the last
// URL path segment), sha384 = "hex" (optional, 96 hex digits), required = true|false (default true), timeout =
// seconds to wait for done or error (default 600).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "libfdo/core/bytes.h"
#include "libfdo/core/error.h"
#include "libfdo/fsim/registry.h"
#include "libfdo/fsim/transfer_util.h"
#include "libfdo/serviceinfo/device_module.h"
#include "libfdo/serviceinfo/owner_module.h"

namespace fdo::fsim {

inline constexpr std::string_view kWget = "fdo.wget";

class WgetDevice final : public serviceinfo::DeviceModule {
 public:
  /// `context` must outlive the module.
  explicit WgetDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kWget; }
  void on_active(bool active) override;
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  /// Why the last fetch failed, or empty (for reports and tests).
  [[nodiscard]] const std::string& last_error() const { return m_last_error; }

 private:
  void fetch(const std::string& url, serviceinfo::Outbox& out);
  void reset();

  const DeviceContext& m_context;
  std::optional<Bytes> m_sha384;
  std::optional<std::string> m_name;
  std::string m_last_error;
};

/// The default target of a URL: its last path segment ("" when there is none).
std::string wget_default_name(std::string_view url);

class WgetOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for a bad or unknown parameter.
  explicit WgetOwner(ByteView params);
  [[nodiscard]] std::string_view name() const override { return kWget; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;

 private:
  enum class Phase : std::uint8_t { Start = 0, Waiting = 1, Done = 2 };
  void fail(const std::string& why, ErrorCode code = ErrorCode::InternalServerError);

  // Parameters.
  std::string m_url;
  std::optional<std::string> m_target;
  Bytes m_sha384;
  bool m_required = true;
  // State (save()/restore()).
  Phase m_phase = Phase::Start;
  transfer::OwnerDeadline m_deadline;
  std::int64_t m_done = 0;
  std::string m_error;
};

}  // namespace fdo::fsim
