#pragma once
// fdo.upload (docs/service-info.md "fdo.upload"; FIDO Alliance FSIM fdo.upload): the owner asks for a device file.
//
//   owner → device: active, need-sha (bool), name (tstr: starts the transfer)
//   device → owner: length (uint), data (bstr)..., sha-384 (bstr 48, when asked)
//
// The FSIM has no error message: a device that cannot send the file (bad value, unknown message, a path leaving the
// root, no such file) sends length 0, one empty data (and the SHA-384 of nothing when asked) and logs why. The
// owner checks the length, the block count and the SHA-384, and refuses an empty upload unless allowed.
//
// Plan parameters: name = "…" (the device path, relative to its root), to = "DIR" (optional: store the file as
// DIR/<base name>, DIR relative to the plan directory; without it the bytes stay in the module's state and the
// summary gives length and SHA-384), need_sha = true|false (default true), allow_empty = true|false (default
// false), max_length = bytes (default 16 MiB), required = true|false (default true), timeout = seconds (default 600).

#include <cstdint>
#include <filesystem>
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

inline constexpr std::string_view kUpload = "fdo.upload";

class UploadDevice final : public serviceinfo::DeviceModule {
 public:
  /// `context` must outlive the module.
  explicit UploadDevice(const DeviceContext& context) : m_context(context) {}
  [[nodiscard]] std::string_view name() const override { return kUpload; }
  void on_active(bool active) override;
  void on_message(std::string_view message, ByteView value, serviceinfo::Outbox& out) override;
  /// Why the last request failed, or empty (for reports and tests).
  [[nodiscard]] const std::string& last_error() const { return m_last_error; }

 private:
  void send_file(const Bytes& content, serviceinfo::Outbox& out) const;
  void fail(const std::string& why, serviceinfo::Outbox& out);

  const DeviceContext& m_context;
  bool m_need_sha = false;
  std::string m_last_error;
};

class UploadOwner final : public serviceinfo::OwnerModule {
 public:
  /// Error(MessageBodyError) for a bad or unknown parameter.
  UploadOwner(ByteView params, const OwnerContext& context);
  [[nodiscard]] std::string_view name() const override { return kUpload; }
  void on_message(std::string_view message, ByteView value) override;
  serviceinfo::Produced produce(std::size_t budget) override;
  [[nodiscard]] Bytes save() const override;
  void restore(ByteView state) override;
  [[nodiscard]] std::string summary() const override;
  /// The bytes received (kept when no `to` directory is given), for embedding and tests.
  [[nodiscard]] const Bytes& received() const { return m_data; }

 private:
  enum class Phase : std::uint8_t { Start = 0, Waiting = 1, Done = 2 };
  void handle(std::string_view message, ByteView value);
  void complete();
  void fail(const std::string& why, ErrorCode code = ErrorCode::InternalServerError);

  // Parameters.
  std::string m_source;
  std::optional<std::filesystem::path> m_to;
  bool m_need_sha = true;
  bool m_allow_empty = false;
  std::uint64_t m_max_length = 0;
  bool m_required = true;
  // State (save()/restore()).
  Phase m_phase = Phase::Start;
  std::optional<std::uint64_t> m_length;
  bool m_data_seen = false;
  Bytes m_data;
  Bytes m_sha384;
  transfer::OwnerDeadline m_deadline;
  std::string m_stored;
  std::string m_error;
};

}  // namespace fdo::fsim
